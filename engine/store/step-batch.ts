/**
 * What the batch writers (start-instances.ts, complete-jobs.ts, fire-timers.ts,
 * correlate-messages.ts, complete-user-tasks.ts) share: a step whose effects are all plain rows
 * (element instances, flows, jobs, history, instance end) joins the batch's single write
 * (`collectPlainStep`); a step with any other effect, or of a child instance, is persisted on its
 * own by `stepInstance` / `createInstance` in the same transaction.
 */
import { stepSettled } from '../runtime/index.ts';
import type { RuntimeEvent, StepResult } from '../runtime/contract.ts';
import { addPlainEffect, isPlainEffect, writePlainRows, type InstanceRef, type PlainRows } from './apply-effects.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, InstanceRow } from './rows.ts';
import { eventHistory, stepInstance } from './step-instance.ts';
import { ATTR, endSpan, parseTraceContext, startSpan, traceContextOf } from '../telemetry/trace.ts';

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
 * One instance's step inside a batch's transaction: computes it once on the locked `instance`; a
 * plain step joins `plain` (written by the caller's `writePlainRows`), any other step is written by
 * `stepInstance` with the computed step, after what `plain` holds so far. The instance must be
 * locked and active, and not stepped before in this batch unless `plain` was written since and
 * `instance` read again.
 */
export async function stepInBatch(
  tx: Db,
  graphs: GraphCache,
  plain: PlainRows,
  instance: InstanceRow,
  event: RuntimeEvent,
  now: Date,
): Promise<StepResult> {
  const graph = await graphs.get(tx, instance.definition_id);
  const result = await stepSettled(graph, instance.snapshot, event, graphs.stepContext(now, tx));
  if (!isPlainStep(result, instance)) {
    // What is collected so far goes first, so that the single-instance writer reads a consistent database.
    await writePlainRows(tx, plain, now);
    return (await stepInstance(tx, graphs, instance.id, event, now, instance, result)).result;
  }
  // The step's span is a child of the instance's start, as stepInstance's; the jobs it creates keep it.
  const span = startSpan(`step ${event.type}`, {
    parent: parseTraceContext(instance.trace_parent, instance.trace_state),
    attributes: {
      [ATTR.processId]: instance.bpmn_process_id,
      [ATTR.instanceId]: instance.id,
      [ATTR.event]: event.type,
    },
  });
  const ref = {
    id: instance.id,
    definitionId: instance.definition_id,
    bpmnProcessId: instance.bpmn_process_id,
    trace: traceContextOf(span),
  };
  endSpan(span);
  plain.rows.history.push(eventHistory(instance.id, event));
  collectPlainStep(plain, ref, result, now);
  plain.rows.instancesUpdated.push({
    id: instance.id,
    state: result.state,
    variables: result.variables ?? null,
    snapshot: result.snapshot,
  });
  return result;
}

/** The settled outcome of a request that threw. */
export function failedAlone(error: unknown): Settled<never> {
  return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
}
