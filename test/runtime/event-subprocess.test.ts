import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpmnError } from '../../engine/errors.ts';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';

const HOUR = 3_600_000;
const vars = { orderId: 'o-1', reminders: 0 };

describe('event subprocesses (event-subprocess.bpmn)', () => {
  it('an error event subprocess catches a BPMN error by code and ends the instance through it', async () => {
    const instance = await scenario(await fixture('event-subprocess.bpmn'), {
      variables: vars,
      handlers: {
        work: () => {
          throw new BpmnError('FATAL');
        },
      },
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'work:terminated',
      'onError:completed',
      'errorStart:completed',
      'handleError:completed',
      'errorEnd:completed',
    ]);
    assert.equal(instance.subscriptions.length, 0, 'the message start of onCancel is closed with the instance');
    assert.equal(instance.timers.size, 0, 'the reminder timer is cancelled by the interruption');
  });

  it('an interrupting message event subprocess terminates the running task', async () => {
    const instance = await scenario(await fixture('event-subprocess.bpmn'), { variables: vars }, async (i) => {
      assert.deepEqual(
        i.subscriptions.map((s) => [s.elementInstanceKey, s.elementId, s.messageName, s.correlationKey]),
        [['0', 'cancelStart', 'cancel-order', 'o-1']],
      );
      assert.equal(await i.publishMessage('cancel-order', 'o-1', { reason: 'customer' }), true);
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance).slice(1), [
      'work:terminated',
      'onCancel:completed',
      'cancelStart:completed',
      'cancelled:completed',
    ]);
    assert.equal(instance.variables.reason, 'customer');
    assert.equal(effectsOf(instance, 'job.cancel').length, 1);
  });

  it('a non-interrupting timer event subprocess runs beside the task; the instance ends normally', async () => {
    const instance = await scenario(await fixture('event-subprocess.bpmn'), { variables: vars }, async (i) => {
      await i.advanceClock(HOUR);
      assert.equal(i.variables.reminders, 1);
      assert.equal(i.jobs.size, 1, 'work still runs');
      await i.completeJob('work');
      await i.completeJob('innerWork');
    });
    assert.equal(instance.state, 'completed');
    assert.equal(instance.completedElementIds.at(-1), 'end');
    assert.equal(instance.subscriptions.length, 0);
    assert.deepEqual(
      effectsOf(instance, 'subscription.close').map((c) => c.elementInstanceKey),
      ['0'],
    );
  });

  it("an error inside a subprocess is caught by the subprocess's own event subprocess; the subprocess then completes", async () => {
    const instance = await scenario(await fixture('event-subprocess.bpmn'), {
      variables: vars,
      handlers: {
        work: () => {},
        inner: () => {
          throw new BpmnError('ANY');
        },
      },
    });
    assert.equal(instance.state, 'completed');
    assert.ok(trail(instance).includes('innerOnError:completed'));
    assert.ok(trail(instance).includes('sub:completed'));
    assert.equal(instance.completedElementIds.at(-1), 'end');
  });

  it('an error code no event subprocess handles is an incident', async () => {
    const instance = await scenario(await fixture('event-subprocess.bpmn'), {
      variables: vars,
      handlers: {
        work: () => {
          throw new BpmnError('OTHER');
        },
      },
    });
    assert.equal([...instance.incidents.values()][0]!.code, 'OPERON_ERR_UNCAUGHT_BPMN_ERROR');
    assert.equal(instance.state, 'active');
  });
});
