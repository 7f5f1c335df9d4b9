/**
 * What the batch writers (start-instances.ts, complete-jobs.ts, fire-timers.ts,
 * correlate-messages.ts, complete-user-tasks.ts) share: a step whose effects are all plain rows
 * (element instances, flows, jobs, history, instance end) joins the batch's single write
 * (`collectPlainStep`); a step with any other effect, or of a child instance, is persisted on its
 * own by `stepInstance` / `createInstance` in the same transaction (`addToBatch` decides which;
 * `stepInBatch` computes and adds the step of an instance that exists).
 */
import { stepSettled } from '../runtime/index.ts';
import type { RuntimeEvent, StepResult } from '../runtime/contract.ts';
import { addPlainEffect, isPlainEffect, writePlainRows, type InstanceRef, type PlainRows } from './apply-effects.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, InstanceRow } from './rows.ts';
import { eventHistory, stepInstance } from './step-instance.ts';
import {
  ATTR,
  endSpan,
  parseTraceContext,
  type Span,
  startSpan,
  type TraceContext,
  traceContextOf,
} from '../telemetry/trace.ts';

/**
 * Per request: done (with what the request answers, if it answers more than "done"), or the error
 * that request alone gets (the others are unaffected).
 */
export type Settled<V = undefined> = { ok: true; value?: V } | { ok: false; error: Error };

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

/**
 * A computed step joins the batch: a plain one (`isPlainStep`) is collected (`write.plain`), any
 * other is written on its own (`write.alone`) after what `plain` holds so far, so that the
 * single-instance writer reads a consistent database. Every batch writer's step goes through here.
 */
export async function addToBatch(
  tx: Db,
  plain: PlainRows,
  now: Date,
  result: StepResult,
  instance: { parent_instance_id?: string | null },
  write: { plain: () => void; alone: () => Promise<unknown> },
): Promise<void> {
  if (isPlainStep(result, instance)) return write.plain();
  await writePlainRows(tx, plain, now);
  await write.alone();
}

/**
 * One instance's step inside a batch's transaction: computes it once on the locked `instance`; a
 * plain step joins `plain` (written by the caller's `writePlainRows`), any other step is written by
 * `stepInstance` with the computed step (`addToBatch`). The instance must be locked and active, and
 * not stepped before in this batch unless `plain` was written since and `instance` read again.
 * `span`: the step's span when the caller has one (complete-jobs.ts: a child of the job's);
 * otherwise the step gets its own, a child of the instance's start.
 */
export async function stepInBatch(
  tx: Db,
  graphs: GraphCache,
  plain: PlainRows,
  instance: InstanceRow,
  event: RuntimeEvent,
  now: Date,
  span?: Span,
): Promise<StepResult> {
  const graph = await graphs.get(tx, instance.definition_id);
  const result = await stepSettled(graph, instance.snapshot, event, graphs.stepContext(now, tx));
  const trace = span ? traceContextOf(span) : undefined;
  await addToBatch(tx, plain, now, result, instance, {
    plain: () => collectInstanceStep(plain, instance, event, result, now, span ? trace : ownSpan(instance, event)),
    alone: () => stepInstance(tx, graphs, instance.id, event, now, instance, result, trace),
  });
  return result;
}

/** The span of a plain step without one of its caller's, a child of the instance's start, as stepInstance's. */
function ownSpan(instance: InstanceRow, event: RuntimeEvent): TraceContext | undefined {
  const span = startSpan(`step ${event.type}`, {
    parent: parseTraceContext(instance.trace_parent, instance.trace_state),
    attributes: {
      [ATTR.processId]: instance.bpmn_process_id,
      [ATTR.instanceId]: instance.id,
      [ATTR.event]: event.type,
    },
  });
  // The jobs the step creates keep its context.
  const trace = traceContextOf(span);
  endSpan(span);
  return trace;
}

/** A plain step of an existing instance: its event's history row, its effects' rows, the instance's new state. */
function collectInstanceStep(
  plain: PlainRows,
  instance: InstanceRow,
  event: RuntimeEvent,
  result: StepResult,
  now: Date,
  trace: TraceContext | undefined,
): void {
  const ref = {
    id: instance.id,
    definitionId: instance.definition_id,
    bpmnProcessId: instance.bpmn_process_id,
    trace,
  };
  plain.rows.history.push(eventHistory(instance.id, event));
  collectPlainStep(plain, ref, result, now);
  plain.rows.instancesUpdated.push({
    id: instance.id,
    state: result.state,
    variables: result.variables ?? null,
    snapshot: result.snapshot,
  });
}

/** The settled outcome of a request that threw. */
export function failedAlone(error: unknown): Settled<never> {
  return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
}
