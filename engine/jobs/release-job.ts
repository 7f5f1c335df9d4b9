import type { Db } from '../store/rows.ts';
import type { JobLease } from '../api.ts';
import { updateFencedJob } from './fence-job.ts';

/**
 * Gives a leased job back untouched (worker shutdown), so another worker can claim it at once:
 * `now` is the engine clock's time.
 */
export async function releaseJob(db: Db, jobId: string, lease: JobLease, now: Date): Promise<void> {
  await updateFencedJob(db, jobId, lease, { state: 'ready', owner: null, lease_expires_at: null, run_at: now });
}
