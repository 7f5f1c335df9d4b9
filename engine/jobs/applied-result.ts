import type { JobLease } from '../api.ts';
import type { Variables } from '../nodes/types.ts';
import type { Db, JobRow } from '../store/rows.ts';
import { json } from '../store/rows.ts';
import { isLeaseOf } from './fence-job.ts';

/** What a worker asked the engine to do with its job: complete it, or end it with a BPMN error. */
export type JobOutcome = { kind: 'completed'; variables: Variables } | { kind: 'bpmnError'; errorMessage: string };

/** The `error_message` a job ended by a BPMN error carries (also what a retry of it is compared with). */
export function bpmnErrorMessage(errorCode: string, errorMessage?: string): string {
  return `BPMN error ${errorCode}${errorMessage ? `: ${errorMessage}` : ''}`;
}

/**
 * Whether `outcome` is exactly what `lease` already applied to the job: the retry of a call whose
 * answer was lost, which must get the same 200 and change nothing. A completed job never changes
 * again, so reading it outside the failed transaction is safe. A completion's variables are
 * compared with the `event.job.completed` history entry its step wrote (jsonb equality, so key
 * order does not matter); a BPMN error with the job's `error_message`.
 */
export async function isAppliedOutcome(db: Db, jobId: string, lease: JobLease, outcome: JobOutcome): Promise<boolean> {
  const job = await db<JobRow>('jobs').where({ id: jobId }).first();
  if (job?.state !== 'completed' || !isLeaseOf(job, lease)) return false;
  if (outcome.kind === 'bpmnError') return job.error_message === outcome.errorMessage;
  if (job.error_message !== null) return false; // ended by a BPMN error, not completed
  const applied = await db('history')
    .where({
      process_instance_id: job.process_instance_id,
      element_instance_key: job.element_instance_key,
      event_type: 'event.job.completed',
    })
    .orderBy('id', 'desc')
    .first(db.raw(`(payload -> 'variables') = ?::jsonb AS same`, [json(outcome.variables)]));
  return applied?.same === true;
}
