import type { Db } from '../store/rows.ts';
import type { JobLease } from '../api.ts';
import { updateFencedJob } from './fence-job.ts';

/** Gives a leased job back untouched (worker shutdown), so another worker can claim it at once. */
export async function releaseJob(db: Db, jobId: string, lease: JobLease): Promise<void> {
  await updateFencedJob(db, jobId, lease, { state: 'ready', owner: null, lease_expires_at: null, run_at: db.fn.now() });
}
