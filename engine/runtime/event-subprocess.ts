/**
 * Event subprocesses: their start events wait while the enclosing scope (the process or an
 * embedded subprocess instance) is active; the waits belong to the scope's element instance.
 */
import { startEventOf, type StartEvent } from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import { openSubscription } from './elements/definitions/message.ts';
import { openTimers } from './elements/definitions/timer.ts';
import type { Execution } from './execution.ts';
import { ROOT_KEY, type ElementInstance } from './state.ts';

/** Event subprocesses directly inside a scope (the process, or an embedded subprocess instance). */
export function eventSubprocessesOf(x: Execution, scope: ElementInstance): string[] {
  if (scope.key === ROOT_KEY) return x.graph.eventSubprocesses ?? [];
  const element = x.element(scope);
  if (scope.loop || element.type !== 'subProcess') return [];
  return element.eventSubprocesses ?? [];
}

/** Opens the timers and message subscriptions of a scope's event subprocesses (their waits belong to the scope). */
export function openEventSubprocesses(x: Execution, scope: ElementInstance): void {
  const starts = eventSubprocessesOf(x, scope).map((id) => startEventOf(x.graph, id));
  openTimers(
    x,
    scope,
    starts.filter((start) => start.eventKind === 'timer'),
  );
  for (const start of starts) if (start.eventKind === 'message') openSubscription(x, scope, start);
}

/**
 * Starts an event subprocess in `scope`; an interrupting one first terminates everything else in the
 * scope, and starts once those terminations ended (canceling task listeners may hold some).
 */
export function triggerEventSubprocess(
  x: Execution,
  scope: ElementInstance,
  start: StartEvent,
  variables?: Variables,
): void {
  if (start.interrupting !== false) {
    x.terminateChildren(scope.key);
    scope.interrupted = true;
    // The scope's own boundary timers stay; only event subprocess timers end.
    for (const timerKey of scope.timerKeys ?? []) {
      const timer = x.state.timers[timerKey];
      if (timer && x.graph.elements[timer.elementId]!.type === 'startEvent') {
        delete x.state.timers[timerKey];
        x.effects.push({ type: 'timer.cancel', timerKey });
      }
    }
    scope.timerKeys = scope.timerKeys?.filter((k) => x.state.timers[k]);
    if (Object.values(x.state.elements).some((e) => e.flowScopeKey === scope.key && e.key !== scope.key)) {
      scope.afterChildren = { startEventId: start.id, variables: variables ?? {} };
      return;
    }
  }
  startEventSubprocess(x, scope, start, variables);
}

/** The event subprocess of `start` begins in `scope` (its start listeners first). */
export function startEventSubprocess(
  x: Execution,
  scope: ElementInstance,
  start: StartEvent,
  variables?: Variables,
): void {
  const eventSubprocess = x.graph.elements[start.parentId!]!;
  scope.tokens! += 1;
  const ei = x.activate(eventSubprocess, scope.key);
  if (x.state.elements[ei.key] && ei.tokens !== undefined && !ei.incident) {
    x.enqueue({ elementId: start.id, flowScopeKey: ei.key, trigger: variables ?? {} });
  } else if (x.state.elements[ei.key] && ei.wait === 'listener') {
    // Its start listeners run first; the subprocess behaviour triggers the start event after them.
    ei.eventTrigger = variables ?? {};
  }
}
