/**
 * LISTEN/NOTIFY channels. A NOTIFY issued inside a transaction is delivered only when it commits,
 * so a worker woken by it always sees the committed rows.
 */
import type { Db } from './rows.ts';

export const CHANNELS = {
  /** Payload: the job type that became claimable. */
  jobs: 'operon_jobs',
  /** Payload: the id of a job that was cancelled (a worker running it aborts the node). */
  jobCancelled: 'operon_job_cancelled',
  /** Payload: ISO due time of a newly scheduled timer. */
  timers: 'operon_timers',
  /** Payload: instance id whose state changed (ended, or waits on something new). */
  instances: 'operon_instances',
} as const;

export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  await db.raw('SELECT pg_notify(?, ?)', [channel, payload]);
}
