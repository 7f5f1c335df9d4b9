/**
 * Fires timers that came due, exactly once each, on any number of engine processes.
 *
 * Each timer fires in its own transaction that locks the instance row first and then the timer row
 * (the same order every step uses, so no deadlock); the timer is marked fired in the transaction
 * that applies its step, so a crash either fires it completely or not at all, and a timer that came
 * due while no engine ran fires once at the next start.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../nodes/types.ts';
import type { GraphCache } from '../store/graph-cache.ts';
import type { DefinitionRow, InstanceRow, TimerRow } from '../store/rows.ts';
import { lockInstance } from '../store/lock-instance.ts';
import { stepInstance } from '../store/step-instance.ts';
import { createInstance } from '../store/create-instance.ts';
import { findDefinition } from '../store/find-definition.ts';
import { raiseEngineIncident } from '../store/raise-engine-incident.ts';
import { isTransientDatabaseError } from '../store/transient-error.ts';
import { nextCycle } from './start-timer.ts';
import { deliverHandovers } from '../store/handovers.ts';
import { CHANNELS, inTransaction, notify } from '../store/notify.ts';
import type { RuntimeEvent } from '../runtime/contract.ts';

/** Fires up to `limit` due timers; returns how many fired. */
export async function fireDueTimers(db: Knex, graphs: GraphCache, logger: Logger, limit = 50): Promise<number> {
  const due = await db<TimerRow>('timers').where({ state: 'scheduled' }).andWhere('due_at', '<=', db.fn.now()).orderBy('due_at').limit(limit);
  // Call activity handovers ride on this loop: they are due as soon as they are written.
  let fired = await deliverHandovers(db, graphs, logger);
  for (const timer of due) {
    try {
      if (await fireTimer(db, graphs, timer)) fired++;
    } catch (error) {
      // The database went away mid-step: nothing was written; the timer stays due for the next round.
      if (isTransientDatabaseError(error)) throw error;
      logger.error({ err: error, timerId: timer.id, instanceId: timer.process_instance_id }, 'timer step failed; raising an incident');
      if (timer.process_instance_id) {
        const event: RuntimeEvent = { type: 'timer.fired', timerKey: timer.timer_key };
        await inTransaction(db, async (tx) => {
          const instance = await lockInstance(tx, timer.process_instance_id!);
          const claimed = await tx('timers').where({ id: timer.id, state: 'scheduled' }).update({ state: 'fired', fired_at: tx.fn.now() });
          if (!instance || claimed !== 1) return;
          await raiseEngineIncident(tx, instance.id, { elementInstanceKey: timer.element_instance_key ?? '', elementId: timer.element_id }, error, event);
        });
      } else {
        await db('timers').where({ id: timer.id, state: 'scheduled' }).update({ state: 'cancelled' });
      }
    }
  }
  return fired;
}

async function fireTimer(db: Knex, graphs: GraphCache, timer: TimerRow): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const now = new Date();
    // SKIP LOCKED: an instance busy with another step (or another engine firing this very timer)
    // is left for the next round instead of blocking this loop.
    const instance = timer.process_instance_id
      ? await tx<InstanceRow>('process_instances').where({ id: timer.process_instance_id }).forUpdate().skipLocked().first()
      : undefined;
    if (timer.process_instance_id && !instance) return false;
    const claimed = await tx<TimerRow>('timers').where({ id: timer.id, state: 'scheduled' }).forUpdate().skipLocked().first();
    if (!claimed) return false;
    await tx('timers').where({ id: timer.id }).update({ state: 'fired', fired_at: now });
    if (timer.process_instance_id) {
      if (instance!.state !== 'active') return true;
      await stepInstance(tx, graphs, instance!.id, { type: 'timer.fired', timerKey: timer.timer_key }, now, instance);
      return true;
    }
    // A timer start event: start an instance of its definition and schedule the next cycle.
    const definition = (await findDefinition(tx, timer.definition_id)) as DefinitionRow;
    await createInstance(tx, graphs, definition, { startEventId: timer.element_id, now });
    const next = timer.cycle ? nextCycle(timer.cycle, now) : undefined;
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
  });
}

/** When the next scheduled timer is due, or undefined when none is scheduled. */
export async function nextTimerDue(db: Knex): Promise<Date | undefined> {
  const row = await db('timers').where({ state: 'scheduled' }).min({ due: 'due_at' }).first();
  return row?.due ? new Date(row.due as string) : undefined;
}
