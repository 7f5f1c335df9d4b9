/**
 * The batch-first paths of user task completions, message correlations and timer firings
 * (engine/store/complete-user-tasks.ts, correlate-messages.ts, fire-timers.ts): a batch with a bad
 * item (its instance cancelled meanwhile, a write that fails, a step the runtime cannot compute)
 * applies the others, and the bad one gets its own error or incident and changes nothing else.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../engine/clock.ts';
import type { OperonError } from '../../engine/errors.ts';
import { completeUserTasks } from '../../engine/store/complete-user-tasks.ts';
import { correlateMessages } from '../../engine/store/correlate-messages.ts';
import { fireTimers } from '../../engine/store/fire-timers.ts';
import type { Settled } from '../../engine/store/step-batch.ts';
import type { SubscriptionRow, TimerRow, UserTaskRow } from '../../engine/store/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, type TestEngine } from './support/harness.ts';

const ACTOR = { kind: 'system', id: 'test' };

/** The error code a settled outcome failed with. */
function codeOf(outcome: Settled<unknown>): string | undefined {
  return outcome.ok ? undefined : (outcome.error as OperonError).code;
}

describe('batch-first paths with a bad item', () => {
  let db: TestDatabase;
  let current: TestEngine;
  const clock = new ManualClock();
  before(async () => {
    db = await createTestDatabase();
    current = await openEngine(db.url, { worker: false, clock });
    await current.engine.deploy([fixture('wait-states.bpmn')]);
  });
  after(async () => {
    await current?.close();
    await db?.drop();
  });

  const context = () => ({ graphs: current.engine.graphs, now: () => clock.now() });
  const start = async (count: number, prefix: string) =>
    Promise.all(
      Array.from({ length: count }, async (_, n) => {
        const { instanceId } = await current.engine.startInstance('wait-states', { orderId: `${prefix}-${n}` });
        return instanceId;
      }),
    );
  const taskOf = async (instanceId: string) =>
    (await current.knex<UserTaskRow>('user_tasks').where({ process_instance_id: instanceId }).first())!;
  const stateOf = async (instanceId: string) => (await current.engine.getInstance(instanceId))!.state;
  const waitsAt = async (instanceId: string) =>
    (
      await current
        .knex('element_instances')
        .where({ process_instance_id: instanceId, state: 'active' })
        .whereNot({ element_type: 'process' })
        .pluck('element_id')
    ).sort();

  it('completes the user tasks of a batch when one instance was cancelled and one answer cannot be stored', async () => {
    const ids = await start(5, 'tasks');
    const tasks = await Promise.all(ids.map(taskOf));
    await current.engine.cancelInstance(ids[0]!);
    const settled = await completeUserTasks(current.knex, context(), [
      { taskId: tasks[0]!.id, variables: { ok: true }, completedBy: 'alice', actor: ACTOR },
      // jsonb cannot hold U+0000: this completion's write fails, and only this one.
      { taskId: tasks[1]!.id, variables: { note: 'nul \u0000 here' }, completedBy: 'alice', actor: ACTOR },
      { taskId: randomUUID(), variables: {}, completedBy: 'alice', actor: ACTOR },
      ...tasks
        .slice(2)
        .map((task) => ({ taskId: task.id, variables: { ok: true }, completedBy: 'alice', actor: ACTOR })),
    ]);
    assert.equal(settled.length, 6);
    assert.equal(settled[0]!.ok, false);
    assert.equal(codeOf(settled[0]!), 'OPERON_ERR_CONFLICT');
    assert.equal(settled[1]!.ok, false, 'the answer that cannot be stored fails alone');
    assert.equal(settled[2]!.ok, false);
    assert.equal(codeOf(settled[2]!), 'OPERON_ERR_NOT_FOUND');
    for (const outcome of settled.slice(3)) assert.deepEqual(outcome, { ok: true, value: { replayed: false } });

    assert.equal((await taskOf(ids[1]!)).state, 'open', 'the failed completion left its task open');
    assert.deepEqual(await waitsAt(ids[1]!), ['review']);
    for (const id of ids.slice(2)) {
      assert.equal((await taskOf(id)).state, 'completed');
      assert.deepEqual(await waitsAt(id), ['awaitPayment']);
    }
    const audited = await current
      .knex('audit_log')
      .where({ action: 'task.complete' })
      .whereIn('process_instance_id', ids);
    assert.equal(audited.length, 3, 'one audit entry per applied completion');

    // The same answer again is a replay, through the engine's own path.
    assert.deepEqual(await current.engine.completeUserTask(tasks[2]!.id, { ok: true }, 'alice'), { replayed: true });
  });

  it('correlates the messages of a batch when one instance was cancelled and one message cannot be stored', async () => {
    const ids = await start(6, 'messages');
    await Promise.all(ids.map(async (id) => current.engine.completeUserTask((await taskOf(id)).id, {}, 'alice')));
    const subscriptions = await Promise.all(
      ids.map(
        async (id) =>
          (await current
            .knex<SubscriptionRow>('message_subscriptions')
            .where({ process_instance_id: id, state: 'open' })
            .first())!,
      ),
    );
    await current.engine.cancelInstance(ids[0]!);
    const settled = await correlateMessages(
      current.knex,
      context(),
      subscriptions.map((subscription, n) => ({
        subscription,
        messageName: 'paid',
        variables: n === 1 ? { note: 'nul \u0000 here' } : { paid: n },
      })),
    );
    assert.deepEqual(settled[0], { ok: true, value: undefined }, 'a cancelled instance takes no message');
    assert.equal(settled[1]!.ok, false, 'the message that cannot be stored fails alone');
    for (const [n, outcome] of settled.entries()) if (n >= 2) assert.deepEqual(outcome, { ok: true, value: ids[n] });

    assert.deepEqual(await waitsAt(ids[1]!), ['awaitPayment'], 'the failed correlation changed nothing');
    const stillOpen = await current.knex('message_subscriptions').where({ id: subscriptions[1]!.id }).first();
    assert.equal(stillOpen.state, 'open');
    for (const id of ids.slice(2)) assert.deepEqual(await waitsAt(id), ['coolOff']);

    // Through the engine: the instance left waiting takes its message.
    assert.deepEqual(
      await current.engine.publishMessage({ name: 'paid', correlationKey: 'messages-1', variables: { paid: 1 } }),
      { correlated: true, instanceId: ids[1] },
    );
  });

  it('fires the timers of a batch when one instance was cancelled and one step cannot be computed', async () => {
    const ids = await start(4, 'timers');
    await Promise.all(ids.map(async (id) => current.engine.completeUserTask((await taskOf(id)).id, {}, 'alice')));
    await Promise.all(
      ids.map((_, n) => current.engine.publishMessage({ name: 'paid', correlationKey: `timers-${n}` })),
    );
    clock.advance(2_000);
    const timers = (await current
      .knex<TimerRow>('timers')
      .whereIn('process_instance_id', ids)
      .where({ state: 'scheduled' })) as TimerRow[];
    const timerOf = (id: string) => timers.find((timer) => timer.process_instance_id === id)!;
    assert.equal(timers.length, 4);
    // A snapshot the runtime cannot read: its step throws.
    await current
      .knex('process_instances')
      .where({ id: ids[0] })
      .update({ snapshot: current.knex.raw(`snapshot || '{"elements": null}'::jsonb`) });
    await current.engine.cancelInstance(ids[1]!);

    const settled = await fireTimers(current.knex, { ...context(), logger: current.engine.logger }, ids.map(timerOf));
    assert.deepEqual(settled, [
      { ok: true, value: 'failed' },
      { ok: true, value: 'skipped' },
      { ok: true, value: 'fired' },
      { ok: true, value: 'fired' },
    ]);
    const incidents = await current.engine.listIncidents({ instanceId: ids[0], state: 'open' });
    assert.equal(incidents.length, 1, 'the timer whose step failed raised an incident on its instance');
    const timerRow = (id: string) =>
      current
        .knex<TimerRow>('timers')
        .where({ id: timerOf(id).id })
        .first();
    assert.equal((await timerRow(ids[0]!))!.state, 'fired', 'used up: resolving the incident fires it again');
    assert.equal((await timerRow(ids[1]!))!.state, 'cancelled');
    assert.equal(await stateOf(ids[0]!), 'active');
    assert.equal(await stateOf(ids[1]!), 'terminated');
    for (const id of ids.slice(2)) {
      assert.equal((await timerRow(id))!.state, 'fired');
      assert.deepEqual(await waitsAt(id), ['ship']);
    }
    // A timer fires once: the same rows again fire nothing.
    const again = await fireTimers(current.knex, { ...context(), logger: current.engine.logger }, ids.map(timerOf));
    assert.ok(again.every((outcome) => outcome.ok && outcome.value === 'skipped'));
  });

  it('concurrent completions and publishes through the engine each get their own outcome', async () => {
    const ids = await start(8, 'engine');
    const tasks = await Promise.all(ids.map(taskOf));
    const completed = await Promise.allSettled(
      tasks.map((task, n) =>
        current.engine.completeUserTask(task.id, n === 3 ? { note: 'nul \u0000' } : { n }, 'alice'),
      ),
    );
    for (const [n, outcome] of completed.entries()) assert.equal(outcome.status, n === 3 ? 'rejected' : 'fulfilled');
    const published = await Promise.allSettled(
      ids.map((_, n) =>
        current.engine.publishMessage({
          name: 'paid',
          correlationKey: `engine-${n}`,
          variables: n === 5 ? { note: 'nul \u0000' } : { n },
        }),
      ),
    );
    for (const [n, outcome] of published.entries()) {
      if (n === 5) assert.equal(outcome.status, 'rejected');
      else if (n === 3)
        assert.deepEqual((outcome as PromiseFulfilledResult<unknown>).value, { correlated: false }, 'still at review');
      else
        assert.deepEqual((outcome as PromiseFulfilledResult<unknown>).value, { correlated: true, instanceId: ids[n] });
    }
    for (const [n, id] of ids.entries())
      assert.deepEqual(await waitsAt(id), n === 3 ? ['review'] : n === 5 ? ['awaitPayment'] : ['coolOff']);
  });
});
