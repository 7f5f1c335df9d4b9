/**
 * What the engine checks around a job result before and after `completeJobs` applies it: a task
 * listener's result must suit its event (`checkJobResult`), and a result refused as already
 * completed is a success when it is the very result that completed the job (`replayedOrThrow`).
 */
import type { Applied, JobLease, JobResult } from '../api.ts';
import { OperonError, isOperonError } from '../errors.ts';
import { bpmnErrorMessage, isAppliedOutcome } from '../jobs/applied-result.ts';
import type { Variables } from '../nodes/types.ts';
import type { JobOutcome } from './complete-jobs.ts';
import type { Db, JobRow } from './rows.ts';

/**
 * Throws OPERON_ERR_VALIDATION when `result` cannot end `job`: corrections only from an assigning
 * or updating task listener's job; a canceling listener's job can neither deny nor carry variables.
 */
export function checkJobResult(
  job: Pick<JobRow, 'id' | 'listener_event_type'>,
  variables: Variables,
  result: JobResult,
): void {
  const jobId = job.id;
  const event = job.listener_event_type;
  if (result.corrections && event !== 'assigning' && event !== 'updating')
    throw new OperonError(
      'OPERON_ERR_VALIDATION',
      `Job ${jobId} is not an assigning or updating task listener's job: its result cannot carry corrections`,
      { details: { field: 'body.result.corrections', jobId, listenerEventType: event } },
    );
  // As Zeebe: a cancellation cannot be denied, and the cancelled task's scope keeps no variables.
  if (event === 'canceling' && result.denied)
    throw new OperonError(
      'OPERON_ERR_VALIDATION',
      `Job ${jobId} is a canceling task listener's job: a cancellation cannot be denied`,
      { details: { field: 'body.result.denied', jobId, listenerEventType: event } },
    );
  if (event === 'canceling' && Object.keys(variables).length > 0)
    throw new OperonError(
      'OPERON_ERR_VALIDATION',
      `Job ${jobId} is a canceling task listener's job: it cannot complete with variables (the task's element is terminated)`,
      { details: { field: 'body.variables', jobId, listenerEventType: event } },
    );
}

/**
 * `error` is what applying `outcome` to `jobId` under `lease` failed with. A worker retrying a call
 * whose answer it lost finds its own result applied: OPERON_ERR_JOB_ALREADY_COMPLETED for exactly
 * that result is a success (`replayed`), not a conflict. Any other error is thrown again.
 */
export async function replayedOrThrow(
  db: Db,
  jobId: string,
  lease: JobLease,
  outcome: JobOutcome,
  error: unknown,
): Promise<Applied> {
  if (
    isOperonError(error) &&
    error.code === 'OPERON_ERR_JOB_ALREADY_COMPLETED' &&
    (await isAppliedOutcome(
      db,
      jobId,
      lease,
      outcome.kind === 'completed'
        ? { kind: 'completed', variables: outcome.variables }
        : { kind: 'bpmnError', errorMessage: bpmnErrorMessage(outcome.errorCode, outcome.errorMessage) },
    ))
  )
    return { replayed: true };
  throw error;
}
