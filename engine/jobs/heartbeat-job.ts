import type { Db } from '../store/rows.ts';
import type { JobLease } from '../api.ts';
import { updateFencedJob } from './fence-job.ts';

/**
 * Extends a held lease to `lockMs` after `now` (the engine clock's time); throws
 * OPERON_ERR_LEASE_LOST when the lease is gone.
 */
export async function heartbeatJob(db: Db, jobId: string, lease: JobLease, lockMs: number, now: Date): Promise<Date> {
  const job = await updateFencedJob(db, jobId, lease, { lease_expires_at: new Date(now.getTime() + lockMs) });
  return job.lease_expires_at!;
}
