/**
 * Fires due timers, one or a batch, through the same body: the timer loop (engine/timers/
 * fire-due-timers.ts) hands each round's due timers here.
 *
 * One call is one transaction: one statement locks the instances of the batch's timers (in id
 * order, SKIP LOCKED: an instance busy with another step is left for the next round instead of
 * blocking the loop), one claims their timers (SKIP LOCKED again: another engine firing the very
 * same timer), then each instance steps once with `timer.fired`; the steps whose effects are all
 * plain rows go out in one statement (step-batch.ts). The timer is marked fired in the transaction
 * that applies its step, so a crash fires it completely or not at all, and a timer that came due
 * while no engine ran fires once at the next start.
 *
 * A timer start event fires under the shared deployment lock of its process (lock-deployment.ts)
 * and only while its definition is the latest version: a deployment that supersedes it either
 * commits before (the firing finds a newer version and cancels the timer) or waits until the firing
 * has committed its next cycle's row (the deployment's cancel then sees that row).
 *
 * When the transaction fails for a reason other than the database going away, the timers are fired
 * again one by one, each in its own transaction, by this same function: the one that still fails
 * raises an incident on its instance (resolving it fires the timer again) and is marked fired; a
 * start timer that fails is cancelled. The others fire.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../nodes/types.ts';
import type { RuntimeEvent } from '../runtime/contract.ts';
import { DEFAULT_MIN_CYCLE_INTERVAL_MS } from '../runtime/timers.ts';
import { nextCycle } from '../timers/start-timer.ts';
import type { StartRateLimiter } from '../timers/start-rate-limiter.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, DefinitionRow, InstanceRow, TimerRow } from './rows.ts';
import { emptyPlainRows, writePlainRows } from './apply-effects.ts';
import { createInstance } from './create-instance.ts';
import { findDefinition } from './find-definition.ts';
import { lockInstance } from './lock-instance.ts';
import { tryLockStartEvents } from './lock-deployment.ts';
import { CHANNELS, inTransaction, notify } from './notify.ts';
import { raiseEngineIncident } from './raise-engine-incident.ts';
import { failedAlone, stepInBatch, type Settled } from './step-batch.ts';
import { isTransientDatabaseError } from './transient-error.ts';

/**
 * What became of a timer: `fired`; `skipped` (its instance or the timer was busy, a deployment is
 * under way, the start rate delayed it, or it was superseded: a later round sees it again or it
 * is gone); `failed` (its step could not be applied: an incident on its instance, or a start timer
 * cancelled).
 */
export type TimerOutcome = 'fired' | 'skipped' | 'failed';

/** What firing timers needs from the engine. */
export interface FireTimersContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts), read once per transaction. */
  now: () => Date;
  logger: Logger;
  /** A stored start timer cycle shorter than this waits this long instead. Default 1 s. */
  minCycleIntervalMs?: number;
  /**
   * Rate limit for timer-started instances per process; none when omitted. (A start taken from it
   * in a batch that is then fired again one by one is taken twice: the limit errs on the slow side.)
   */
  startRate?: StartRateLimiter;
}

/**
 * Fires `timers` (rows read as due) in one transaction of `db` and returns one outcome per timer, in
 * order. Throws only when the database went away: then nothing was written, and the timers stay
 * due for the next round.
 */
export async function fireTimers(
  db: Knex,
  context: FireTimersContext,
  timers: TimerRow[],
): Promise<Settled<TimerOutcome>[]> {
  if (timers.length === 0) return [];
  try {
    return await inTransaction(db, (tx) => fireInTransaction(tx, context, timers));
  } catch (error) {
    if (isTransientDatabaseError(error)) throw error;
    // Which one failed the transaction is not known: each again on its own, so only that one fails.
    if (timers.length > 1) {
      const settled: Settled<TimerOutcome>[] = [];
      for (const timer of timers) settled.push(...(await fireTimers(db, context, [timer]).catch(alone)));
      return settled;
    }
    return [await raiseIncident(db, context, timers[0]!, error)];
  }
}

async function fireInTransaction(
  tx: Knex.Transaction,
  context: FireTimersContext,
  timers: TimerRow[],
): Promise<Settled<TimerOutcome>[]> {
  const now = context.now();
  const { instances, claimed } = await lockAndClaim(tx, timers, now);
  const plain = emptyPlainRows();
  const stepped = new Set<string>();
  const settled: Settled<TimerOutcome>[] = [];
  for (const timer of timers) {
    if (!timer.process_instance_id) {
      settled.push({ ok: true, value: await fireStartTimer(tx, context, timer, now) });
      continue;
    }
    let instance = instances.get(timer.process_instance_id);
    if (!instance || !claimed.has(timer.id)) {
      settled.push({ ok: true, value: 'skipped' });
      continue;
    }
    if (stepped.has(instance.id)) {
      // A second timer of an instance this batch stepped: the first step's rows go out, and the row is read again.
      await writePlainRows(tx, plain, now);
      instance = (await lockInstance(tx, instance.id))!;
    }
    // A timer of an ended instance is used up: marked fired, nothing steps.
    if (instance.state === 'active') {
      await stepInBatch(tx, context.graphs, plain, instance, timerEvent(timer), now);
      stepped.add(instance.id);
    }
    settled.push({ ok: true, value: 'fired' });
  }
  await writePlainRows(tx, plain, now);
  return settled;
}

/**
 * One round trip: locks the instances of `timers` that no other step holds (in id order) and marks
 * fired each of their timers that is still scheduled and not held by another engine.
 */
async function lockAndClaim(
  tx: Db,
  timers: TimerRow[],
  now: Date,
): Promise<{ instances: Map<string, InstanceRow>; claimed: Set<string> }> {
  const ofInstances = timers.filter((timer) => timer.process_instance_id);
  if (ofInstances.length === 0) return { instances: new Map(), claimed: new Set() };
  const { rows } = await tx.raw(
    `WITH locked AS MATERIALIZED (
       SELECT * FROM process_instances WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE SKIP LOCKED
     ), claimable AS MATERIALIZED (
       SELECT t.id FROM timers AS t
        WHERE t.id = ANY(?::uuid[]) AND t.state = 'scheduled'
          AND t.process_instance_id IN (SELECT id FROM locked)
        ORDER BY t.id FOR UPDATE OF t SKIP LOCKED
     ), claimed AS (
       UPDATE timers AS t SET state = 'fired', fired_at = ?
         FROM claimable AS c WHERE t.id = c.id
       RETURNING t.id
     )
     SELECT 'instance' AS kind, to_jsonb(locked) AS row FROM locked
     UNION ALL
     SELECT 'timer', to_jsonb(claimed) FROM claimed`,
    [
      [...new Set(ofInstances.map((timer) => timer.process_instance_id!))],
      ofInstances.map((timer) => timer.id),
      now,
    ] as never,
  );
  const instances = new Map<string, InstanceRow>();
  const claimed = new Set<string>();
  for (const { kind, row } of rows as { kind: string; row: Record<string, unknown> }[]) {
    if (kind === 'instance') instances.set(row.id as string, row as unknown as InstanceRow);
    else claimed.add(row.id as string);
  }
  return { instances, claimed };
}

/** A timer start event: start an instance of its definition and schedule the next cycle. */
async function fireStartTimer(tx: Db, context: FireTimersContext, timer: TimerRow, now: Date): Promise<TimerOutcome> {
  const { logger, startRate } = context;
  const definition = (await findDefinition(tx, timer.definition_id)) as DefinitionRow;
  const processId = definition.bpmn_process_id;
  // Lock before the timer row: a deployment takes this lock first and then updates timer rows.
  if (!(await tryLockStartEvents(tx, processId))) return 'skipped';
  const claimed = await tx<TimerRow>('timers')
    .where({ id: timer.id, state: 'scheduled' })
    .andWhere('due_at', '<=', now)
    .forUpdate()
    .skipLocked()
    .first();
  if (!claimed) return 'skipped';
  const latest = await tx('process_definitions')
    .where({ bpmn_process_id: processId })
    .max<{ version: number }>('version as version')
    .first();
  if (latest?.version !== definition.version) {
    await tx('timers').where({ id: timer.id }).update({ state: 'cancelled' });
    const superseded = {
      timerId: timer.id,
      bpmnProcessId: processId,
      version: definition.version,
      latestVersion: latest?.version,
    };
    logger.info(superseded, 'start timer of a superseded version cancelled');
    return 'skipped';
  }
  const waitMs = startRate?.take(processId, now.getTime()) ?? 0;
  if (startRate && waitMs > 0) {
    const dueAt = new Date(now.getTime() + waitMs);
    await tx('timers').where({ id: timer.id }).update({ due_at: dueAt });
    const delayed = startRate.delayed().get(processId) ?? 0;
    if (delayed === 1 || delayed % 100 === 0) {
      const startsPerSecond = startRate.startsPerSecond;
      const over = { bpmnProcessId: processId, elementId: timer.element_id, delayedStarts: delayed, startsPerSecond };
      logger.warn(over, 'timer starts over the rate limit; delayed');
    }
    return 'skipped';
  }
  await tx('timers').where({ id: timer.id }).update({ state: 'fired', fired_at: now });
  await createInstance(tx, context.graphs, definition, { startEventId: timer.element_id, now });
  const next = timer.cycle
    ? nextCycle(timer.cycle, now, context.minCycleIntervalMs ?? DEFAULT_MIN_CYCLE_INTERVAL_MS)
    : undefined;
  if (next) {
    await tx('timers').insert({
      id: randomUUID(),
      process_instance_id: null,
      definition_id: timer.definition_id,
      timer_key: timer.timer_key,
      element_id: timer.element_id,
      due_at: next.dueAt,
      cycle: next.cycle ?? null,
      state: 'scheduled',
    });
    await notify(tx, CHANNELS.timers, next.dueAt.toISOString());
  }
  return 'fired';
}

/**
 * The timer's step could not be applied (the runtime threw, or its rows could not be written): the
 * timer is marked fired and an incident holds the `timer.fired` event, applied again when the
 * incident is resolved; the instance stays as it was. A start timer that cannot fire is cancelled.
 */
async function raiseIncident(
  db: Knex,
  context: FireTimersContext,
  timer: TimerRow,
  error: unknown,
): Promise<Settled<TimerOutcome>> {
  context.logger.error(
    { err: error, timerId: timer.id, instanceId: timer.process_instance_id },
    'timer step failed; raising an incident',
  );
  const instanceId = timer.process_instance_id;
  if (!instanceId) {
    await db('timers').where({ id: timer.id, state: 'scheduled' }).update({ state: 'cancelled' });
    return { ok: true, value: 'failed' };
  }
  const value = await inTransaction(db, async (tx): Promise<TimerOutcome> => {
    const instance = await lockInstance(tx, instanceId);
    const claimed = await tx('timers')
      .where({ id: timer.id, state: 'scheduled' })
      .update({ state: 'fired', fired_at: context.now() });
    if (!instance || claimed !== 1) return 'skipped';
    await raiseEngineIncident(
      tx,
      instance.id,
      { elementInstanceKey: timer.element_instance_key ?? '', elementId: timer.element_id },
      error,
      timerEvent(timer),
    );
    return 'failed';
  });
  return { ok: true, value };
}

function timerEvent(timer: TimerRow): RuntimeEvent {
  return { type: 'timer.fired', timerKey: timer.timer_key };
}

function alone(error: unknown): Settled<TimerOutcome>[] {
  if (isTransientDatabaseError(error)) throw error;
  return [failedAlone(error)];
}
