/**
 * Instance starts, one or a batch in one transaction (engine/jobs/group-commit.ts gathers them),
 * and what the batch writers share: a step whose effects are all plain rows (element instances,
 * flows, jobs, history, instance end) joins the batch's single write (`collectPlainStep`); a step
 * with any other effect, or of a child instance, is persisted on its own by `stepInstance` /
 * `createInstance` in the same transaction. Job results go through complete-jobs.ts.
 */
import { startInstanceSettled } from '../runtime/index.ts';
import type { StepResult } from '../runtime/contract.ts';
import type { Variables } from '../nodes/types.ts';
import type { GraphCache } from './graph-cache.ts';
import type { DefinitionRef, HistoryEntry } from './rows.ts';
import {
  addPlainEffect,
  emptyPlainRows,
  isPlainEffect,
  writePlainRows,
  type InstanceRef,
  type PlainRows,
} from './apply-effects.ts';
import { createInstance } from './create-instance.ts';
import { CHANNELS, inTransaction, notifyAfterCommit } from './notify.ts';
import { writeStepRows } from './write-step-rows.ts';
import { claimIdempotencyKeys, type IdempotencyRecord } from './idempotency-keys.ts';
import type { Knex } from 'knex';
import { appendAudit, type Actor } from './audit-log.ts';

/** Per request: done, or the error that request alone gets (the others are unaffected). */
export type Settled = { ok: true } | { ok: false; error: Error };

/** Whether a step's result can join the batch's shared writes. */
export function isPlainStep(result: StepResult, instance: { parent_instance_id?: string | null }): boolean {
  if (instance.parent_instance_id) return false; // reports to its parent: the single-instance path does that
  return result.effects.every((effect) => isPlainEffect(effect) || effect.type === 'instance.completed');
}

/** Collects a plain step's rows; an instance that completed joins `instancesEnded`. */
export function collectPlainStep(plain: PlainRows, ref: InstanceRef, result: StepResult, now: Date): void {
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
