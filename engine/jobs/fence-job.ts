import { OperonError } from '../errors.ts';
import type { Db, JobRow } from '../store/rows.ts';
import type { JobLease } from '../api.ts';

/**
 * Applies `changes` to a job only while `lease` still holds it: same owner, same attempt, still
 * leased. Exactly one row must match; otherwise another worker took the job over (or it was
 * cancelled) and this worker's result is stale.
 */
export async function updateFencedJob(
  tx: Db,
  jobId: string,
  lease: JobLease,
  changes: Record<string, unknown>,
): Promise<JobRow> {
  const query = tx<JobRow>('jobs').where({ id: jobId, owner: lease.worker, state: 'leased' });
  if (lease.attempt !== undefined) query.andWhere({ attempt: lease.attempt });
  const rows = (await query.update({ ...changes, updated_at: tx.fn.now() } as never).returning('*')) as JobRow[];
  if (rows.length !== 1) throw staleLeaseError(jobId, lease, await tx<JobRow>('jobs').where({ id: jobId }).first());
  return rows[0]!;
}

/** Whether `lease` is the lease that holds (or held) the job as it is now: same worker, same attempt. */
export function isLeaseOf(job: Pick<JobRow, 'owner' | 'attempt'>, lease: JobLease): boolean {
  return job.owner === lease.worker && (lease.attempt === undefined || job.attempt === lease.attempt);
}

/**
 * Why `lease` cannot act on the job, as one of three answers a worker acts on differently:
 * - `OPERON_ERR_JOB_ALREADY_COMPLETED`: this very lease completed the job before (a retry whose
 *   first answer was lost). The engine answers a retry with the same result as a success instead
 *   (engine/jobs/applied-result.ts); this error is what a different result or another call gets.
 * - `OPERON_ERR_JOB_COMPLETED_BY_OTHER`: another worker or attempt completed it; this result is void.
 * - `OPERON_ERR_LEASE_LOST`: the job is not completed, but this lease no longer holds it (another
 *   worker or attempt has it, it went back to `ready`, failed, or was cancelled).
 */
export function staleLeaseError(jobId: string, lease: JobLease, current: JobRow | undefined): OperonError {
  if (!current) return new OperonError('OPERON_ERR_NOT_FOUND', `Job ${jobId} does not exist`, { details: { jobId } });
  const details = { jobId, state: current.state, attempt: current.attempt };
  if (current.state === 'completed' && isLeaseOf(current, lease)) {
    return new OperonError(
      'OPERON_ERR_JOB_ALREADY_COMPLETED',
      `Job ${jobId} was already completed by ${lease.worker} (attempt ${current.attempt}) with a different result`,
      { details },
    );
  }
  if (current.state === 'completed') {
    return new OperonError(
      'OPERON_ERR_JOB_COMPLETED_BY_OTHER',
      `Job ${jobId} was completed by another ${current.owner === lease.worker ? 'attempt' : 'worker'} (attempt ${current.attempt}); this result was not applied`,
      {
        details: { ...details, completedBy: current.owner },
      },
    );
  }
  const held = lease.attempt !== undefined ? ` (attempt ${lease.attempt})` : '';
  const why =
    current.state === 'leased'
      ? `another lease holds it (attempt ${current.attempt})`
      : current.state === 'cancelled'
        ? 'it was cancelled (its element ended)'
        : current.state === 'failed'
          ? 'it failed'
          : 'its lease expired or it was failed for a retry';
  return new OperonError('OPERON_ERR_LEASE_LOST', `Job ${jobId} is not leased by ${lease.worker}${held}: ${why}`, {
    details,
  });
}
