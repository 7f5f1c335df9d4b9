/**
 * The driver of one step: lock the instance, run the pure runtime, persist snapshot and effects.
 * Always called inside a transaction; the caller commits.
 */
import { stepSettled } from '../runtime/index.ts';
import type { RuntimeEvent, StepResult } from '../runtime/contract.ts';
import { OperonError } from '../errors.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, InstanceRow, HistoryEntry } from './rows.ts';
import { lockInstance } from './lock-instance.ts';
import { updateInstance } from './update-instance.ts';
import { applyEffects } from './apply-effects.ts';
import { reportToParent, reportUncaughtErrors } from './handovers.ts';
import { ATTR, endSpan, parseTraceContext, startSpan, type TraceContext, traceContextOf } from '../telemetry/trace.ts';
import { workMetrics } from '../telemetry/metrics.ts';

/** Guard against a runtime that keeps producing follow-up events. */
const MAX_FOLLOW_UPS = 100;

export interface StepOutcome {
  instance: InstanceRow;
  result: StepResult;
}

/**
 * Feeds one event into a locked, active instance and persists the outcome, then any follow-up
 * events (buffered messages matching a subscription this step opened). `computed`: the first
 * event's step, when the caller already ran it on `lockedRow`. `trace`: the span of the step when
 * the caller has one (complete-jobs.ts); otherwise the step gets its own, a child of the
 * instance's start (docs/observability.md).
 */
export async function stepInstance(
  tx: Db,
  graphs: GraphCache,
  instanceId: string,
  event: RuntimeEvent,
  now: Date,
  lockedRow?: InstanceRow,
  computed?: StepResult,
  trace?: TraceContext,
): Promise<StepOutcome> {
  const instance = lockedRow ?? (await lockInstance(tx, instanceId));
  if (!instance) throw instanceNotFound(instanceId);
  if (instance.state !== 'active') throw instanceNotActive(instance);
  if (trace) return step(tx, graphs, instance, event, now, computed, trace);
  const startedAt = performance.now();
  const span = startSpan(`step ${event.type}`, {
    parent: parseTraceContext(instance.trace_parent, instance.trace_state),
    attributes: {
      [ATTR.processId]: instance.bpmn_process_id,
      [ATTR.instanceId]: instance.id,
      [ATTR.event]: event.type,
      ...('elementInstanceKey' in event && typeof event.elementInstanceKey === 'string'
        ? { 'operon.element_instance_key': event.elementInstanceKey }
        : {}),
    },
  });
  try {
    const outcome = await step(tx, graphs, instance, event, now, computed, traceContextOf(span));
    endSpan(span);
    workMetrics.step(instance.bpmn_process_id, event.type, (performance.now() - startedAt) / 1000);
    return outcome;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

async function step(
  tx: Db,
  graphs: GraphCache,
  instance: InstanceRow,
  event: RuntimeEvent,
  now: Date,
  computed: StepResult | undefined,
  trace: TraceContext | undefined,
): Promise<StepOutcome> {
  const graph = await graphs.get(tx, instance.definition_id);
  const ref = { id: instance.id, definitionId: instance.definition_id, bpmnProcessId: instance.bpmn_process_id, trace };
  let events: RuntimeEvent[] = [event];
  let snapshot = instance.snapshot;
  let result: StepResult | undefined;
  for (let round = 0; events.length > 0 && round < MAX_FOLLOW_UPS; round++) {
    const next = events.shift()!;
    // A step the caller computed on the locked row is not computed (its FEEL not evaluated) again.
    result = round === 0 && computed ? computed : await stepSettled(graph, snapshot, next, graphs.stepContext(now, tx));
    snapshot = result.snapshot;
    // The event's history row goes in the same insert as its effects' rows, ahead of them.
    events.push(...(await applyEffects(tx, ref, result.effects, now, [eventHistory(instance.id, next)])));
    if (instance.parent_instance_id) await reportUncaughtErrors(tx, instance, result.effects);
    if (result.state !== 'active') events = [];
  }
  await updateInstance(tx, instance.id, result!, now);
  if (result!.state !== 'active') await reportToParent(tx, instance, result!);
  return { instance, result: result! };
}

export function instanceNotFound(instanceId: string): OperonError {
  return new OperonError('OPERON_ERR_NOT_FOUND', `Process instance ${instanceId} does not exist`, {
    details: { instanceId },
  });
}

export function instanceNotActive(instance: Pick<InstanceRow, 'id' | 'state'>): OperonError {
  return new OperonError('OPERON_ERR_INSTANCE_NOT_ACTIVE', `Process instance ${instance.id} is ${instance.state}`, {
    details: { instanceId: instance.id, state: instance.state },
  });
}

/** The event itself as a history row (what came in), before the effects (what it caused). */
export function eventHistory(instanceId: string, event: RuntimeEvent): HistoryEntry {
  const { type, ...rest } = event;
  const key = 'elementInstanceKey' in event ? event.elementInstanceKey : null;
  const payload: Record<string, unknown> = { ...rest };
  delete payload.elementInstanceKey;
  return {
    process_instance_id: instanceId,
    element_instance_key: key,
    event_type: `event.${type}`,
    payload: Object.keys(payload).length > 0 ? payload : null,
  };
}
