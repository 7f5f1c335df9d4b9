/** Compensation beyond the conformance cases: loops, multi-instance, interrupted and active activities, waiting handlers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';

const MINUTE = 60_000;

describe('compensation (compensation.bpmn)', () => {
  it('an activity completed twice in a loop is compensated twice, last first, each with its own locals; an active activity is not compensated', async () => {
    const instance = await scenario(
      await fixture('compensation.bpmn', 'loop'),
      { variables: { rounds: 0, undone: [] } },
      async (i) => {
        assert.deepEqual(i.variables.undone, ['book 2', 'book 1'], 'the throw beside the active task has run');
        assert.deepEqual(
          [...i.jobs.values()].map((j) => j.elementId),
          ['wait'],
        );
        await i.completeJob('wait');
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, [
      'start',
      'merge',
      'book',
      'again',
      'merge',
      'book',
      'again',
      'fork',
      'cancelBooking',
      'cancelBooking',
      'compensate',
      'end2',
      'wait',
      'end1',
    ]);
    assert.deepEqual(instance.variables, { rounds: 2, undone: ['book 2', 'book 1'] });
  });

  it('each completed inner instance of a multi-instance activity is compensated with its item, in reverse order', async () => {
    const instance = await scenario(await fixture('compensation.bpmn', 'multi-instance'), {
      variables: { parcels: ['p1', 'p2', 'p3'], undone: [] },
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables.undone, ['p3', 'p2', 'p1']);
    assert.deepEqual(instance.completedElementIds, [
      'miStart',
      'ship',
      'ship',
      'ship',
      'ship',
      'recall',
      'recall',
      'recall',
      'miCompensate',
    ]);
  });

  it('an activity interrupted by a boundary event is not compensated', async () => {
    const instance = await scenario(
      await fixture('compensation.bpmn', 'interrupted'),
      { variables: { undone: [] } },
      async (i) => {
        await i.advanceClock(2 * MINUTE);
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'iStart:completed',
      'reserve:completed',
      'pay:terminated',
      'payTimeout:completed',
      'iCompensate:completed',
      'release:completed',
    ]);
    assert.deepEqual(instance.variables.undone, ['reserve']);
  });

  it('a subprocess can be a compensation handler', async () => {
    const instance = await scenario(await fixture('compensation.bpmn', 'subprocess-handler'), {
      variables: { undone: [] },
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, [
      'sStart',
      'deliver',
      'takeBackStart',
      'pickUp',
      'takeBackEnd',
      'takeBack',
      'sCompensate',
    ]);
    assert.deepEqual(instance.variables, { undone: ['deliver'] });
  });

  it('a handler the operator terminates is skipped: the next one starts, and after the last the throw event goes on', async () => {
    const instance = await scenario(
      await fixture('conformance/compensation-throw.bpmn'),
      { variables: { amount: 12, undone: [] } },
      async (i) => {
        const key = (elementId: string) =>
          [...i.jobs.values()].find((j) => j.elementId === elementId)!.elementInstanceKey;
        await i.send({ type: 'instance.modify', terminate: [key('Activity_refund')] });
        assert.deepEqual(
          [...i.jobs.values()].map((j) => j.elementId),
          ['Activity_release'],
        );
        await i.send({ type: 'instance.modify', terminate: [key('Activity_release')] });
      },
    );
    assert.equal(instance.state, 'completed');
    assert.deepEqual(
      instance.elements.filter((e) => e.state === 'terminated').map((e) => e.elementId),
      ['Activity_refund', 'Activity_release'],
    );
    assert.deepEqual(instance.variables, { amount: 12, undone: [], undoneCount: 0 });
  });

  it('the throw event waits while a service-task handler has its job; cancelling the instance terminates both', async () => {
    const graph = await fixture('conformance/compensation-throw.bpmn');
    const instance = await scenario(graph, { variables: { amount: 12, undone: [] } }, async (i) => {
      const [job, ...others] = [...i.jobs.values()];
      assert.equal(others.length, 0, 'one handler at a time');
      assert.equal(job!.elementId, 'Activity_refund');
      assert.equal(job!.input.what, 'charge 12', 'the handler starts with the locals of the activity it undoes');
      assert.deepEqual(
        i.elements.filter((e) => e.state === 'active').map((e) => e.elementId),
        ['Event_compensate', 'Activity_refund'],
      );
      await i.completeJob('Activity_refund', { undone: ['charge 12'] });
      assert.equal(
        [...i.jobs.values()][0]!.elementId,
        'Activity_release',
        'the next handler starts when the first completes',
      );
      await i.cancel();
    });
    assert.equal(instance.state, 'terminated');
    assert.deepEqual(
      instance.elements
        .filter((e) => e.state === 'terminated')
        .map((e) => e.elementId)
        .sort(),
      ['Activity_release', 'Event_compensate'],
    );
    assert.deepEqual(effectsOf(instance, 'job.cancel').length, 1);
  });
});
