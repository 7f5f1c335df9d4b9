/**
 * The timer loop's round: reads the timers that came due and fires them together through
 * `fireTimers` (engine/store/fire-timers.ts), the one path a timer takes, on any number of engine
 * processes; call activity handovers ride on the same round.
 */
import type { Knex } from 'knex';
import type { Logger } from '../nodes/types.ts';
import type { GraphCache } from '../store/graph-cache.ts';
import type { TimerRow } from '../store/rows.ts';
import { fireTimers } from '../store/fire-timers.ts';
import { deliverHandovers } from '../store/handovers.ts';
import type { StartRateLimiter } from './start-rate-limiter.ts';
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

/** Fires up to `limit` due timers (and delivers due handovers); returns how many fired. */
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
  const settled = await fireTimers(
    db,
    {
      graphs,
      now: () => clock.now(),
      logger,
      minCycleIntervalMs: options.minCycleIntervalMs,
      startRate: options.startRate,
    },
    due,
  );
  for (const [index, outcome] of settled.entries()) {
    if (outcome.ok && outcome.value === 'fired') fired++;
    else if (!outcome.ok)
      logger.error({ err: outcome.error, timerId: due[index]!.id }, 'timer could not fire; it stays due');
  }
  return fired;
}

/** When the next scheduled timer is due, or undefined when none is scheduled. */
export async function nextTimerDue(db: Knex): Promise<Date | undefined> {
  const row = await db('timers').where({ state: 'scheduled' }).min({ due: 'due_at' }).first();
  return row?.due ? new Date(row.due as string) : undefined;
}
