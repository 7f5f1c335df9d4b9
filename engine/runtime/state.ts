/**
 * The runtime's snapshot: plain JSON, stored by drivers as jsonb and handed back unchanged.
 */
import type { UserTaskChange } from './contract.ts';
import type { Variables } from '../nodes/types.ts';
import type { ElementLifecycle, InstanceLifecycle } from './lifecycle.ts';

/** Key of the process instance's own scope (root variables, top-level tokens). */
export const ROOT_KEY = '0';

/** What an active element instance is waiting for (if anything). */
export type Wait = 'job' | 'userTask' | 'message' | 'timer' | 'event' | 'childInstance' | 'compensation' | 'listener';

/** Which listener event an element instance is running: execution start / end, or one of the user task's task listener events. */
export type ListenerEvent = 'start' | 'end' | 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling';

/** The phase of an element instance an incident stopped; resolving the incident retries it. */
export type IncidentPhase = 'activate' | 'complete' | 'error' | 'terminate';

/**
 * A completed activity that can still be compensated, kept by the scope it completed in, in order
 * of completion. An activity with a compensation boundary event names its `handlerId`; a completed
 * subprocess (or multi-instance body) without one keeps the records of its own inner activities.
 */
export interface CompensableActivity {
  elementId: string;
  handlerId?: string;
  inner?: CompensableActivity[];
  /** The activity's local variables when it completed (input mappings, subprocess locals, loop item); its handler starts with them. */
  variables?: Variables;
}

/** A handler still to run for a compensation throw or end event. */
export interface CompensationTask {
  handlerId: string;
  variables?: Variables;
}

export interface ElementInstance {
  key: string;
  elementId: string;
  /** Element instance key of the enclosing scope (subprocess instance, or ROOT_KEY). */
  flowScopeKey: string;
  lifecycle: ElementLifecycle;
  /** Local variables (input mappings, subprocess locals, result variables awaiting output mappings). */
  variables?: Variables;
  /** Scopes (root, subprocess): tokens inside: child element instances + tokens in flight + tokens waiting at joins. */
  tokens?: number;
  wait?: Wait;
  /** Timer keys owned by this element instance (its own catch timer, its boundary timers). */
  timerKeys?: string[];
  /** True while message subscriptions (own or boundary) are open. */
  subscribed?: boolean;
  /** Scopes: an interrupting event subprocess runs here; the scope's other event subprocesses no longer start. */
  interrupted?: boolean;
  /** Multi-instance body: the items, how many inner instances were started, and whether the completion condition held. */
  loop?: { items: unknown[]; next: number; completed: number; done?: boolean };
  /** Inner instance of a multi-instance activity: the index of its item. */
  loopIndex?: number;
  /** Set on a catch event that was triggered before its activation (boundary event, event-based gateway target): it completes at once with these variables. */
  trigger?: Variables;
  /** Scopes: completed activities of this scope that can be compensated, in order of completion. */
  compensable?: CompensableActivity[];
  /** A compensation throw or end event waiting for its handlers: the scope they run in and the handlers still to run, in order. */
  compensation?: { scopeKey: string; pending: CompensationTask[] };
  /** A compensation handler instance: the key of the throw or end event that started it. */
  compensates?: string;
  /**
   * Listener jobs in progress: the event and the index of the listener whose job runs (wait
   * 'listener'), or runs next. The process instance's start listeners also keep its start event.
   */
  listener?: { event: ListenerEvent; index: number; startEventId?: string };
  /** An event subprocess whose start listeners run: the variables its start event is triggered with afterwards. */
  eventTrigger?: Variables;
  /** A user task whose completing listeners run: the variables it was completed with (and those its listeners added). */
  completion?: Variables;
  /**
   * A user task whose assigning or updating listeners run: the requested change (with the
   * listeners' corrections so far) and the task's fields before it, for the listener jobs.
   */
  change?: { fields: UserTaskChange; task: UserTaskChange & { id?: string } };
  /**
   * An interrupted host whose termination canceling task listeners hold (the user task itself, or a
   * scope with such a task inside): the interrupting boundary event that starts once it has ended.
   */
  afterTermination?: { boundaryId: string; variables: Variables };
  /**
   * A scope an interrupting event subprocess interrupted while canceling task listeners hold the
   * termination of some of its children: the event subprocess starts once the last of them ended.
   */
  afterChildren?: { startEventId: string; variables: Variables };
  /** An inner multi-instance instance whose end listeners run: its result, for the output element afterwards. */
  innerResult?: Variables;
  /** Open incident raised by the runtime itself. */
  incident?: { code: string; phase: IncidentPhase; errorCode?: string; errorMessage?: string; result?: Variables };
}

export interface TimerWait {
  /** The element instance that owns the timer (catch event, or the boundary's host). */
  ownerKey: string;
  /** The catch event or boundary event id. */
  elementId: string;
  /** Remaining cycle (`R2/PT1M`) for repeating non-interrupting boundary timers. */
  cycle?: string;
}

export interface RuntimeState {
  __runtimeSnapshot: true;
  /** Snapshot format version. */
  v: 1;
  instanceId: string;
  bpmnProcessId: string;
  lifecycle: InstanceLifecycle;
  /** Last element instance key handed out (keys are deterministic). */
  seq: number;
  /** Active element instances by key, including the process itself under ROOT_KEY. */
  elements: Record<string, ElementInstance>;
  /** Tokens waiting at parallel and inclusive joins: `${flowScopeKey}|${gatewayId}` -> incoming flow id -> count. */
  joins: Record<string, Record<string, number>>;
  timers: Record<string, TimerWait>;
}
