/**
 * Routes one runtime event to the element instance (or timer, or scope) it is meant for.
 *
 * The core routes what is common (listeners' jobs, incidents, the scope's event subprocesses,
 * boundary events); what an element kind reacts to while it waits is the kind's own hook
 * (engine/runtime/elements/).
 */
import { startEventOf, type BoundaryEvent, type FlowElement, type StartEvent } from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import type { RuntimeEvent } from './contract.ts';
import { handlerCompleted } from './compensation.ts';
import { eventSubprocessesOf, openEventSubprocesses, triggerEventSubprocess } from './event-subprocess.ts';
import type { Execution } from './execution.ts';
import { ROOT_KEY, type ElementInstance, type RuntimeState } from './state.ts';
import { boundaryMessage, boundaryTimerFired } from './elements/boundary-event.ts';
import { messageNameOf } from './elements/definitions/message.ts';
import { kindOf, kindOfInstance } from './elements/index.ts';
import { jobDone } from './elements/job-worker.ts';
import { requestUserTaskChange, requestUserTaskCompletion } from './elements/task-listeners.ts';
import { scheduleNextCycle } from './elements/definitions/timer.ts';

/** Plain JSON copy: the runtime never shares objects with its caller. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Returns why the event was ignored, or undefined when it was applied. */
export function applyEvent(x: Execution, state: RuntimeState, event: RuntimeEvent): string | undefined {
  if (state.elements[ROOT_KEY]!.lifecycle === 'terminating' && !isListenerEvent(state, event))
    return 'the instance is being cancelled: it waits for the canceling listeners of its user tasks';
  if (event.type === 'instance.cancel') {
    x.cancelInstance();
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
        if (event.type === 'job.completed')
          return x.listenerCompleted(ei, variables, { denied: event.denied, corrections: clone(event.corrections) });
        x.listenerThrew(ei, event.errorCode);
        return undefined;
      }
      if (ei.wait !== 'job') return `element instance ${ei.key} (${ei.elementId}) is not waiting for a job`;
      if (event.type === 'job.completed') jobDone(x, ei, { completed: variables });
      else jobDone(x, ei, { errorCode: event.errorCode, errorMessage: event.errorMessage, variables });
      return undefined;
    case 'childInstance.completed':
    case 'childInstance.bpmnError': {
      const element = x.element(ei);
      const onChildInstance = kindOf(element).onChildInstance;
      if (ei.wait !== 'childInstance' || !onChildInstance)
        return `element instance ${ei.key} (${ei.elementId}) is not waiting for a child instance`;
      if (event.type === 'childInstance.completed') onChildInstance(x, ei, element, { completed: variables });
      else onChildInstance(x, ei, element, { errorCode: event.errorCode, errorMessage: event.errorMessage });
      return undefined;
    }
    case 'userTask.completed':
      if (ei.wait !== 'userTask') return `element instance ${ei.key} (${ei.elementId}) is not waiting for a user task`;
      requestUserTaskCompletion(x, ei, variables);
      return undefined;
    case 'userTask.changeRequested':
      if (ei.wait !== 'userTask') return `element instance ${ei.key} (${ei.elementId}) is not waiting for a user task`;
      requestUserTaskChange(x, ei, event.event, clone(event.change), clone(event.task));
      return undefined;
    case 'message.correlated':
      return correlate(x, ei, event.messageName, variables);
    case 'incident.resolved':
      return resolveIncident(x, ei, variables);
  }
}

/**
 * A message for `ei`: its own wait (the element kind's hook), else an event subprocess of the
 * scope it is, else one of its boundary events.
 */
function correlate(
  x: Execution,
  ei: ElementInstance,
  messageName: string,
  variables: Variables | undefined,
): string | undefined {
  // The process instance (ROOT_KEY) has no element of its own: it waits only through its event subprocesses.
  const element: FlowElement | undefined = x.graph.elements[ei.elementId];
  if (element && ei.key !== ROOT_KEY && kindOf(element).onMessage?.(x, ei, element, messageName, variables))
    return undefined;
  if (ei.subscribed && !ei.interrupted && ei.tokens !== undefined) {
    for (const id of eventSubprocessesOf(x, ei)) {
      const start = startEventOf(x.graph, id);
      if (start.eventKind === 'message' && messageNameOf(x, ei, start) === messageName) {
        triggerEventSubprocess(x, ei, start, variables);
        return undefined;
      }
    }
  }
  if (boundaryMessage(x, ei, messageName, variables)) return undefined;
  return `element instance ${ei.key} (${ei.elementId}) has no subscription for message "${messageName}"`;
}

function fireTimer(x: Execution, state: RuntimeState, timerKey: string): string | undefined {
  const timer = state.timers[timerKey];
  const owner = timer && state.elements[timer.ownerKey];
  if (!timer || !owner) return `no active timer ${timerKey}`;
  delete state.timers[timerKey];
  owner.timerKeys = owner.timerKeys?.filter((k) => k !== timerKey);
  const event = x.graph.elements[timer.elementId];
  // A boundary event's timer belongs to its host; an event subprocess's start timer to the enclosing scope.
  if (event?.type === 'boundaryEvent') boundaryTimerFired(x, owner, event as BoundaryEvent, timer);
  else if (event?.type === 'startEvent') {
    if (event.interrupting === false && timer.cycle) scheduleNextCycle(x, owner, event, timer.cycle);
    triggerEventSubprocess(x, owner, event as StartEvent);
  } else {
    const element = x.element(owner);
    kindOf(element).onTimer?.(x, owner, element, timer.elementId);
  }
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
  else if (resumedByKind(x, ei)) return undefined;
  else if (incident.phase === 'complete') x.complete(ei, incident.result);
  else x.guarded(ei, 'activate', () => x.runActivation(ei));
  return undefined;
}

/** Whether the element instance's kind went on with its own work (a user task's listeners) after its incident. */
function resumedByKind(x: Execution, ei: ElementInstance): boolean {
  const element = x.element(ei);
  return kindOfInstance(ei, element).resume?.(x, ei, element) === true;
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
          (e) =>
            e.elementId === element.parentId &&
            e.tokens !== undefined &&
            e.lifecycle !== 'terminating' &&
            !terminate.includes(e.key),
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

/** While the instance is being cancelled, only its elements' listener jobs and incidents move it on. */
function isListenerEvent(state: RuntimeState, event: RuntimeEvent): boolean {
  if (event.type !== 'job.completed' && event.type !== 'job.bpmnError' && event.type !== 'incident.resolved')
    return false;
  return state.elements[event.elementInstanceKey]?.lifecycle === 'terminating';
}
