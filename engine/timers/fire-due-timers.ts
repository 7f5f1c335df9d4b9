/**
 * Fires timers that came due, exactly once each, on any number of engine processes.
 *
 * Each timer fires in its own transaction that locks the instance row first and then the timer row
 * (the same order every step uses, so no deadlock); the timer is marked fired in the transaction
 * that applies its step, so a crash either fires it completely or not at all, and a timer that came
 * due while no engine ran fires once at the next start.
 *
 * A timer start event fires under the shared deployment lock of its process (lock-deployment.ts) and
 * only while its definition is the latest version: a deployment that supersedes it either commits
 * before (the firing finds a newer version and cancels the timer) or waits until the firing has
 * committed its next cycle's row (the deployment's cancel then sees that row).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../nodes/types.ts';
import type { GraphCache } from '../store/graph-cache.ts';
import type { Db, DefinitionRow, InstanceRow, TimerRow } from '../store/rows.ts';
import { lockInstance } from '../store/lock-instance.ts';
import { stepInstance } from '../store/step-instance.ts';
import { createInstance } from '../store/create-instance.ts';
import { findDefinition } from '../store/find-definition.ts';
import { raiseEngineIncident } from '../store/raise-engine-incident.ts';
import { isTransientDatabaseError } from '../store/transient-error.ts';
import { nextCycle } from './start-timer.ts';
import type { StartRateLimiter } from './start-rate-limiter.ts';
import { tryLockStartEvents } from '../store/lock-deployment.ts';
import { DEFAULT_MIN_CYCLE_INTERVAL_MS } from '../runtime/timers.ts';
import { systemClock, type Clock } from '../clock.ts';

/** What firing needs besides the database: the engine's timer limits. */
export interface TimerFiringOptions {
  /** Most timers one round fires. Default 50. */
  limit?: number;
  /** A stored start timer cycle shorter than this waits this long instead. Default 1 s. */
  minCycleIntervalMs?: number;
  /** Rate limit for timer-started instances per process; none when omitted. */
  startRate?: StartRateLimiter;
  /** The engine clock: a timer is due when its `due_at` is not after `clock.now()`. Default: the system clock. */
  clock?: Clock;
}
import { deliverHandovers } from '../store/handovers.ts';
import { CHANNELS, inTransaction, notify } from '../store/notify.ts';
import type { RuntimeEvent } from '../runtime/contract.ts';

/** Fires up to `limit` due timers; returns how many fired. */
export async function fireDueTimers(
  db: Knex,
  graphs: GraphCache,
  logger: Logger,
  options: TimerFiringOptions = {},
): Promise<number> {
  const limit = options.limit ?? 50;
  const clock = options.clock ?? systemClock;
  const due = await db<TimerRow>('timers')
    .where({ state: 'scheduled' })
    .andWhere('due_at', '<=', clock.now())
    .orderBy('due_at')
    .limit(limit);
  // Call activity handovers ride on this loop: they are due as soon as they are written.
  let fired = await deliverHandovers(db, graphs, logger, limit, clock);
  for (const timer of due) {
    try {
      if (await fireTimer(db, graphs, timer, logger, options)) fired++;
    } catch (error) {
      // The database went away mid-step: nothing was written; the timer stays due for the next round.
      if (isTransientDatabaseError(error)) throw error;
      logger.error(
        { err: error, timerId: timer.id, instanceId: timer.process_instance_id },
        'timer step failed; raising an incident',
      );
      if (timer.process_instance_id) {
        const event: RuntimeEvent = { type: 'timer.fired', timerKey: timer.timer_key };
        await inTransaction(db, async (tx) => {
          const instance = await lockInstance(tx, timer.process_instance_id!);
          const claimed = await tx('timers')
            .where({ id: timer.id, state: 'scheduled' })
            .update({ state: 'fired', fired_at: clock.now() });
          if (!instance || claimed !== 1) return;
          await raiseEngineIncident(
            tx,
            instance.id,
            { elementInstanceKey: timer.element_instance_key ?? '', elementId: timer.element_id },
            error,
            event,
          );
        });
      } else {
        await db('timers').where({ id: timer.id, state: 'scheduled' }).update({ state: 'cancelled' });
      }
    }
  }
  return fired;
}

async function fireTimer(
  db: Knex,
  graphs: GraphCache,
  timer: TimerRow,
  logger: Logger,
  options: TimerFiringOptions,
): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const now = (options.clock ?? systemClock).now();
    if (!timer.process_instance_id) return fireStartTimer(tx, graphs, timer, now, logger, options);
    // SKIP LOCKED: an instance busy with another step (or another engine firing this very timer)
    // is left for the next round instead of blocking this loop.
    const instance = await tx<InstanceRow>('process_instances')
      .where({ id: timer.process_instance_id })
      .forUpdate()
      .skipLocked()
      .first();
    if (!instance) return false;
    const claimed = await tx<TimerRow>('timers')
      .where({ id: timer.id, state: 'scheduled' })
      .forUpdate()
      .skipLocked()
      .first();
    if (!claimed) return false;
    await tx('timers').where({ id: timer.id }).update({ state: 'fired', fired_at: now });
    if (instance.state !== 'active') return true;
    await stepInstance(tx, graphs, instance.id, { type: 'timer.fired', timerKey: timer.timer_key }, now, instance);
    return true;
  });
}

/** A timer start event: start an instance of its definition and schedule the next cycle. */
async function fireStartTimer(
  tx: Db,
  graphs: GraphCache,
  timer: TimerRow,
  now: Date,
  logger: Logger,
  options: TimerFiringOptions,
): Promise<boolean> {
  const definition = (await findDefinition(tx, timer.definition_id)) as DefinitionRow;
  const processId = definition.bpmn_process_id;
  // Lock before the timer row: a deployment takes this lock first and then updates timer rows.
  if (!(await tryLockStartEvents(tx, processId))) return false;
  const claimed = await tx<TimerRow>('timers')
    .where({ id: timer.id, state: 'scheduled' })
    .andWhere('due_at', '<=', now)
    .forUpdate()
    .skipLocked()
    .first();
  if (!claimed) return false;
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
    return false;
  }
  const waitMs = options.startRate?.take(processId, now.getTime()) ?? 0;
  if (waitMs > 0) {
    const dueAt = new Date(now.getTime() + waitMs);
    await tx('timers').where({ id: timer.id }).update({ due_at: dueAt });
    const delayed = options.startRate!.delayed().get(processId) ?? 0;
    if (delayed === 1 || delayed % 100 === 0) {
      const startsPerSecond = options.startRate!.startsPerSecond;
      const over = { bpmnProcessId: processId, elementId: timer.element_id, delayedStarts: delayed, startsPerSecond };
      logger.warn(over, 'timer starts over the rate limit; delayed');
    }
    return false;
  }
  await tx('timers').where({ id: timer.id }).update({ state: 'fired', fired_at: now });
  await createInstance(tx, graphs, definition, { startEventId: timer.element_id, now });
  const next = timer.cycle
    ? nextCycle(timer.cycle, now, options.minCycleIntervalMs ?? DEFAULT_MIN_CYCLE_INTERVAL_MS)
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
  return true;
}

/** When the next scheduled timer is due, or undefined when none is scheduled. */
export async function nextTimerDue(db: Knex): Promise<Date | undefined> {
  const row = await db('timers').where({ state: 'scheduled' }).min({ due: 'due_at' }).first();
  return row?.due ? new Date(row.due as string) : undefined;
}
