/**
 * Routes one runtime event to the element instance (or timer, or scope) it is meant for.
 */
import {
  boundaryEventsOf,
  startEventOf,
  type BoundaryEvent,
  type CallActivity,
  type FlowElement,
  type IntermediateCatchEvent,
  type MessageCatchEvent,
  type ReceiveTask,
  type StartEvent,
  type TimerEvent,
} from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import type { RuntimeEvent } from './contract.ts';
import { handlerCompleted } from './compensation.ts';
import { eventSubprocessesOf, openEventSubprocesses, triggerEventSubprocess } from './event-subprocess.ts';
import type { Execution } from './execution.ts';
import { nextElementLifecycle } from './lifecycle.ts';
import { ROOT_KEY, type ElementInstance, type RuntimeState } from './state.ts';
import { dueFromText } from './timers.ts';

/** Plain JSON copy: the runtime never shares objects with its caller. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Returns why the event was ignored, or undefined when it was applied. */
export function applyEvent(x: Execution, state: RuntimeState, event: RuntimeEvent): string | undefined {
  if (event.type === 'instance.cancel') {
    x.terminateChildren(ROOT_KEY);
    const root = state.elements[ROOT_KEY]!;
    x.closeWaits(root);
    root.lifecycle = nextElementLifecycle(root.lifecycle, 'TERMINATE');
    state.lifecycle = 'terminated';
    x.effects.push({ type: 'instance.terminated' });
    return undefined;
  }
  if (event.type === 'timer.fired') return fireTimer(x, state, event.timerKey);
  if (event.type === 'instance.modify') return modifyInstance(x, state, event.activate ?? [], event.terminate ?? []);

  const ei = state.elements[event.elementInstanceKey];
  // The process instance itself only waits for messages (event subprocesses), its listeners' jobs and its own incidents.
  const forRoot =
    event.type === 'message.correlated' ||
    event.type === 'incident.resolved' ||
    ((event.type === 'job.completed' || event.type === 'job.bpmnError') && ei?.wait === 'listener');
  if (!ei || (ei.key === ROOT_KEY && !forRoot)) return `no active element instance ${event.elementInstanceKey}`;
  const variables = clone((event as { variables?: Variables }).variables);
  switch (event.type) {
    case 'job.completed':
    case 'job.bpmnError':
      if (ei.wait === 'listener') {
        if (event.type === 'job.completed') x.listenerCompleted(ei, variables, event.denied, clone(event.corrections));
        else x.listenerThrew(ei, event.errorCode);
        return undefined;
      }
      if (ei.wait !== 'job') return `element instance ${ei.key} (${ei.elementId}) is not waiting for a job`;
      delete ei.wait;
      if (event.type === 'job.completed') x.complete(ei, variables);
      else x.throwError(ei, event.errorCode, event.errorMessage, variables);
      return undefined;
    case 'childInstance.completed':
      if (ei.wait !== 'childInstance')
        return `element instance ${ei.key} (${ei.elementId}) is not waiting for a child instance`;
      delete ei.wait;
      {
        const callActivity = x.element(ei) as CallActivity;
        const propagate = callActivity.calledElement.propagateAllChildVariables || callActivity.outputs;
        x.complete(ei, propagate ? variables : undefined);
      }
      return undefined;
    case 'childInstance.bpmnError': {
      if (ei.wait !== 'childInstance')
        return `element instance ${ei.key} (${ei.elementId}) is not waiting for a child instance`;
      // The wait stays until the error is routed: a catching boundary terminates the call activity, which cancels the child.
      x.throwError(ei, event.errorCode, event.errorMessage);
      const uncaught = state.elements[ei.key];
      if (uncaught?.wait === 'childInstance') {
        delete uncaught.wait;
        x.effects.push({ type: 'childInstance.cancel', elementInstanceKey: ei.key });
      }
      return undefined;
    }
    case 'userTask.completed':
      if (ei.wait !== 'userTask') return `element instance ${ei.key} (${ei.elementId}) is not waiting for a user task`;
      x.requestUserTaskCompletion(ei, variables);
      return undefined;
    case 'userTask.changeRequested':
      if (ei.wait !== 'userTask') return `element instance ${ei.key} (${ei.elementId}) is not waiting for a user task`;
      x.requestUserTaskChange(ei, event.event, clone(event.change), clone(event.task));
      return undefined;
    case 'message.correlated':
      return correlate(x, ei, event.messageName, variables);
    case 'incident.resolved':
      return resolveIncident(x, ei, variables);
  }
}

/** The message name an event waits for; undefined when a FEEL name cannot be evaluated now. */
function messageNameOf(x: Execution, ei: ElementInstance, event: MessageCatchEvent | ReceiveTask): string | undefined {
  try {
    return x.textValue(event.message.name, ei.key);
  } catch {
    return undefined;
  }
}

function correlate(
  x: Execution,
  ei: ElementInstance,
  messageName: string,
  variables: Variables | undefined,
): string | undefined {
  // The process instance (ROOT_KEY) has no element of its own: it waits only through its event subprocesses.
  const element: FlowElement | undefined = x.graph.elements[ei.elementId];
  if (ei.wait === 'event' && element) {
    for (const flowId of element.outgoing) {
      const event = x.graph.elements[x.graph.flows[flowId]!.targetId] as IntermediateCatchEvent;
      if (event.eventKind === 'message' && messageNameOf(x, ei, event) === messageName) {
        x.triggerEventGateway(ei, event.id, variables);
        return undefined;
      }
    }
  }
  if (ei.wait === 'message' && element && 'message' in element && messageNameOf(x, ei, element) === messageName) {
    delete ei.wait;
    x.complete(ei, variables);
    return undefined;
  }
  if (ei.subscribed && !ei.interrupted && ei.tokens !== undefined) {
    for (const id of eventSubprocessesOf(x, ei)) {
      const start = startEventOf(x.graph, id);
      if (start.eventKind === 'message' && messageNameOf(x, ei, start) === messageName) {
        triggerEventSubprocess(x, ei, start, variables);
        return undefined;
      }
    }
  }
  for (const boundaryId of ei.key === ROOT_KEY || !element ? [] : boundaryEventsOf(element)) {
    const boundary = x.graph.elements[boundaryId] as BoundaryEvent;
    if (boundary.eventKind === 'message' && ei.subscribed && messageNameOf(x, ei, boundary) === messageName) {
      x.triggerBoundary(ei, boundary, variables);
      return undefined;
    }
  }
  return `element instance ${ei.key} (${ei.elementId}) has no subscription for message "${messageName}"`;
}

function fireTimer(x: Execution, state: RuntimeState, timerKey: string): string | undefined {
  const timer = state.timers[timerKey];
  const owner = timer && state.elements[timer.ownerKey];
  if (!timer || !owner) return `no active timer ${timerKey}`;
  delete state.timers[timerKey];
  owner.timerKeys = owner.timerKeys?.filter((k) => k !== timerKey);
  if (timer.elementId === owner.elementId) {
    delete owner.wait;
    x.complete(owner);
    return undefined;
  }
  if (owner.wait === 'event') {
    x.triggerEventGateway(owner, timer.elementId);
    return undefined;
  }
  // A timer of a boundary event or of an event subprocess's start event.
  const event = x.graph.elements[timer.elementId] as TimerEvent & (BoundaryEvent | StartEvent);
  const interrupting = event.type === 'startEvent' ? event.interrupting !== false : event.cancelActivity;
  if (!interrupting && timer.cycle) {
    const next = dueFromText('cycle', timer.cycle, x.now, x.minCycleIntervalMs);
    if (next.ok) x.scheduleTimer(owner, event, next);
  }
  if (event.type === 'startEvent') triggerEventSubprocess(x, owner, event);
  else x.triggerBoundary(owner, event);
  return undefined;
}

function resolveIncident(x: Execution, ei: ElementInstance, variables: Variables | undefined): string | undefined {
  const incident = ei.incident;
  if (!incident) return `element instance ${ei.key} (${ei.elementId}) has no open incident`;
  delete ei.incident;
  x.propagate(ei.key, variables);
  if (ei.key === ROOT_KEY && ei.listener?.event === 'end') x.guarded(ei, 'complete', () => x.completeInstance());
  else if (ei.key === ROOT_KEY && ei.listener) x.guarded(ei, 'activate', () => x.startProcess());
  else if (ei.key === ROOT_KEY) x.guarded(ei, 'activate', () => openEventSubprocesses(x, ei));
  else if (ei.listener?.event === 'completing') x.guarded(ei, 'complete', () => x.runCompleting(ei));
  else if (ei.listener?.event === 'assigning' || ei.listener?.event === 'updating')
    x.guarded(ei, 'complete', () => x.runChanging(ei));
  else if (incident.phase === 'complete') x.complete(ei, incident.result);
  else x.guarded(ei, 'activate', () => x.runActivation(ei));
  return undefined;
}

/** Operator token moves: validate everything first, so a refused modification changes nothing. */
function modifyInstance(
  x: Execution,
  state: RuntimeState,
  activate: string[],
  terminate: string[],
): string | undefined {
  if (activate.length + terminate.length === 0) return 'nothing to activate or terminate';
  const arrivals: Array<{ elementId: string; flowScopeKey: string }> = [];
  for (const elementId of activate) {
    const element = x.graph.elements[elementId];
    if (!element || element.type === 'boundaryEvent' || (element.type === 'startEvent' && element.parentId))
      return `cannot activate "${elementId}": no such element, or not one a token can be put on`;
    const scopes = element.parentId
      ? Object.values(state.elements).filter(
          (e) => e.elementId === element.parentId && e.tokens !== undefined && !terminate.includes(e.key),
        )
      : [state.elements[ROOT_KEY]!];
    if (scopes.length !== 1)
      return `cannot activate "${elementId}": its subprocess "${element.parentId}" has ${scopes.length} active instances, not one`;
    arrivals.push({ elementId, flowScopeKey: scopes[0]!.key });
  }
  for (const key of terminate) {
    if (key === ROOT_KEY || !state.elements[key]) return `cannot terminate element instance ${key}: it is not active`;
  }
  for (const arrival of arrivals) x.enqueue(arrival);
  const scopes = new Set<string>();
  const throwers = new Set<string>();
  for (const key of terminate) {
    const ei = state.elements[key];
    if (!ei) continue; // inside a scope terminated just before
    scopes.add(ei.flowScopeKey);
    if (ei.compensates !== undefined) throwers.add(ei.compensates);
    x.terminate(ei);
  }
  // A compensation handler the operator terminated is skipped: its throw event goes on with the next one (unless terminated too).
  for (const throwKey of throwers) handlerCompleted(x, throwKey);
  // A scope left without tokens completes, as if its last token had been consumed.
  for (const scopeKey of scopes) {
    const scope = state.elements[scopeKey];
    if (scope && scope.tokens === 0) {
      scope.tokens = 1;
      x.consumeToken(scopeKey);
    }
  }
  return undefined;
}
