/**
 * Given a process waiting at each kind of wait state, when the engine is closed and a new one is
 * opened on the same database, then the instance resumes where it stopped and finishes once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../engine/clock.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  fixture,
  openEngine as openEngineAt,
  path,
  waitFor,
  waitForState,
  type TestEngine,
} from './support/harness.ts';

let db: TestDatabase;
/** Engine time for every engine in this file: timers come due when a test moves it, never on their own. */
const clock = new ManualClock();
const openEngine = (url: string, options: Parameters<typeof openEngineAt>[1] = {}) =>
  openEngineAt(url, { ...options, clock });
before(async () => {
  db = await createTestDatabase();
  const setup = await openEngine(db.url, { worker: false });
  await setup.engine.deploy([
    fixture('wait-states.bpmn'),
    fixture('boundaries.bpmn'),
    fixture('fork-join.bpmn'),
    fixture('reminders.bpmn'),
  ]);
  await setup.close();
});
after(async () => db?.drop());

/** Closes `current` and opens a fresh engine (new pool, new caches) on the same database. */
async function restart(current: TestEngine, worker: boolean): Promise<TestEngine> {
  await current.close();
  return openEngine(db.url, worker ? {} : { worker: false });
}

describe('restart at every wait state', () => {
  it('resumes at a user task, a receive task, a timer that came due while down, and an external job', async () => {
    let current = await openEngine(db.url, { worker: false });
    const { instanceId } = await current.engine.startInstance('wait-states', { orderId: 'o-1' });

    // user task
    current = await restart(current, false);
    const [task] = await current.engine.listUserTasks({ instanceId, state: 'open' });
    assert.equal(task?.elementId, 'review');
    assert.equal(task?.assignee, 'alice');
    await current.engine.completeUserTask(task!.id, { approved: true }, 'alice');

    // receive task (message subscription with a FEEL correlation key)
    current = await restart(current, false);
    const wrongKey = await current.engine.publishMessage({ name: 'paid', correlationKey: 'o-2' });
    assert.equal(wrongKey.correlated, false);
    const paid = await current.engine.publishMessage({
      name: 'paid',
      correlationKey: 'o-1',
      variables: { amount: 40 },
    });
    assert.deepEqual(paid, { correlated: true, instanceId });

    // timer: comes due while no engine runs, fires exactly once after the restart, even with two engines racing
    await current.close();
    clock.advance(1_300);
    const first = await openEngine(db.url);
    const second = await openEngine(db.url);
    const job = await waitFor(
      async () =>
        (await first.knex('jobs').where({ process_instance_id: instanceId, element_id: 'ship' }).first()) as
          | { id: string }
          | undefined,
      10_000,
      'ship job',
    );
    await second.close();
    const fired = await first
      .knex('history')
      .where({ process_instance_id: instanceId, event_type: 'event.timer.fired' })
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(fired[0]!.count), 1);
    const timers = await first.knex('timers').where({ process_instance_id: instanceId });
    assert.deepEqual(
      timers.map((timer) => timer.state),
      ['fired'],
    );

    // external job (no node registered for its type): activate, restart, complete
    current = await restart(first, false);
    const [activated] = await current.engine.activateJobs({
      type: 'warehouse-robot',
      worker: 'robot-1',
      maxJobs: 1,
      lockMs: 60_000,
    });
    assert.equal(activated?.id, job.id);
    current = await restart(current, false);
    await current.engine.completeJob(
      activated!.id,
      { worker: 'robot-1', attempt: activated!.attempt },
      { trackingNo: 'T-9' },
    );

    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(path(view), [
      'start:completed',
      'review:completed',
      'awaitPayment:completed',
      'coolOff:completed',
      'ship:completed',
      'end:completed',
    ]);
    assert.equal(view.variables.approved, true);
    assert.equal(view.variables.amount, 40);
    assert.equal(view.variables.tracking, 'T-9');
    await current.close();
  });

  it('fires an interrupting boundary timer that came due while down, cancelling the job', async () => {
    let current = await openEngine(db.url, { worker: false });
    const { instanceId } = await current.engine.startInstance('boundaries', { orderId: 'b-1' });
    await current.close();
    clock.advance(1_300);
    current = await openEngine(db.url);
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(path(view), [
      'start:completed',
      'handling:completed',
      'subStart:completed',
      'slowCall:terminated',
      'timeout:completed',
      'timedOut:completed',
      'done:completed',
    ]);
    const jobs = await current.knex('jobs').where({ process_instance_id: instanceId });
    assert.deepEqual(
      jobs.map((job) => job.state),
      ['cancelled'],
    );
    await current.close();
  });

  it('takes a message boundary on a subprocess after a restart, terminating what runs inside', async () => {
    let current = await openEngine(db.url, { worker: false });
    const { instanceId } = await current.engine.startInstance('boundaries', { orderId: 'b-2' });
    current = await restart(current, false);
    const result = await current.engine.publishMessage({ name: 'cancel-order', correlationKey: 'b-2' });
    assert.equal(result.correlated, true);
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(path(view), [
      'start:completed',
      'handling:terminated',
      'subStart:completed',
      'slowCall:terminated',
      'cancelled:completed',
      'cancelledEnd:completed',
    ]);
    const timers = await current.knex('timers').where({ process_instance_id: instanceId });
    assert.deepEqual(
      timers.map((timer) => timer.state),
      ['cancelled'],
    );
    await current.close();
  });

  it('joins a parallel fork whose first branch completed before the restart', async () => {
    let current = await openEngine(db.url, { worker: false });
    const { instanceId } = await current.engine.startInstance('fork-join', {});
    const [jobA] = await current.engine.activateJobs({ type: 'noop', worker: 'manual', maxJobs: 1, lockMs: 60_000 });
    await current.engine.completeJob(
      jobA!.id,
      { worker: 'manual', attempt: jobA!.attempt },
      { first: jobA!.elementId },
    );
    current = await restart(current, true);
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.equal(view.elements.filter((element) => element.elementId === 'join').length, 1);
    assert.equal(view.variables.first, jobA!.elementId);
    await current.close();
  });

  it('fires a non-interrupting boundary timer once after a restart and keeps the user task; resumes at a message catch event', async () => {
    let current = await openEngine(db.url, { worker: false });
    const { instanceId } = await current.engine.startInstance('reminders', { requestId: 'r-1', reminders: 0 });
    await current.close();
    clock.advance(1_300);
    current = await openEngine(db.url);
    await waitFor(
      async () => (await current.engine.getInstance(instanceId))?.elements.find((e) => e.elementId === 'reminded'),
      10_000,
      'reminder path',
    );
    current = await restart(current, true);
    const [task] = await current.engine.listUserTasks({ instanceId, state: 'open' });
    assert.equal(task?.elementId, 'approve', 'a non-interrupting timer leaves the task open');
    await current.engine.completeUserTask(task!.id, { approved: true });
    current = await restart(current, true);
    assert.deepEqual(
      await current.engine.publishMessage({
        name: 'approval-acknowledged',
        correlationKey: 'r-1',
        variables: { ack: 'ok' },
      }),
      { correlated: true, instanceId },
    );
    const view = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(path(view), [
      'start:completed',
      'approve:completed',
      'remindLater:completed',
      'remind:completed',
      'reminded:completed',
      'awaitAck:completed',
      'end:completed',
    ]);
    assert.equal(view.variables.reminders, 1);
    assert.equal(view.variables.ack, 'ok');
    await current.close();
  });
});
