/**
 * The contract between the core (execution.ts: the token agenda, scopes, input and output mappings,
 * listeners, incidents) and one element kind. The core owns the lifecycle every element shares; a
 * kind supplies what is its own: its work once active, the events it reacts to while it waits, and
 * how that wait closes when the element completes or is terminated.
 */
import type { FlowElement, ListenerDefinition } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import type { Execution } from '../execution.ts';
import type { UserTaskChange } from '../contract.ts';
import type { ElementInstance, IncidentPhase, ListenerEvent } from '../state.ts';

export interface ElementKind<E extends FlowElement = FlowElement> {
  /**
   * A wrapper around inner instances of the same element (the multi-instance body): the inner
   * instances run the element's mappings, listeners and kind; the wrapper runs none of them.
   */
  readonly wrapsInner?: true;
  /** The element type its instances report (`element.activated`); the element's own by default. */
  readonly instanceType?: string;
  /**
   * The kind's own work, once the instance is active (after input mappings, start listeners and
   * boundary events): complete at once (`x.complete`), or open what it waits on.
   */
  activate(x: Execution, ei: ElementInstance, element: E): void;
  /**
   * Cancels what the kind's own work waits on (its job, user task, child instance) as the instance
   * completes, is terminated, or its activation is retried. Every kind says it, `opensNoWait` when
   * it has none. The core closes the rest: a listener's job, and the instance's timers and message
   * subscriptions (its own catch, its boundary events', its event subprocesses'), through the event
   * definitions (`closeTimers`, `closeSubscriptions`).
   */
  closeWaits(x: Execution, ei: ElementInstance, element: E): void;
  /**
   * The instance is being terminated, its waits still open: true when the kind holds the
   * termination until its own work for it ran (a user task with canceling listeners, as in Zeebe).
   * Its own wait then stays open (the core closes the others), the core marks it `terminating` and
   * calls `holdTermination`; the kind ends the termination with `x.finishTermination`.
   */
  holdsTermination?(ei: ElementInstance, element: E): boolean;
  /** Starts what holds the termination (the canceling listeners' jobs), once the instance is `terminating`. */
  holdTermination?(x: Execution, ei: ElementInstance, element: E): void;
  /**
   * The element's listeners of the kind's own listener events (a user task's task listeners). The
   * core runs their jobs as it runs execution listeners (start, end), which are its own.
   */
  listeners?(element: E, event: ListenerEvent): ListenerDefinition[];
  /**
   * A listener job of one of the kind's own listener events completed (`answer`: what a task
   * listener's job result says about the task): the kind goes on. Returns why the result is refused.
   */
  listenerCompleted?(
    x: Execution,
    ei: ElementInstance,
    element: E,
    variables: Variables | undefined,
    answer: { denied?: { reason?: string }; corrections?: UserTaskChange },
  ): string | undefined;
  /** The phase an incident of a listener job of one of the kind's own events stops (resolving it runs that listener again). */
  listenerPhase?(event: ListenerEvent): IncidentPhase;
  /**
   * An incident of the instance was resolved: true when the kind went on with its own work (the
   * listeners of its own events); otherwise the core retries the phase the incident stopped.
   */
  resume?(x: Execution, ei: ElementInstance, element: E): boolean;
  /** How the completing instance's result reaches its scope, in place of the element's output mappings. */
  completeResult?(x: Execution, ei: ElementInstance, element: E, result: Variables | undefined): void;
  /** Starts the wrapper's next inner instance (a token queued by `scopeEmptied` or by `activate`). */
  startInner?(x: Execution, wrapper: ElementInstance, element: E): void;
  /**
   * One of the wrapper's inner instances completed with `result` (after its end listeners, before it
   * is removed). Its token then goes back to the wrapper, not over sequence flows.
   */
  innerCompleted?(x: Execution, wrapper: ElementInstance, inner: ElementInstance, element: E, result?: Variables): void;
  /** After an inner instance was removed: true when the wrapper is done and its other inner instances end. */
  innerLeft?(x: Execution, wrapper: ElementInstance): boolean;
  /** The instance, a scope, has no token left: true when it went on (a next inner instance) instead of completing. */
  scopeEmptied?(x: Execution, scope: ElementInstance, element: E): boolean;
  /** A message was correlated to the instance: true when its own wait took it (not a boundary's or event subprocess's). */
  onMessage?(x: Execution, ei: ElementInstance, element: E, messageName: string, variables?: Variables): boolean;
  /** A timer the instance scheduled for its own wait fired (`timerElementId`: the timer event). */
  onTimer?(x: Execution, ei: ElementInstance, element: E, timerElementId: string): void;
  /** The child instance of the element (a call activity) completed, or ended with a BPMN error. */
  onChildInstance?(
    x: Execution,
    ei: ElementInstance,
    element: E,
    outcome: { completed: Variables | undefined } | { errorCode: string; errorMessage?: string },
  ): void;
}

/** `closeWaits` of a kind whose work opens no wait of its own (or only timers and subscriptions, which the core closes). */
export function opensNoWait(): void {}
