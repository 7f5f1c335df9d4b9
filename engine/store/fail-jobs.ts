/**
 * Records workers' failures of leased jobs, one or a batch, in one transaction: through the fence
 * (fence-jobs.ts), a job with retries left goes back to `ready` after its backoff (a `job.failed`
 * history row says when), a job without raises an incident on its instance (resolving it gives the
 * retries back). The attempt's audit records are written in the same transaction. A failure whose
 * lease is gone settles with the error that says why and changes nothing.
 */
import type { Knex } from 'knex';
import type { JobLease } from '../api.ts';
import { ERROR_CODES, OperonError, type ErrorCode } from '../errors.ts';
import type { JobRecord } from '../nodes/types.ts';
import type { Db, HistoryEntry, JobRow } from './rows.ts';
import type { Settled } from './step-batch.ts';
import { lockAndFence, whyNotFenced, type JobEnding } from './fence-jobs.ts';
import { appendHistory } from './append-history.ts';
import { raiseEngineIncident } from './raise-engine-incident.ts';
import { CHANNELS, inTransaction, notify } from './notify.ts';
import { isTransientDatabaseError } from './transient-error.ts';

/** A worker's failure of its job. */
export interface JobFailure {
  /** The job as claimed or looked up: its retries and attempt decide what the failure does. */
  job: Pick<JobRow, 'id' | 'process_instance_id' | 'retries' | 'attempt'>;
  lease: JobLease;
  errorMessage: string;
  /** Retries left after this failure; default one fewer than the job has. */
  retries?: number;
  /** Backoff before the retry; default the engine's policy for the attempt. */
  retryBackoffMs?: number;
  /** An `OPERON_ERR_*` code for the incident when no retries are left. */
  code?: string;
  /** The node's details for the incident (e.g. the offending `field`). */
  details?: Record<string, unknown>;
  records?: readonly JobRecord[];
}

/** What recording failures needs from the engine. */
export interface FailJobsContext {
  now: () => Date;
  /** The backoff before attempt `attempt`'s retry, when the failure does not say. */
  retryDelayMs: (attempt: number) => number;
  writeRecords: (tx: Knex.Transaction, records: readonly JobRecord[], applied: boolean) => Promise<void>;
}

/** Records `items` (jobs of distinct instances); one outcome per item, in order. */
export async function failJobs(db: Knex, context: FailJobsContext, items: JobFailure[]): Promise<Settled[]> {
  if (items.length === 0) return [];
  try {
    return await inTransaction(db, (tx) => recordFailures(tx, context, items));
  } catch (error) {
    if (isTransientDatabaseError(error) || items.length === 1) throw error;
    const settled: Settled[] = [];
    for (const item of items)
      settled.push(
        ...(await failJobs(db, context, [item]).catch((single: unknown) => [
          { ok: false as const, error: single instanceof Error ? single : new Error(String(single)) },
        ])),
      );
    return settled;
  }
}

async function recordFailures(tx: Knex.Transaction, context: FailJobsContext, items: JobFailure[]) {
  const now = context.now();
  const endings = items.map((item) => failureEnding(context, item, now));
  const { instances, fenced } = await lockAndFence(
    tx,
    items.map((item, index) => ({ ...item, ending: endings[index]!.ending })),
  );
  const settled: Settled[] = [];
  const history: HistoryEntry[] = [];
  const records: JobRecord[] = [];
  for (const [index, item] of items.entries()) {
    const job = fenced.get(item.job.id);
    if (!job) {
      settled.push({ ok: false, error: await whyNotFenced(tx, item, instances.get(item.job.process_instance_id)) });
      continue;
    }
    settled.push({ ok: true });
    records.push(...(item.records ?? []));
    const { ending, delay } = endings[index]!;
    const element = { elementInstanceKey: job.element_instance_key, elementId: job.element_id };
    if (ending.state === 'ready') {
      history.push({
        process_instance_id: item.job.process_instance_id,
        element_instance_key: job.element_instance_key,
        element_id: job.element_id,
        event_type: 'job.failed',
        payload: {
          jobId: job.id,
          attempt: job.attempt,
          retries: ending.retries,
          message: item.errorMessage,
          retryInMs: delay,
        },
      });
      if (delay <= 0) await notify(tx, CHANNELS.jobs, job.type);
      continue;
    }
    const code: ErrorCode = item.code && item.code in ERROR_CODES ? (item.code as ErrorCode) : 'OPERON_ERR_JOB_FAILED';
    // The node's details (e.g. the offending `field`) go on the incident, next to the job's.
    const error = new OperonError(code, item.errorMessage, {
      details: { ...item.details, jobId: job.id, type: job.type, attempt: job.attempt },
    });
    await raiseEngineIncident(tx, item.job.process_instance_id, element, error, undefined, job.id);
  }
  await appendHistory(tx as Db, history);
  await context.writeRecords(tx, records, true);
  return settled;
}

/** A failure with retries left: back to `ready` after the backoff; without: `failed`. */
function failureEnding(context: FailJobsContext, item: JobFailure, now: Date): { ending: JobEnding; delay: number } {
  const retries = Math.max(0, item.retries ?? item.job.retries - 1);
  if (retries === 0)
    return { ending: { state: 'failed', errorMessage: item.errorMessage, retries: 0, release: true }, delay: 0 };
  const delay = item.retryBackoffMs ?? context.retryDelayMs(item.job.attempt);
  return {
    ending: {
      state: 'ready',
      errorMessage: item.errorMessage,
      retries,
      release: true,
      runAt: new Date(now.getTime() + delay),
    },
    delay,
  };
}
