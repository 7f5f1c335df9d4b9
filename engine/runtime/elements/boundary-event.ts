/**
 * Boundary events. Their waits belong to the host's element instance: timers and message
 * subscriptions open with the host and close with it; errors and escalations are caught when thrown
 * (definitions/error.ts). When one happens, an interrupting boundary event terminates the host
 * first; the boundary event's instance then completes at once and its token continues in the
 * host's scope.
 */
import { boundaryEventsOf, type BoundaryEvent, type FlowElement } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import type { Execution } from '../execution.ts';
import { ROOT_KEY, type ElementInstance, type TimerWait } from '../state.ts';
import { messageNameOf, openSubscription } from './definitions/message.ts';
import { openTimers, scheduleNextCycle } from './definitions/timer.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

/** The instance is created already triggered (`triggerBoundary`): it completes as it activates, with nothing of its own to do. */
export const boundaryEvent: ElementKind<BoundaryEvent> = {
  activate() {},
  // Its timers and subscriptions are its host's: they close with the host (closeTimers, closeSubscriptions).
  closeWaits: opensNoWait,
};

/** The boundary events of an element instance; an inner instance of a multi-instance activity has none (its body has them). */
export function boundaryEventsOfInstance(x: Execution, host: ElementInstance): BoundaryEvent[] {
  if (host.key === ROOT_KEY || host.loopIndex !== undefined) return [];
  return boundaryEventsOf(x.element(host)).map((id) => x.graph.elements[id] as BoundaryEvent);
}

/** Opens the timers, then the message subscriptions, of the host's boundary events. */
export function openBoundaryEvents(x: Execution, host: ElementInstance, element: FlowElement): void {
  const boundaries = boundaryEventsOf(element).map((id) => x.graph.elements[id] as BoundaryEvent);
  host.timerKeys ??= [];
  openTimers(
    x,
    host,
    boundaries.filter((b) => b.eventKind === 'timer'),
  );
  for (const boundary of boundaries) if (boundary.eventKind === 'message') openSubscription(x, host, boundary);
}

/** A boundary event of `host` happened. */
export function triggerBoundary(
  x: Execution,
  host: ElementInstance,
  boundary: BoundaryEvent,
  variables?: Variables,
): void {
  const scopeKey = host.flowScopeKey;
  x.state.elements[scopeKey]!.tokens! += 1;
  if (boundary.cancelActivity && !x.terminate(host)) {
    // Canceling listeners hold the host's termination: the boundary event starts once it ended.
    host.afterTermination = { boundaryId: boundary.id, variables: variables ?? {} };
    return;
  }
  x.activate(boundary, scopeKey, variables ?? {});
}

/** A boundary timer of `host` fired; a repeating non-interrupting one is scheduled again first. */
export function boundaryTimerFired(
  x: Execution,
  host: ElementInstance,
  boundary: BoundaryEvent,
  timer: TimerWait,
): void {
  if (!boundary.cancelActivity && timer.cycle) scheduleNextCycle(x, host, boundary, timer.cycle);
  triggerBoundary(x, host, boundary);
}

/** A message correlated to `host`: true when one of its message boundary events took it. */
export function boundaryMessage(
  x: Execution,
  host: ElementInstance,
  messageName: string,
  variables: Variables | undefined,
): boolean {
  if (!host.subscribed) return false;
  for (const boundary of boundaryEventsOfInstance(x, host)) {
    if (boundary.eventKind === 'message' && messageNameOf(x, host, boundary) === messageName) {
      triggerBoundary(x, host, boundary, variables);
      return true;
    }
  }
  return false;
}
