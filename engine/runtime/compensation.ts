/**
 * Compensation (BPMN 2.0 10.6.5 / 13.5.5; Camunda 8 where the spec leaves room): a completed
 * activity with a compensation boundary event can be undone by its handler when a compensation
 * throw or end event of its scope is reached.
 *
 * - Each scope element instance (the process, a subprocess instance, a multi-instance body) keeps the
 *   activities that completed in it and can be compensated (`compensable`), in completion order.
 * - A completed subprocess without a handler of its own hands its records to its scope as one group:
 *   compensating the outer scope compensates its inner activities (BPMN's default compensation).
 * - A throw takes the records of its scope (only those of `activityRef` when set), and runs their
 *   handlers one at a time in reverse order of completion; it waits until the last one completes
 *   (Camunda 8: `waitForCompletion` is always true). Each completed activity is compensated once.
 * - Handlers are ordinary activities: a service task handler creates a job. They run in the scope
 *   that is compensated, starting with the compensated activity's local variables as they were when
 *   it completed.
 */
import { isActivity, type CompensationThrowDefinition, type FlowElement } from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import type { Execution } from './execution.ts';
import { ROOT_KEY, type CompensableActivity, type CompensationTask, type ElementInstance } from './state.ts';

const copy = (variables: Variables | undefined): Variables | undefined =>
  variables && Object.keys(variables).length > 0 ? (JSON.parse(JSON.stringify(variables)) as Variables) : undefined;

/** Called as `ei` completes: remembers it in its scope if it (or something inside it) can be compensated. */
export function recordCompensable(x: Execution, ei: ElementInstance, element: FlowElement): void {
  // A handler is not compensated itself.
  if (ei.compensates !== undefined || ei.key === ROOT_KEY) return;
  const scope = x.state.elements[ei.flowScopeKey];
  if (!scope) return;
  const isBody = ei.loop !== undefined;
  let record: CompensableActivity | undefined;
  // A multi-instance activity's handler undoes each inner instance: the inner instances carry it.
  if (isActivity(element) && element.compensationHandler !== undefined && !isBody)
    record = { elementId: element.id, handlerId: element.compensationHandler };
  else if (ei.compensable && ei.compensable.length > 0) record = { elementId: element.id, inner: ei.compensable };
  if (!record) return;
  const variables = isBody ? undefined : copy(ei.variables);
  if (variables) record.variables = variables;
  (scope.compensable ??= []).push(record);
}

/** The scope a compensation event compensates: its own, or, in an event subprocess, the scope that holds it. */
function compensatedScope(x: Execution, ei: ElementInstance): ElementInstance {
  const scope = x.state.elements[ei.flowScopeKey]!;
  const element = scope.key === ROOT_KEY ? undefined : x.element(scope);
  if (element?.type === 'subProcess' && element.triggeredByEvent) return x.state.elements[scope.flowScopeKey]!;
  return scope;
}

/** Handlers of the records, in reverse order of completion, groups expanded; variables of enclosing groups first. */
function handlersOf(
  records: CompensableActivity[],
  inherited: Variables | undefined,
  out: CompensationTask[],
): CompensationTask[] {
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!;
    const variables = record.variables || inherited ? { ...inherited, ...record.variables } : undefined;
    if (record.handlerId !== undefined) out.push({ handlerId: record.handlerId, ...(variables ? { variables } : {}) });
    else handlersOf(record.inner ?? [], variables, out);
  }
  return out;
}

/** Behaviour of a compensation intermediate throw or end event. */
export function throwCompensation(
  x: Execution,
  ei: ElementInstance,
  element: FlowElement & CompensationThrowDefinition,
): void {
  const scope = compensatedScope(x, ei);
  const records = scope.compensable ?? [];
  const taken =
    element.compensateActivity === undefined
      ? records
      : records.filter((r) => r.elementId === element.compensateActivity);
  const kept = records.filter((r) => !taken.includes(r));
  if (kept.length > 0) scope.compensable = kept;
  else delete scope.compensable;
  const pending = handlersOf(taken, undefined, []);
  if (pending.length === 0) return x.complete(ei);
  ei.wait = 'compensation';
  ei.compensation = { scopeKey: scope.key, pending };
  startNextHandler(x, ei);
}

function startNextHandler(x: Execution, thrower: ElementInstance): void {
  const { scopeKey, pending } = thrower.compensation!;
  const task = pending.shift()!;
  x.enqueue({
    elementId: task.handlerId,
    flowScopeKey: scopeKey,
    handlerOf: { throwKey: thrower.key, ...(task.variables ? { variables: task.variables } : {}) },
  });
}

/** A handler completed: the next one starts, or, after the last, the throw or end event completes. */
export function handlerCompleted(x: Execution, throwKey: string): void {
  const thrower = x.state.elements[throwKey];
  if (!thrower?.compensation) return;
  if (thrower.compensation.pending.length > 0) return startNextHandler(x, thrower);
  delete thrower.compensation;
  delete thrower.wait;
  x.complete(thrower);
}
