import { OperonError } from '../errors.ts';
import type { Db, JobRow } from '../store/rows.ts';

/** A job by id (no lock: callers lock the instance first, then fence the job row). */
export async function findJob(db: Db, jobId: string): Promise<JobRow> {
  const job = await db<JobRow>('jobs').where({ id: jobId }).first();
  if (!job) throw new OperonError('OPERON_ERR_NOT_FOUND', `Job ${jobId} does not exist`, { details: { jobId } });
  return job;
}
