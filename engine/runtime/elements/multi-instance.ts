/**
 * Multi-instance activities, a wrapper around the activity's own kind: a body element instance
 * (boundary events, the loop over the input collection, the output collection) around one inner
 * instance per item, which runs the activity's kind (mappings, listeners, behaviour).
 */
import { multiInstanceOf, type FlowElement, type MultiInstanceDefinition } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import { IncidentSignal, type Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { kindOf } from './index.ts';
import type { ElementKind } from './kind.ts';

/**
 * The body of a multi-instance activity: activating it starts the loop; each inner instance that
 * completes puts its output in the output collection and may end the loop (completion condition);
 * the body completes with the output collection once no inner instance is left.
 */
export const multiInstanceBody: ElementKind = {
  wrapsInner: true,
  instanceType: 'multiInstanceBody',
  activate: startMultiInstance,
  startInner: startInnerInstance,
  innerCompleted: (x, _body, inner, element, result) => innerCompleted(x, inner, element, result),
  innerLeft: (_x, body) => body.loop!.done === true,
  scopeEmptied(x, body) {
    const loop = body.loop!;
    if (loop.done || loop.next >= loop.items.length) return false;
    x.enqueue({ elementId: body.elementId, flowScopeKey: body.key, nextLoopItem: true });
    return true;
  },
  // The body waits on nothing of its own but its boundary events (closed by the core): the activity's kind closes whatever else it finds.
  closeWaits: (x, body, element) => kindOf(element).closeWaits(x, body, element),
  completeResult(x, body, element) {
    const collection = loopOf(element).outputCollection;
    if (collection) x.propagate(body.flowScopeKey, { [collection]: body.variables![collection] });
  },
};

/** Activates a multi-instance body: evaluates the input collection and queues the first inner instance(s). */
export function startMultiInstance(x: Execution, body: ElementInstance, element: FlowElement): void {
  if (body.loop) return;
  const definition = loopOf(element);
  const items = x.feel(definition.inputCollection, body.key);
  if (!Array.isArray(items)) {
    throw new IncidentSignal(
      'OPERON_ERR_FEEL_EVAL',
      `inputCollection "${definition.inputCollection}" of "${element.id}" gave ${JSON.stringify(items)}, expected a list`,
      { expression: definition.inputCollection },
    );
  }
  body.loop = { items, next: 0, completed: 0 };
  body.tokens = 0;
  if (definition.outputCollection) body.variables = { [definition.outputCollection]: items.map(() => null) };
  if (items.length === 0) return x.complete(body);
  // Through the agenda, so a long sequential loop of instant tasks never recurses.
  const first = definition.sequential ? 1 : items.length;
  for (let i = 0; i < first; i++) x.enqueue({ elementId: element.id, flowScopeKey: body.key, nextLoopItem: true });
}

/** Activates the inner instance for the next item, with `inputElement` and `loopCounter` as its locals. */
export function startInnerInstance(x: Execution, body: ElementInstance, element: FlowElement): void {
  const definition = loopOf(element);
  const loopIndex = body.loop!.next++;
  const variables: Variables = { loopCounter: loopIndex + 1 };
  if (definition.inputElement) variables[definition.inputElement] = body.loop!.items[loopIndex];
  x.activate(element, body.key, undefined, { loopIndex, variables });
}

/** After an inner instance completed: collect its output, check the completion condition. */
export function innerCompleted(
  x: Execution,
  inner: ElementInstance,
  element: FlowElement,
  result: Variables | undefined,
): void {
  const definition = loopOf(element);
  const body = x.state.elements[inner.flowScopeKey]!;
  if (definition.outputCollection && definition.outputElement) {
    const value = x.feel(definition.outputElement, inner.key, { ...x.visibleVariables(inner.key), ...result });
    const collection = body.variables![definition.outputCollection] as unknown[];
    collection[inner.loopIndex!] = value;
  }
  body.loop!.completed += 1;
  if (definition.completionCondition) {
    const active = Object.values(x.state.elements).filter(
      (e) => e.flowScopeKey === body.key && e.key !== inner.key,
    ).length;
    const context = {
      ...x.visibleVariables(inner.key),
      numberOfInstances: body.loop!.items.length,
      numberOfCompletedInstances: body.loop!.completed,
      numberOfActiveInstances: active,
    };
    const done = x.feel(definition.completionCondition, inner.key, context);
    if (typeof done !== 'boolean') {
      throw new IncidentSignal(
        'OPERON_ERR_CONDITION_NOT_BOOLEAN',
        `completionCondition "${definition.completionCondition}" of "${element.id}" gave ${JSON.stringify(done)}, expected a boolean`,
        { expression: definition.completionCondition },
      );
    }
    body.loop!.done = done;
  }
}

/** The loop characteristics of an element that is running as a multi-instance body or inner instance. */
function loopOf(element: FlowElement): MultiInstanceDefinition {
  const definition = multiInstanceOf(element);
  if (!definition) throw new Error(`"${element.id}" is not a multi-instance activity`);
  return definition;
}
