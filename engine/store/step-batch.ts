/**
 * Several instances' steps in one transaction: the group commit behind job completion and instance
 * start under load (engine/jobs/group-commit.ts gathers the requests).
 *
 * Every instance still goes through exactly one pure runtime step whose snapshot and effects are
 * persisted atomically; what the batch shares is the round trips. Instance rows are locked in id
 * order (so two batches never deadlock on each other) and jobs fenced in the same statement, and the
 * steps whose effects are all plain rows (element instances, flows, jobs, history, instance end) are
 * written together with their instance rows in one more: BEGIN, two statements and COMMIT for the
 * whole batch (a batch of starts is a single statement). A step
 * with any other effect, or of a child instance, is persisted on its own by `stepInstance` /
 * `createInstance` in the same transaction.
 */
import { startInstanceSettled, stepSettled } from '../runtime/index.ts';
import type { RuntimeEvent, StepResult, UserTaskChange } from '../runtime/contract.ts';
import type { Variables } from '../nodes/types.ts';
import type { JobLease, JobResult, JobResultCorrections } from '../api.ts';
import type { OperonError } from '../errors.ts';
import { staleLeaseError } from '../jobs/fence-job.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, DefinitionRef, HistoryEntry, InstanceRow, JobRow } from './rows.ts';
import {
  addPlainEffect,
  emptyPlainRows,
  isPlainEffect,
  writePlainRows,
  type InstanceRef,
  type PlainRows,
} from './apply-effects.ts';
import { stepInstance, eventHistory, instanceNotActive, instanceNotFound } from './step-instance.ts';
import { createInstance } from './create-instance.ts';
import { CHANNELS, inTransaction, notifyAfterCommit } from './notify.ts';
import { writeStepRows } from './write-step-rows.ts';
import { claimIdempotencyKeys, type IdempotencyRecord } from './idempotency-keys.ts';
import type { Knex } from 'knex';
import { appendAudit, type Actor } from './audit-log.ts';

/** A job completion to apply: the job (as claimed), the lease that claimed it, the node's output. */
export interface JobCompletion {
  job: Pick<JobRow, 'id' | 'process_instance_id'>;
  lease: JobLease;
  variables: Variables;
  /** A job result: a completing task listener's job may deny the completion. */
  result?: JobResult;
}

/** Per request: done, or the error that request alone gets (the others are unaffected). */
export type Settled = { ok: true } | { ok: false; error: Error };

/** Whether a step's result can join the batch's shared writes. */
function isPlainStep(result: StepResult, instance: { parent_instance_id?: string | null }): boolean {
  if (instance.parent_instance_id) return false; // reports to its parent: the single-instance path does that
  return result.effects.every((effect) => isPlainEffect(effect) || effect.type === 'instance.completed');
}

/** Collects a plain step's rows; an instance that completed joins `instancesEnded`. */
function collectPlainStep(plain: PlainRows, ref: InstanceRef, result: StepResult, now: Date): void {
  for (const effect of result.effects) {
    if (effect.type === 'instance.completed') {
      plain.rows.instancesEnded.push(ref.id);
      plain.rows.history.push({
        process_instance_id: ref.id,
        element_instance_key: null,
        element_id: null,
        event_type: effect.type,
        payload: null,
      });
    } else addPlainEffect(plain, ref, effect, now);
  }
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

/**
 * Completes jobs of distinct instances in the caller's transaction. Jobs whose lease is gone,
 * or whose instance no longer exists or is not active, settle with the error the single-job path
 * throws; their instances are left untouched.
 */
export async function completeJobs(
  tx: Db,
  graphs: GraphCache,
  results: JobCompletion[],
  now: Date,
): Promise<Settled[]> {
  const settled: Settled[] = results.map(() => ({ ok: true }));
  const { instances, fenced } = await lockAndFence(tx, results);
  // Only the lease holder's result counts, and only for an instance that is still running. As on
  // the single-job path, a lost lease is reported before an ended instance.
  const candidates: number[] = [];
  for (const [index, result] of results.entries()) {
    const instance = instances.get(result.job.process_instance_id);
    if (fenced.has(result.job.id)) {
      candidates.push(index);
      continue;
    }
    const error =
      (await leaseLost(tx, result)) ??
      (instance ? instanceNotActive(instance) : instanceNotFound(result.job.process_instance_id));
    settled[index] = { ok: false, error };
  }

  const plain = emptyPlainRows();
  for (const index of candidates) {
    const job = fenced.get(results[index]!.job.id)!;
    const instance = instances.get(results[index]!.job.process_instance_id)!;
    const event: RuntimeEvent = {
      type: 'job.completed',
      elementInstanceKey: job.element_instance_key,
      variables: results[index]!.variables,
      ...deniedField(results[index]!.result),
    };
    const graph = await graphs.get(tx, instance.definition_id);
    const result = await stepSettled(graph, instance.snapshot, event, graphs.stepContext(now, tx));
    if (!isPlainStep(result, instance)) {
      // Flush what is collected so far, so the single-instance path reads a consistent database.
      await writePlainRows(tx, plain, now);
      await stepInstance(tx, graphs, instance.id, event, now, instance, result);
      continue;
    }
    const ref = { id: instance.id, definitionId: instance.definition_id, bpmnProcessId: instance.bpmn_process_id };
    plain.rows.history.push(eventHistory(instance.id, event));
    collectPlainStep(plain, ref, result, now);
    plain.rows.instancesUpdated.push({
      id: instance.id,
      state: result.state,
      variables: result.variables ?? null,
      snapshot: result.snapshot,
    });
  }
  await writePlainRows(tx, plain, now);
  return settled;
}

/**
 * One round trip: locks the instances (in id order, so batches never deadlock on each other) and
 * marks each job completed where its lease still holds and its instance is active.
 */
async function lockAndFence(
  tx: Db,
  results: JobCompletion[],
): Promise<{ instances: Map<string, InstanceRow>; fenced: Map<string, Pick<JobRow, 'id' | 'element_instance_key'>> }> {
  const { rows } = await tx.raw(
    `WITH locked AS MATERIALIZED (
       SELECT * FROM process_instances WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE
     ), fenced AS (
       UPDATE jobs AS j SET state = 'completed', ended_at = now(), updated_at = now()
         FROM unnest(?::uuid[], ?::text[], ?::int[]) AS f(id, owner, attempt), locked AS l
        WHERE j.id = f.id AND j.owner = f.owner AND j.state = 'leased' AND (f.attempt IS NULL OR j.attempt = f.attempt)
          AND l.id = j.process_instance_id AND l.state = 'active'
        RETURNING j.id, j.element_instance_key
     )
     SELECT 'instance' AS kind, to_jsonb(locked) AS row FROM locked
     UNION ALL
     SELECT 'job', to_jsonb(fenced) FROM fenced`,
    [
      [...new Set(results.map((result) => result.job.process_instance_id))],
      results.map((result) => result.job.id),
      results.map((result) => result.lease.worker),
      results.map((result) => result.lease.attempt ?? null),
    ] as never,
  );
  const instances = new Map<string, InstanceRow>();
  const fenced = new Map<string, Pick<JobRow, 'id' | 'element_instance_key'>>();
  for (const { kind, row } of rows as { kind: string; row: Record<string, unknown> }[]) {
    if (kind === 'instance') instances.set(row.id as string, row as unknown as InstanceRow);
    else fenced.set(row.id as string, row as unknown as JobRow);
  }
  return { instances, fenced };
}

/** The error for a completion whose lease no longer holds the job; undefined while it does. */
async function leaseLost(tx: Db, result: JobCompletion): Promise<OperonError | undefined> {
  const current = await tx<JobRow>('jobs').where({ id: result.job.id }).first();
  const { worker, attempt } = result.lease;
  if (current?.state === 'leased' && current.owner === worker && (attempt === undefined || current.attempt === attempt))
    return undefined;
  return staleLeaseError(result.job.id, result.lease, current);
}

/** One instance to start from a definition already looked up. */
export interface StartRequest {
  /** Chosen by the caller, so it can answer with it before the batch commits. */
  instanceId: string;
  definition: DefinitionRef;
  variables: Variables;
  businessKey?: string;
  /** Who started it (process_instances.started_by). */
  startedBy?: string;
  /** The caller's Idempotency-Key: its row is written with the instance, in the same transaction. */
  idempotency?: IdempotencyRecord;
  /** Who started it: an `instance.start` audit row is written in the same transaction. */
  actor?: Actor;
}

/**
 * Starts instances from their none start events. When every start only writes plain rows (the
 * usual case) and none carries an idempotency key, all of them go out as ONE statement, atomic on
 * its own, without the BEGIN and COMMIT round trips of a transaction; otherwise they run in one
 * transaction, each start that is not plain through `createInstance`. Returns the instance ids
 * that were not started because another start holds their idempotency key (store/idempotency-keys.ts).
 */
export async function startInstances(
  db: Knex,
  graphs: GraphCache,
  requests: StartRequest[],
  now: Date,
): Promise<Set<string>> {
  // Side by side: a start waiting for a slow FEEL answer does not hold up the others of the batch.
  const computed = await Promise.all(
    requests.map(async (request) => {
      const graph = await graphs.get(db, request.definition.id);
      const options = { instanceId: request.instanceId, variables: request.variables, ...graphs.stepContext(now, db) };
      return { request, result: await startInstanceSettled(graph, options) };
    }),
  );
  const keyed = requests.flatMap(({ instanceId, idempotency }) => (idempotency ? [{ instanceId, idempotency }] : []));
  const audited = requests.some((request) => request.actor);
  if (keyed.length === 0 && !audited && computed.every(({ result }) => isPlainStep(result, {}))) {
    const plain = emptyPlainRows();
    for (const { request, result } of computed) collectStart(plain, request, result, now);
    const ended = plain.rows.instancesEnded;
    const cancelled = await writeStepRows(db, now, plain.rows);
    await notifyAfterCommit(db, [
      ...[...plain.jobTypes].map((type) => [CHANNELS.jobs, type] as const),
      ...cancelled.map((id) => [CHANNELS.jobCancelled, id] as const),
      ...ended.map((id) => [CHANNELS.instances, id] as const),
    ]);
    return new Set();
  }
  return inTransaction(db, async (tx) => {
    // First the keys: a start whose key another start committed is left out of the writes.
    const taken = await claimIdempotencyKeys(tx, keyed);
    const plain = emptyPlainRows();
    for (const { request, result } of computed) {
      if (taken.has(request.instanceId)) continue;
      if (isPlainStep(result, {})) {
        collectStart(plain, request, result, now);
        continue;
      }
      await writePlainRows(tx, plain, now);
      // The step is already computed: a slow FEEL expression in it is not evaluated twice.
      await createInstance(tx, graphs, request.definition, {
        variables: request.variables,
        businessKey: request.businessKey,
        startedBy: request.startedBy,
        now,
        instanceId: request.instanceId,
        firstStep: result,
      });
    }
    await writePlainRows(tx, plain, now);
    // Last: the audit chain's lock is held only from here to the commit.
    await appendAudit(
      tx,
      requests.flatMap((request) =>
        request.actor && !taken.has(request.instanceId)
          ? [startAudit(request.instanceId, request.definition, request.businessKey, request.actor)]
          : [],
      ),
    );
    return taken;
  });
}

/** The audit entry of one instance start (its variables stay in the instance; the entry names the process and key). */
export function startAudit(
  instanceId: string,
  definition: DefinitionRef,
  businessKey: string | undefined,
  actor: Actor,
) {
  return {
    actor,
    action: 'instance.start',
    target: { kind: 'instance', id: instanceId },
    instanceId,
    change: {
      bpmnProcessId: definition.bpmn_process_id,
      version: definition.version,
      definitionId: definition.id,
      businessKey: businessKey ?? null,
    },
  };
}

function collectStart(plain: PlainRows, request: StartRequest, result: StepResult, now: Date): void {
  const { instanceId, definition } = request;
  plain.rows.instancesInserted.push({
    id: instanceId,
    definition_id: definition.id,
    bpmn_process_id: definition.bpmn_process_id,
    version: definition.version,
    business_key: request.businessKey ?? null,
    started_by: request.startedBy ?? null,
    state: result.state,
    variables: result.variables ?? null,
    snapshot: result.snapshot,
  });
  const started: HistoryEntry = {
    process_instance_id: instanceId,
    event_type: 'instance.started',
    payload: { bpmnProcessId: definition.bpmn_process_id, version: definition.version, startEventId: null },
  };
  plain.rows.history.push(started);
  collectPlainStep(
    plain,
    { id: instanceId, definitionId: definition.id, bpmnProcessId: definition.bpmn_process_id },
    result,
    now,
  );
}
