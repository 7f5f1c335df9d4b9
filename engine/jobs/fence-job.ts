import { OperonError } from '../errors.ts';
import type { Db, JobRow } from '../store/rows.ts';
import type { JobLease } from '../api.ts';

/**
 * Applies `changes` to a job only while `lease` still holds it: same owner, same attempt, still
 * leased. Exactly one row must match; otherwise another worker took the job over (or it was
 * cancelled) and this worker's result is stale.
 */
export async function updateFencedJob(tx: Db, jobId: string, lease: JobLease, changes: Record<string, unknown>): Promise<JobRow> {
  const query = tx<JobRow>('jobs').where({ id: jobId, owner: lease.worker, state: 'leased' });
  if (lease.attempt !== undefined) query.andWhere({ attempt: lease.attempt });
  const rows = (await query.update({ ...changes, updated_at: tx.fn.now() } as never).returning('*')) as JobRow[];
  if (rows.length !== 1) throw staleLeaseError(jobId, lease, await tx<JobRow>('jobs').where({ id: jobId }).first());
  return rows[0]!;
}

/** Why `lease` cannot act on the job: the job is gone, or someone else (or a later attempt) holds it. */
export function staleLeaseError(jobId: string, lease: JobLease, current: JobRow | undefined): OperonError {
  if (!current) return new OperonError('OPERON_ERR_NOT_FOUND', `Job ${jobId} does not exist`, { details: { jobId } });
  return new OperonError('OPERON_ERR_LEASE_LOST', `Job ${jobId} is not leased by ${lease.worker}${lease.attempt !== undefined ? ` (attempt ${lease.attempt})` : ''}`, {
    details: { jobId, state: current.state, attempt: current.attempt },
  });
}
