/**
 * Starts instances, one or a batch, through the same body: the engine's `startInstance` (whatever
 * the version or start event) comes here, alone or gathered by the group commit of engine.ts, to
 * `startProcessInstances`, which looks up the definitions the starts name (a start of a process
 * that is not deployed settles with OPERON_ERR_NOT_FOUND) and hands the rest to `startInstances`.
 *
 * Each first step is computed once, side by side (a start waiting for a slow FEEL answer does not
 * hold up the others); a start whose step cannot be computed (start variables that do not match
 * their declaration, an unknown start event) fails alone. When every start only writes plain rows
 * and none carries an idempotency key, all of them go out as ONE statement, atomic on its own,
 * without the BEGIN and COMMIT round trips of a transaction, their `instance.start` audit rows
 * included (`auditAppendParts`, the chain head locked last); otherwise they are written
 * in one transaction, each start that is not plain through `createInstance` with the step already
 * computed. When that write fails for a reason other than the database going away, the same
 * computed starts are written again one by one, so only the one that cannot be written fails.
 */
import type { Knex } from 'knex';
import { startInstanceSettled } from '../runtime/index.ts';
import type { StepResult } from '../runtime/contract.ts';
import type { Variables } from '../nodes/types.ts';
import type { GraphCache } from './graph-cache.ts';
import type { DefinitionRef, HistoryEntry } from './rows.ts';
import { OperonError } from '../errors.ts';
import { findWantedDefinitions, type DefinitionWanted } from './find-definition.ts';
import { emptyPlainRows, writePlainRows, type PlainRows } from './apply-effects.ts';
import { addToBatch, collectPlainStep, isPlainStep, type Settled } from './step-batch.ts';
import { createInstance } from './create-instance.ts';
import { CHANNELS, inTransaction, notifyAfterCommit } from './notify.ts';
import { writeStepRows } from './write-step-rows.ts';
import { claimIdempotencyKeys, IdempotencyKeyTaken, type IdempotencyRecord } from './idempotency-keys.ts';
import { type Actor, type AuditEntry, appendAudit, auditAppendParts } from './audit-log.ts';
import { isTransientDatabaseError } from './transient-error.ts';
import { ATTR, endSpan, type Span, startSpan, type TraceContext, traceContextOf } from '../telemetry/trace.ts';
import { workMetrics } from '../telemetry/metrics.ts';

/** One instance to start from a definition already looked up. */
export interface StartRequest {
  /** Chosen by the caller, so it can answer with it before the batch commits. */
  instanceId: string;
  definition: DefinitionRef;
  variables: Variables;
  /** The start event (a none start event when absent). */
  startEventId?: string;
  businessKey?: string;
  /** Who started it (process_instances.started_by). */
  startedBy?: string;
  /** The caller's Idempotency-Key: its row is written with the instance, in the same transaction. */
  idempotency?: IdempotencyRecord;
  /** Who started it: an `instance.start` audit row is written in the same transaction. */
  actor?: Actor;
  /** The caller's trace context (a webhook's request span): the start's span continues its trace. */
  trace?: TraceContext;
}

/** One instance to start of a process named by its BPMN process id (`DefinitionWanted`: latest or a version). */
export type ProcessStart = Omit<StartRequest, 'definition'> & DefinitionWanted;

/**
 * Starts `starts` (no two with the same idempotency key) of the definitions they name and returns
 * one outcome per start, in order: a start of a process (or version) that is not deployed settles
 * with OPERON_ERR_NOT_FOUND, the others as `startInstances` settles them. `now` is read once the
 * definitions are known.
 */
export async function startProcessInstances(
  db: Knex,
  context: { graphs: GraphCache; now: () => Date },
  starts: ProcessStart[],
): Promise<Settled[]> {
  const definitions = await findWantedDefinitions(db, starts);
  const found = starts.flatMap((start, index) => {
    const definition = definitions[index];
    return definition
      ? [
          {
            ...start,
            definition: { id: definition.id, bpmn_process_id: definition.bpmn_process_id, version: definition.version },
          },
        ]
      : [];
  });
  const settled = await startInstances(db, context.graphs, found, context.now());
  const byId = new Map(found.map((start, index) => [start.instanceId, settled[index]!]));
  return starts.map(
    (start): Settled =>
      byId.get(start.instanceId) ?? {
        ok: false,
        error: new OperonError(
          'OPERON_ERR_NOT_FOUND',
          `No deployed process '${start.bpmnProcessId}'${start.version ? ` version ${start.version}` : ''}`,
          { details: { bpmnProcessId: start.bpmnProcessId, version: start.version } },
        ),
      },
  );
}

/** A start with its first step computed. */
interface Computed {
  index: number;
  request: StartRequest;
  result: StepResult;
  /** The start's span: the instance and its first jobs keep its context. */
  trace?: TraceContext;
}

/**
 * Starts `requests` (no two with the same idempotency key) and returns one outcome per request,
 * in order: a start whose key another start committed settles with `IdempotencyKeyTaken`. Throws
 * only when the database went away: then nothing was written.
 */
export async function startInstances(
  db: Knex,
  graphs: GraphCache,
  requests: StartRequest[],
  now: Date,
): Promise<Settled[]> {
  const settled: Settled[] = requests.map(() => ({ ok: true }));
  const startedAt = performance.now();
  const spans = requests.map((request) => startSpanOf(request));
  let lost: unknown;
  try {
    await computeAndWrite(db, graphs, requests, now, settled, spans);
  } catch (error) {
    lost = error;
    throw error;
  } finally {
    const seconds = (performance.now() - startedAt) / 1000;
    requests.forEach((request, index) => {
      const outcome = settled[index]!;
      const error = lost ?? (outcome.ok ? undefined : outcome.error);
      endSpan(spans[index]!, error);
      if (error === undefined) workMetrics.step(request.definition.bpmn_process_id, 'start', seconds);
    });
  }
  return settled;
}

/** Computes each first step side by side, then writes them (`writeStarts`). */
async function computeAndWrite(
  db: Knex,
  graphs: GraphCache,
  requests: StartRequest[],
  now: Date,
  settled: Settled[],
  spans: Span[],
): Promise<void> {
  const computed: Computed[] = [];
  await Promise.all(
    requests.map(async (request, index) => {
      try {
        const graph = await graphs.get(db, request.definition.id);
        const result = await startInstanceSettled(graph, {
          instanceId: request.instanceId,
          variables: request.variables,
          startEventId: request.startEventId,
          ...graphs.stepContext(now, db),
        });
        computed.push({ index, request, result, trace: traceContextOf(spans[index]!) });
      } catch (error) {
        if (isTransientDatabaseError(error)) throw error;
        settled[index] = { ok: false, error: toError(error) };
      }
    }),
  );
  computed.sort((a, b) => a.index - b.index);
  await writeStarts(db, graphs, computed, now, settled);
}

/** The span of one start, a child of the caller's (`request.trace`). */
function startSpanOf(request: StartRequest): Span {
  const { definition } = request;
  return startSpan(`start ${definition.bpmn_process_id}`, {
    parent: request.trace,
    attributes: {
      [ATTR.processId]: definition.bpmn_process_id,
      [ATTR.processVersion]: definition.version,
      [ATTR.definitionId]: definition.id,
      [ATTR.instanceId]: request.instanceId,
      [ATTR.event]: 'start',
      ...(request.startEventId ? { [ATTR.elementId]: request.startEventId } : {}),
    },
  });
}

/** Writes computed starts; on a failure, again one by one. Settles each start in `settled`. */
async function writeStarts(
  db: Knex,
  graphs: GraphCache,
  computed: Computed[],
  now: Date,
  settled: Settled[],
): Promise<void> {
  if (computed.length === 0) return;
  try {
    const taken = await writeComputed(db, graphs, computed, now);
    for (const { index, request } of computed)
      if (taken.has(request.instanceId))
        settled[index] = {
          ok: false,
          error: new IdempotencyKeyTaken(request.idempotency!.scope, request.idempotency!.key),
        };
  } catch (error) {
    if (isTransientDatabaseError(error)) throw error;
    if (computed.length === 1) {
      settled[computed[0]!.index] = { ok: false, error: toError(error) };
      return;
    }
    // Which start failed the write is not known: each again on its own, so only that one fails.
    for (const start of computed) await writeStarts(db, graphs, [start], now, settled);
  }
}

/** One write of computed starts; returns the instance ids not started because another start holds their key. */
async function writeComputed(db: Knex, graphs: GraphCache, computed: Computed[], now: Date): Promise<Set<string>> {
  const keyed = computed.flatMap(({ request: { instanceId, idempotency } }) =>
    idempotency ? [{ instanceId, idempotency }] : [],
  );
  if (keyed.length === 0 && computed.every(({ result }) => isPlainStep(result, {}))) {
    const plain = emptyPlainRows();
    for (const start of computed) collectStart(plain, start, now);
    const ended = plain.rows.instancesEnded;
    // The audit rows go last in the same statement: its other writes are inserts of new rows, so
    // the chain head's lock is still the last one it can wait for.
    const audit = auditAppendParts(startAudits(computed, new Set()));
    const cancelled = await writeStepRows(db, now, plain.rows, audit);
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
    for (const start of computed) {
      const { request, result } = start;
      if (taken.has(request.instanceId)) continue;
      await addToBatch(
        tx,
        plain,
        now,
        result,
        {},
        {
          plain: () => collectStart(plain, start, now),
          // The step is already computed: a slow FEEL expression in it is not evaluated twice.
          alone: () =>
            createInstance(tx, graphs, request.definition, {
              variables: request.variables,
              businessKey: request.businessKey,
              startedBy: request.startedBy,
              startEventId: request.startEventId,
              now,
              instanceId: request.instanceId,
              firstStep: result,
              trace: start.trace,
            }),
        },
      );
    }
    await writePlainRows(tx, plain, now);
    // Last: the audit chain's lock is held only from here to the commit.
    await appendAudit(tx, startAudits(computed, taken));
    return taken;
  });
}

/** The audit entries of the computed starts that carry an actor, but those in `taken`. */
function startAudits(computed: Computed[], taken: Set<string>): AuditEntry[] {
  return computed.flatMap(({ request }) =>
    request.actor && !taken.has(request.instanceId)
      ? [startAudit(request.instanceId, request.definition, request.businessKey, request.actor)]
      : [],
  );
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

function collectStart(plain: PlainRows, { request, result, trace }: Computed, now: Date): void {
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
    trace_parent: trace?.traceparent ?? null,
    trace_state: trace?.tracestate ?? null,
  });
  const started: HistoryEntry = {
    process_instance_id: instanceId,
    event_type: 'instance.started',
    payload: {
      bpmnProcessId: definition.bpmn_process_id,
      version: definition.version,
      startEventId: request.startEventId ?? null,
    },
  };
  plain.rows.history.push(started);
  collectPlainStep(
    plain,
    { id: instanceId, definitionId: definition.id, bpmnProcessId: definition.bpmn_process_id, trace },
    result,
    now,
  );
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
