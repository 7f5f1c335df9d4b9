/**
 * Ends leased jobs with their workers' results: completions and BPMN errors, one job or a batch,
 * through the same body. This is the only way a job result reaches an instance; the engine's
 * `completeJob`, `completeJobWithResult` and `throwJobError` and the in-process worker all come here
 * (through the group commit of engine.ts, which gathers concurrent results into one call).
 *
 * One call is one transaction: BEGIN, one statement that locks the instances (in id order, so two
 * batches never deadlock on each other) and fences every job on its lease, one statement for the
 * rows of every step whose effects are all plain rows, COMMIT. Each step is computed exactly once
 * (`stepInBatch`, step-batch.ts); a step with any other effect (a message subscription, a child
 * instance, an instance that reports to its parent) is written by `stepInstance` in the same
 * transaction with the step it was given.
 *
 * Only the lease holder's result counts, and only for an instance that is still active; a result
 * that does not count settles with the error that says why (lost lease, completed by another,
 * already completed, instance ended) and changes nothing. When the transaction fails for a reason
 * other than the database going away, the results are applied again one by one, each in its own
 * transaction, by this same function: the one that still cannot be applied ends its job `failed`
 * with an incident on its instance (resolving it runs the job again), and the others go through.
 */
import type { Knex } from 'knex';
import type { RuntimeEvent, UserTaskChange } from '../runtime/contract.ts';
import type { JobRecord, Logger, Variables } from '../nodes/types.ts';
import type { JobLease, JobResult, JobResultCorrections } from '../api.ts';
import { bpmnErrorMessage } from '../jobs/applied-result.ts';
import type { GraphCache } from './graph-cache.ts';
import type { JobRow } from './rows.ts';
import { emptyPlainRows, writePlainRows } from './apply-effects.ts';
import { lockAndFence, whyNotFenced, type FencedJob, type JobEnding } from './fence-jobs.ts';
import { stepInBatch, type Settled } from './step-batch.ts';
import { inTransaction } from './notify.ts';
import { raiseEngineIncident } from './raise-engine-incident.ts';
import { isTransientDatabaseError } from './transient-error.ts';
import { ATTR, endSpan, parseTraceContext, type Span, startSpan } from '../telemetry/trace.ts';
import { workMetrics } from '../telemetry/metrics.ts';

/** What the worker reports for its job: its output, or a BPMN error for the model to catch. */
export type JobOutcome =
  | {
      kind: 'completed';
      variables: Variables /** A completing task listener's job may deny the completion. */;
      result?: JobResult;
    }
  | { kind: 'bpmnError'; errorCode: string; errorMessage?: string; variables?: Variables };

/** One job result to apply: the job (as claimed or looked up), the lease that holds it, the outcome. */
export interface JobCompletion {
  job: Pick<JobRow, 'id' | 'process_instance_id'>;
  lease: JobLease;
  outcome: JobOutcome;
  /** The node's audit records (`ctx.record`), written by their hooks in the transaction that applies the result. */
  records?: readonly JobRecord[];
}

/** What applying job results needs from the engine. */
export interface CompleteJobsContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts), read once per transaction. */
  now: () => Date;
  /** Writes the records of applied results (`applied`), or only those kept for unapplied attempts. */
  writeRecords: (tx: Knex.Transaction, records: readonly JobRecord[], applied: boolean) => Promise<void>;
  logger: Logger;
}

/**
 * Applies `items` (jobs of distinct instances) in one transaction of `db` (a savepoint when `db` is
 * itself a transaction) and returns one outcome per item, in order. Throws only when the database
 * went away: then nothing was written, and the leases expire so that the jobs run again.
 */
export async function completeJobs(db: Knex, context: CompleteJobsContext, items: JobCompletion[]): Promise<Settled[]> {
  if (items.length === 0) return [];
  const steps: StepSpan[] = [];
  const startedAt = performance.now();
  try {
    const settled = await inTransaction(db, (tx) => applyResults(tx, context, items, steps));
    const seconds = (performance.now() - startedAt) / 1000;
    for (const step of steps) {
      endSpan(step.span);
      workMetrics.step(step.bpmnProcessId, step.event, seconds);
    }
    return settled;
  } catch (error) {
    for (const step of steps) endSpan(step.span, error);
    if (isTransientDatabaseError(error)) throw error;
    // Which one failed the transaction is not known: each again on its own, so only that one fails.
    if (items.length > 1) {
      const settled: Settled[] = [];
      for (const item of items) settled.push(...(await completeJobs(db, context, [item]).catch(failed)));
      return settled;
    }
    return [await raiseIncident(db, context, items[0]!, error)];
  }
}

/** The span of one job result's step, ended when its transaction is over. */
interface StepSpan {
  span: Span;
  bpmnProcessId: string;
  event: string;
}

async function applyResults(
  tx: Knex.Transaction,
  context: CompleteJobsContext,
  items: JobCompletion[],
  steps: StepSpan[],
) {
  const now = context.now();
  const { instances, fenced } = await lockAndFence(
    tx,
    items.map((item) => ({ ...item, ending: appliedEnding(item.outcome) })),
  );
  const settled: Settled[] = [];
  const plain = emptyPlainRows();
  const applied: JobRecord[] = [];
  for (const item of items) {
    const instance = instances.get(item.job.process_instance_id);
    const job = fenced.get(item.job.id);
    if (!job || !instance) {
      settled.push({ ok: false, error: await whyNotFenced(tx, item, instance) });
      continue;
    }
    settled.push({ ok: true });
    applied.push(...(item.records ?? []));
    const event = jobEvent(job, item.outcome);
    // A child of the step that created the job, like the worker's span for the job itself.
    const span = startSpan(`step ${event.type}`, {
      parent: parseTraceContext(job.trace_parent, job.trace_state),
      attributes: {
        [ATTR.processId]: instance.bpmn_process_id,
        [ATTR.instanceId]: instance.id,
        [ATTR.elementId]: job.element_id,
        [ATTR.jobId]: job.id,
        [ATTR.jobType]: job.type,
        [ATTR.event]: event.type,
      },
    });
    steps.push({ span, bpmnProcessId: instance.bpmn_process_id, event: event.type });
    await stepInBatch(tx, context.graphs, plain, instance, event, now, span);
  }
  await writePlainRows(tx, plain, now);
  await context.writeRecords(tx, applied, true);
  return settled;
}

/**
 * The result could not be applied (the step threw, or its rows or records could not be written):
 * the job ends `failed` with an incident, and the instance stays as it was. Records kept for
 * unapplied attempts are written with the incident.
 */
async function raiseIncident(
  db: Knex,
  context: CompleteJobsContext,
  item: JobCompletion,
  error: unknown,
): Promise<Settled> {
  context.logger.error(
    { err: error, jobId: item.job.id, instanceId: item.job.process_instance_id },
    'job result could not be applied; raising an incident',
  );
  const message = error instanceof Error ? error.message : String(error);
  return inTransaction(db, async (tx) => {
    const { instances, fenced } = await lockAndFence(tx, [
      { ...item, ending: { state: 'failed', errorMessage: message, retries: 0 } },
    ]);
    const job = fenced.get(item.job.id);
    if (!job) return { ok: false, error: await whyNotFenced(tx, item, instances.get(item.job.process_instance_id)) };
    await raiseEngineIncident(
      tx,
      item.job.process_instance_id,
      { elementInstanceKey: job.element_instance_key, elementId: job.element_id },
      error,
      undefined,
      job.id,
    );
    await context.writeRecords(tx, item.records ?? [], false);
    return { ok: true };
  });
}

/** How a job whose result applies ends: completed, carrying the BPMN error's message if it is one. */
function appliedEnding(outcome: JobOutcome): JobEnding {
  return {
    state: 'completed',
    errorMessage: outcome.kind === 'bpmnError' ? bpmnErrorMessage(outcome.errorCode, outcome.errorMessage) : null,
  };
}

/** The runtime event a fenced job's outcome is. */
function jobEvent(job: FencedJob, outcome: JobOutcome): RuntimeEvent {
  if (outcome.kind === 'bpmnError')
    return {
      type: 'job.bpmnError',
      elementInstanceKey: job.element_instance_key,
      errorCode: outcome.errorCode,
      errorMessage: outcome.errorMessage,
      variables: outcome.variables,
    };
  return {
    type: 'job.completed',
    elementInstanceKey: job.element_instance_key,
    variables: outcome.variables,
    ...deniedField(outcome.result),
  };
}

/** A denial (job result `denied: true`) or corrections carried by a job.completed event. */
export function deniedField(result: JobResult | undefined): {
  denied?: { reason?: string };
  corrections?: UserTaskChange;
} {
  if (!result) return {};
  return {
    ...(result.denied ? { denied: result.deniedReason !== undefined ? { reason: result.deniedReason } : {} } : {}),
    ...(result.corrections && !result.denied ? { corrections: taskChangeOf(result.corrections) } : {}),
  };
}

/** Camunda's corrections as a task change: null keeps a field (left out), "" clears the assignee or a date (null). */
export function taskChangeOf(corrections: JobResultCorrections): UserTaskChange {
  const change: UserTaskChange = {};
  const { assignee, candidateUsers, candidateGroups, dueDate, followUpDate, priority } = corrections;
  if (assignee !== null && assignee !== undefined) change.assignee = assignee === '' ? null : assignee;
  if (candidateUsers !== null && candidateUsers !== undefined) change.candidateUsers = candidateUsers;
  if (candidateGroups !== null && candidateGroups !== undefined) change.candidateGroups = candidateGroups;
  if (dueDate !== null && dueDate !== undefined) change.dueDate = dueDate === '' ? null : dueDate;
  if (followUpDate !== null && followUpDate !== undefined)
    change.followUpDate = followUpDate === '' ? null : followUpDate;
  if (priority !== null && priority !== undefined) change.priority = priority;
  return change;
}

function failed(error: unknown): Settled[] {
  return [{ ok: false, error: error instanceof Error ? error : new Error(String(error)) }];
}
