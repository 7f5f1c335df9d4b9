/**
 * The registry of element kinds: one module per kind, keyed by the graph's element type. The core
 * (execution.ts) dispatches through it; the record is typed over `ElementType`, so tsc refuses a
 * kind without a module, and each module takes exactly its member of the graph's union.
 */
import type { ElementOfType, ElementType, FlowElement } from '../../model/graph.ts';
import type { ElementInstance } from '../state.ts';
import { boundaryEvent } from './boundary-event.ts';
import { businessRuleTask } from './business-rule-task.ts';
import { callActivity } from './call-activity.ts';
import { endEvent } from './end-event.ts';
import { eventBasedGateway } from './event-based-gateway.ts';
import { exclusiveGateway } from './exclusive-gateway.ts';
import { inclusiveGateway } from './inclusive-gateway.ts';
import { intermediateCatchEvent } from './intermediate-catch-event.ts';
import { intermediateThrowEvent } from './intermediate-throw-event.ts';
import { serviceTask } from './job-worker.ts';
import type { ElementKind } from './kind.ts';
import { multiInstanceBody } from './multi-instance.ts';
import { receiveTask } from './receive-task.ts';
import { scriptTask } from './script-task.ts';
import { startEvent } from './start-event.ts';
import { subProcess } from './sub-process.ts';
import { passThrough } from './task.ts';
import { userTask } from './user-task.ts';

export type { ElementKind } from './kind.ts';

export const elementKinds: { readonly [T in ElementType]: ElementKind<ElementOfType<T>> } = {
  startEvent,
  endEvent,
  intermediateCatchEvent,
  intermediateThrowEvent,
  boundaryEvent,
  task: passThrough,
  manualTask: passThrough,
  serviceTask,
  sendTask: serviceTask,
  businessRuleTask,
  userTask,
  receiveTask,
  scriptTask,
  exclusiveGateway,
  inclusiveGateway,
  eventBasedGateway,
  parallelGateway: passThrough,
  subProcess,
  callActivity,
};

/** The module of an element's kind. */
export function kindOf(element: FlowElement): ElementKind {
  // Each entry takes exactly its member of the union, and `element.type` picks that entry.
  return elementKinds[element.type] as ElementKind;
}

/**
 * The module an element instance runs: a multi-instance activity's body runs the multi-instance
 * wrapper (its inner instances run the activity's own kind).
 */
export function kindOfInstance(ei: ElementInstance, element: FlowElement): ElementKind {
  // Asked on every activation and completion: `in` is the cheapest test (only activities carry multiInstance).
  if (ei.loopIndex === undefined && 'multiInstance' in element && element.multiInstance) return multiInstanceBody;
  return elementKinds[element.type] as ElementKind;
}
