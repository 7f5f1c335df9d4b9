import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpmnError } from '../../engine/errors.ts';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';
import type { BoundaryEvent } from '../../engine/model/graph.ts';

const MINUTE = 60_000;

describe('embedded subprocess (subprocess.bpmn)', () => {
  it('has its own scope: input-mapped locals stay inside, outputs reach the parent, new job variables go to the root', async () => {
    const instance = await scenario(
      await fixture('subprocess.bpmn'),
      { variables: { price: 10, quantity: 2 } },
      async (i) => {
        const job = [...i.jobs.values()][0]!;
        assert.equal(job.elementId, 'enrich');
        assert.equal(job.input.subtotal, 30, 'the script updated the subprocess-local subtotal');
        await i.completeJob('enrich', { enriched: true });
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'subStart', 'addTax', 'enrich', 'subEnd', 'sub', 'end']);
    assert.deepEqual(instance.variables, { price: 10, quantity: 2, enriched: true, doubled: 60 });
    const sub = effectsOf(instance, 'element.activated').find((e) => e.elementId === 'sub')!;
    const inner = effectsOf(instance, 'element.activated')
      .filter((e) => e.parentKey === sub.elementInstanceKey)
      .map((e) => e.elementId);
    assert.deepEqual(inner, ['subStart', 'addTax', 'enrich', 'subEnd']);
  });
});

describe('error boundary events (errors.bpmn)', () => {
  const handlers = (check: () => void, inner: () => void = () => {}) => ({ check, inner });

  it('a BpmnError from a job is caught by the boundary with its code', async () => {
    const instance = await scenario(await fixture('errors.bpmn'), {
      handlers: handlers(() => {
        throw new BpmnError('REJECTED', 'no', { reason: 'score' });
      }),
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'start:completed',
      'check:terminated',
      'catchRejected:completed',
      'rejected:completed',
    ]);
    assert.equal(instance.variables.reason, 'score', 'error variables are kept');
    assert.deepEqual(effectsOf(instance, 'job.cancel'), [], 'the job already ended with the error');
  });

  it('an error end event inside a subprocess is caught by a catch-all boundary on the subprocess', async () => {
    const instance = await scenario(await fixture('errors.bpmn'), {
      variables: { oops: true },
      handlers: handlers(() => {}),
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance).slice(-5), [
      'inner:completed',
      'fail:completed',
      'throwOops:terminated',
      'catchAny:completed',
      'handled:completed',
    ]);
    assert.deepEqual(
      trail(instance).find((t) => t.startsWith('sub:')),
      'sub:terminated',
    );
  });

  it('a BpmnError from a job inside a subprocess bubbles up to the subprocess boundary', async () => {
    const instance = await scenario(await fixture('errors.bpmn'), {
      variables: { oops: false },
      handlers: handlers(
        () => {},
        () => {
          throw new BpmnError('ANYTHING');
        },
      ),
    });
    assert.deepEqual(trail(instance).slice(-5), [
      'sub:terminated',
      'subStart:completed',
      'inner:terminated',
      'catchAny:completed',
      'handled:completed',
    ]);
  });

  it('the normal path ends normally', async () => {
    const instance = await scenario(await fixture('errors.bpmn'), {
      variables: { oops: false },
      handlers: handlers(() => {}),
    });
    assert.equal(instance.completedElementIds.at(-1), 'end');
    assert.equal(instance.state, 'completed');
  });

  it('an error code no boundary catches is an incident OPERON_ERR_UNCAUGHT_BPMN_ERROR; resolving retries the job', async () => {
    const options = () => {
      let calls = 0;
      return {
        variables: { oops: false },
        handlers: handlers(() => {
          calls += 1;
          if (calls === 1) throw new BpmnError('UNKNOWN');
        }),
      };
    };
    const instance = await scenario(await fixture('errors.bpmn'), options, async (i) => {
      const [incident] = [...i.incidents.values()];
      assert.equal(incident!.code, 'OPERON_ERR_UNCAUGHT_BPMN_ERROR');
      assert.equal(incident!.elementId, 'check');
      assert.equal(i.state, 'active');
      await i.resolveIncident('check');
    });
    assert.equal(instance.state, 'completed');
    assert.equal(effectsOf(instance, 'job.create').filter((j) => j.elementId === 'check').length, 2);
  });
});

describe('timer boundary events (boundary-timers.bpmn)', () => {
  it('a non-interrupting cycle fires while the task waits; completing the task cancels the timers', async () => {
    const instance = await scenario(
      await fixture('boundary-timers.bpmn'),
      { variables: { reminders: 0 } },
      async (i) => {
        assert.deepEqual([...i.timers.values()].map((t) => t.elementId).sort(), ['escalate', 'remind']);
        await i.advanceClock(25 * MINUTE);
        assert.equal(i.variables.reminders, 2);
        assert.ok(i.userTask('approve'), 'the task still waits');
        await i.completeUserTask('approve');
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.reminders, 2);
    assert.equal(instance.timers.size, 0);
    assert.equal(effectsOf(instance, 'timer.cancel').length, 1, 'the escalation timer; the cycle had run out');
    const reminders = effectsOf(instance, 'timer.schedule').filter((t) => t.elementId === 'remind');
    assert.deepEqual(
      reminders.map((t) => [t.dueAt, t.cycle]),
      [
        ['2026-01-01T00:10:00.000Z', 'R1/PT10M'],
        ['2026-01-01T00:20:00.000Z', undefined],
      ],
    );
  });

  it('an interrupting timer terminates the task and takes the boundary path', async () => {
    const instance = await scenario(
      await fixture('boundary-timers.bpmn'),
      { variables: { reminders: 0 } },
      async (i) => {
        await i.advanceClock(60 * MINUTE);
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.reminders, 2, 'R2: two reminders before the escalation');
    assert.ok(trail(instance).includes('approve:terminated'));
    assert.equal(instance.completedElementIds.at(-1), 'escalatedEnd');
    assert.equal(effectsOf(instance, 'userTask.cancel').length, 1);
    assert.equal(instance.userTasks.size, 0);
  });
});

describe('message boundary events (boundary-messages.bpmn)', () => {
  it('a non-interrupting message fires each time while the task runs; the interrupting one cancels the job', async () => {
    const instance = await scenario(
      await fixture('boundary-messages.bpmn'),
      { variables: { orderId: 'A-1' } },
      async (i) => {
        assert.deepEqual(
          i.subscriptions.map((s) => s.messageName),
          ['order-cancelled', 'address-changed'],
        );
        assert.equal(await i.publishMessage('address-changed', 'A-1', { street: 'Elm 1' }), true);
        assert.equal(await i.publishMessage('address-changed', 'A-1', { street: 'Oak 2' }), true);
        assert.equal(i.jobs.size, 1, 'the task keeps running');
        assert.equal(await i.publishMessage('order-cancelled', 'A-1'), true);
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.street, 'Oak 2');
    assert.equal(effectsOf(instance, 'element.completed').filter((e) => e.elementId === 'addressEnd').length, 2);
    assert.ok(trail(instance).includes('pack:terminated'));
    assert.equal(instance.completedElementIds.at(-1), 'cancelledEnd');
    assert.equal(effectsOf(instance, 'job.cancel').length, 1);
    assert.equal(instance.subscriptions.length, 0);
  });

  it('completing the task closes its boundary subscriptions', async () => {
    const instance = await scenario(await fixture('boundary-messages.bpmn'), {
      variables: { orderId: 'B' },
      handlers: { pack: () => ({ packed: true }) },
    });
    assert.equal(instance.completedElementIds.at(-1), 'packedEnd');
    assert.equal(effectsOf(instance, 'subscription.close').length, 1);
    assert.equal(instance.subscriptions.length, 0);
  });
});

describe('escalation events (escalation.bpmn)', () => {
  it('a non-interrupting escalation boundary runs beside the subprocess, which goes on', async () => {
    const instance = await scenario(await fixture('escalation.bpmn'), {}, async (i) => {
      assert.deepEqual(
        trail(i).filter((t) => /onLate|notifyLate|lateEnd/.test(t)),
        ['onLate:completed', 'notifyLate:completed', 'lateEnd:completed'],
      );
      await i.completeJob('work');
    });
    assert.equal(instance.state, 'completed');
    assert.ok(trail(instance).includes('raiseLate:completed'));
    assert.ok(trail(instance).includes('sub:completed'));
  });

  it('an interrupting escalation boundary terminates the subprocess', async () => {
    const graph = structuredClone(await fixture('escalation.bpmn'));
    (graph.elements.onLate as BoundaryEvent).cancelActivity = true;
    const instance = await scenario(graph, {});
    assert.equal(instance.state, 'completed');
    assert.ok(trail(instance).includes('sub:terminated'));
    assert.ok(trail(instance).includes('raiseLate:terminated'));
    assert.deepEqual(effectsOf(instance, 'job.create'), []);
  });

  it('an escalation nobody catches is not an error: the thrower goes on', async () => {
    const graph = structuredClone(await fixture('escalation.bpmn'));
    (graph.elements.onLate as Extract<BoundaryEvent, { eventKind: 'escalation' }>).escalationCode = 'OTHER';
    const instance = await scenario(graph, {}, async (i) => {
      assert.equal(i.incidents.size, 0);
      await i.completeJob('work');
    });
    assert.equal(instance.state, 'completed');
    assert.ok(!trail(instance).some((t) => t.startsWith('onLate')));
  });
});
