/**
 * The contract between the pure runtime (engine/runtime) and everything that drives it (the
 * PostgreSQL store + workers in engine/store and engine/jobs, and the in-memory driver).
 *
 * A step is pure: `(graph, snapshot, event) -> { snapshot, effects }`. The driver persists the new
 * snapshot and the effects in ONE transaction (outbox style), and only then runs effects that touch
 * the outside world (node calls happen later, when a worker claims the job row).
 *
 * Everything here is plain JSON-serializable data. Element instance keys are deterministic
 * (a per-instance sequence number kept in the snapshot), so a replay from a restored snapshot
 * produces the same keys and history as an uninterrupted run.
 */
import type { Variables } from '../nodes/types.ts';
import type { FeelSession } from '../feel/index.ts';
import type { DmnModel, EvaluatedDecision } from '../dmn/index.ts';
import type { JobLimits } from '../model/job-limits.ts';

/** Opaque to drivers: stored as jsonb in `process_instances.snapshot`, handed back unchanged. */
export type InstanceSnapshot = { readonly __runtimeSnapshot: true } & Record<string, unknown>;

export type InstanceState = 'active' | 'completed' | 'terminated';
export type ElementInstanceState = 'active' | 'completed' | 'terminated';

/** Where a wait belongs: the element instance that waits (a task, a catch event, a boundary event's host...). */
export interface ElementRef {
  /** Unique within the process instance (e.g. "7"). */
  elementInstanceKey: string;
  /** BPMN element id from the model. */
  elementId: string;
}

/** Which change of an open user task its listeners hold: an assignment or an update. */
export type UserTaskChangeEvent = 'assigning' | 'updating';

/**
 * Fields of a user task an assignment or update sets, and a listener job's `corrections` (Camunda
 * 8.8 job result). Dates are ISO 8601; `null` clears a field; an absent field stays as it is.
 */
export interface UserTaskChange {
  assignee?: string | null;
  candidateUsers?: string[];
  candidateGroups?: string[];
  dueDate?: string | null;
  followUpDate?: string | null;
  priority?: number;
}

/** Events fed into `step`. */
export type RuntimeEvent =
  /**
   * `denied`: a completing, assigning or updating task listener's job rejected the user task's
   * completion, assignment or update (a canceling listener's job cannot deny: the event is
   * ignored); `corrections`: an assigning or updating listener's job corrects the change (job
   * result, Camunda 8.8).
   */
  | {
      type: 'job.completed';
      elementInstanceKey: string;
      variables?: Variables;
      denied?: { reason?: string };
      corrections?: UserTaskChange;
    }
  /** A node threw a BpmnError: routed to an error boundary / event subprocess, or an incident. */
  | {
      type: 'job.bpmnError';
      elementInstanceKey: string;
      errorCode: string;
      errorMessage?: string;
      variables?: Variables;
    }
  | { type: 'userTask.completed'; elementInstanceKey: string; variables?: Variables }
  /**
   * An assignment (`assigning`) or update (`updating`) of an open user task was requested and the
   * task has listeners for it: their jobs run before `change` takes effect. `task`: the task's
   * fields now (its id included), handed to the listener jobs.
   */
  | {
      type: 'userTask.changeRequested';
      elementInstanceKey: string;
      event: UserTaskChangeEvent;
      change: UserTaskChange;
      task: UserTaskChange & { id?: string };
    }
  /** A message correlated to an open subscription of this instance. */
  | { type: 'message.correlated'; elementInstanceKey: string; messageName: string; variables?: Variables }
  /** A timer row came due. `timerKey` is the key the runtime gave in `timer.schedule`. */
  | { type: 'timer.fired'; timerKey: string }
  /** Operator resolved an incident raised by the runtime itself (e.g. a gateway condition): retry that element. */
  | { type: 'incident.resolved'; elementInstanceKey: string; variables?: Variables }
  /** The child instance a call activity started (`childInstance.start`) completed; `variables` are its root variables. */
  | { type: 'childInstance.completed'; elementInstanceKey: string; variables?: Variables }
  /**
   * A BPMN error nobody caught inside the child instance: thrown again at the call activity (as in
   * Camunda 8). Caught there, the call activity is left (and the child cancelled); uncaught, the call
   * activity gets the incident, its child is cancelled, and resolving the incident calls the process again.
   */
  | { type: 'childInstance.bpmnError'; elementInstanceKey: string; errorCode: string; errorMessage?: string }
  /**
   * Operator moved tokens: `activate` puts a new token on each element id (in the process, or in the
   * one active instance of its enclosing subprocess), then `terminate` ends each element instance key.
   * A scope left without tokens completes. Refused (ignored, with the reason) when an id or key is unknown.
   */
  | { type: 'instance.modify'; activate?: string[]; terminate?: string[] }
  /** Operator cancelled the instance: every active element is terminated, waits are cancelled. */
  | { type: 'instance.cancel' };

/** Effects returned by `start` / `step`; the driver persists all of them with the snapshot. */
export type Effect =
  | {
      type: 'element.activated';
      elementInstanceKey: string;
      elementId: string;
      elementType: string;
      elementName?: string;
      parentKey?: string;
      flowScopeKey?: string;
    }
  | { type: 'element.completed'; elementInstanceKey: string; elementId: string }
  | { type: 'element.terminated'; elementInstanceKey: string; elementId: string }
  /** A sequence flow was taken (history only). */
  | { type: 'flow.taken'; flowId: string; sourceKey: string }
  /** Create a job for a service-like task; `input` is every variable visible at the element, its input mappings included (as Camunda 8 hands a job all variables). */
  | {
      type: 'job.create';
      elementInstanceKey: string;
      elementId: string;
      taskType: string;
      retries: number;
      headers: Record<string, string>;
      input: Variables;
      /** A listener's job (zeebe:executionListener start / end, or a zeebe:taskListener's event), not the element's own. */
      listener?: 'start' | 'end' | 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling';
      /** zeebe:properties of the element. */
      properties?: Record<string, string>;
      /** The concurrency limits the job is under (`operon:maxConcurrent`, `operon:capacity`; model/job-limits.ts). */
      limits?: JobLimits;
    }
  | { type: 'job.cancel'; elementInstanceKey: string }
  | {
      type: 'userTask.create';
      elementInstanceKey: string;
      elementId: string;
      name?: string;
      assignee?: string;
      candidateGroups?: string[];
      candidateUsers?: string[];
      formKey?: string;
      /** ISO 8601 timestamps (zeebe:taskSchedule), evaluated when the task is created. */
      dueDate?: string;
      followUpDate?: string;
      /** 0..100 (zeebe:priorityDefinition); 50 when the model sets none, as in Camunda 8. */
      priority: number;
      /** zeebe:properties of the element. */
      properties?: Record<string, string>;
      input: Variables;
      /** `assigning`: created without its assignee, which its assigning listeners' jobs hold (Zeebe's order). */
      state?: 'assigning';
    }
  | { type: 'userTask.cancel'; elementInstanceKey: string }
  /** The task's element is being terminated and its canceling listeners' jobs run first: the task is `canceling` until `userTask.cancel`. */
  | { type: 'userTask.canceling'; elementInstanceKey: string }
  /** A completion held by completing listeners takes effect: the task (state completing) becomes completed. */
  | { type: 'userTask.completed'; elementInstanceKey: string }
  /** A completing listener's job denied the completion: the task (state completing) is open again. */
  | { type: 'userTask.denied'; elementInstanceKey: string; reason?: string }
  /** An assignment or update held by its listeners takes effect (with their corrections): the task is open again with `change` applied. */
  | { type: 'userTask.changed'; elementInstanceKey: string; event: UserTaskChangeEvent; change: UserTaskChange }
  /** An assigning or updating listener's job denied the change: the task is open again, unchanged. */
  | { type: 'userTask.changeDenied'; elementInstanceKey: string; event: UserTaskChangeEvent; reason?: string }
  /**
   * `dueAt` is an ISO 8601 timestamp computed from `now`; `cycle` carries a remaining R/PT spec for
   * repeating timers. `elementId` is the timer event (catch, boundary or event subprocess start);
   * `elementInstanceKey` the element instance that owns the wait.
   */
  | {
      type: 'timer.schedule';
      timerKey: string;
      elementInstanceKey: string;
      elementId: string;
      dueAt: string;
      cycle?: string;
    }
  | { type: 'timer.cancel'; timerKey: string }
  /**
   * `elementInstanceKey` is the element instance that waits: a receive task / catch event, a task
   * with message boundary events, an event-based gateway, or a scope (`"0"` = the process) with
   * message event subprocesses; one key may hold several subscriptions (told apart by
   * `messageName`, and `elementId` names the catching event). Correlate with `message.correlated`
   * on that key and message name.
   */
  | {
      type: 'subscription.open';
      elementInstanceKey: string;
      elementId: string;
      messageName: string;
      correlationKey: string;
    }
  /**
   * A signal throw or end event: every open subscription named `signal:<signalName>` (in any
   * instance, and signal start events) receives `message.correlated` with `variables` (the throw
   * event's input mappings). Drivers deliver it to each receiver in the receiver's own step.
   */
  | {
      type: 'signal.broadcast';
      elementInstanceKey: string;
      elementId: string;
      signalName: string;
      variables: Variables;
    }
  /** Closes every subscription of that element instance key. */
  | { type: 'subscription.close'; elementInstanceKey: string }
  /** A call activity starts an instance of `bpmnProcessId` (latest version) with `variables`; report its end as `childInstance.completed`. */
  /** `versionTag`: start the latest version carrying that `zeebe:versionTag` (bindingType="versionTag"); otherwise the latest version. */
  | {
      type: 'childInstance.start';
      elementInstanceKey: string;
      elementId: string;
      bpmnProcessId: string;
      versionTag?: string;
      variables: Variables;
    }
  /** The call activity was terminated: cancel its child instance. */
  | { type: 'childInstance.cancel'; elementInstanceKey: string }
  /** The runtime itself hit an error it cannot route (bad condition, uncaught BPMN error...). */
  /** A business rule task evaluated a DMN decision (zeebe:calledDecision); one decision_evaluations row. */
  | {
      type: 'decision.evaluated';
      elementInstanceKey: string;
      elementId: string;
      decisionDefinitionId: string;
      decisionId: string;
      version: number;
      inputs: Record<string, unknown>;
      matchedRuleIds: string[];
      output: unknown;
      evaluated: EvaluatedDecision[];
    }
  | {
      type: 'incident.raise';
      elementInstanceKey: string;
      elementId: string;
      code: string;
      message: string;
      details?: Record<string, unknown>;
    }
  | { type: 'incident.resolve'; elementInstanceKey: string }
  | { type: 'instance.completed' }
  | { type: 'instance.terminated' };

export interface StepResult {
  snapshot: InstanceSnapshot;
  effects: Effect[];
  state: InstanceState;
  /** Root-scope variables after the step (what `process_instances.variables` shows). Part of the snapshot: read, don't change. */
  variables: Variables;
  /**
   * Set when the event no longer matched the instance (e.g. a job completed after a boundary timer
   * interrupted its task, or the instance already ended): the snapshot is unchanged and there are no
   * effects. Drivers may report it (409) or drop the event.
   */
  ignored?: string;
}

export interface StepContext {
  /** The clock of the step; timers are computed from it. Never read Date.now() inside the runtime. */
  now: Date;
  /**
   * Most element activations one step may make before its tokens stop with an
   * OPERON_ERR_STEP_LIMIT incident (a loop without wait state). Default 50,000.
   */
  activationLimit?: number;
  /**
   * Shortest interval a timer cycle may repeat at; a cycle expression that evaluates to a shorter one
   * raises an OPERON_ERR_TIMER_CYCLE_TOO_SHORT incident. Default 1 s.
   */
  minCycleIntervalMs?: number;
  /**
   * Most milliseconds of the engine's thread one step may take before its tokens stop with an
   * OPERON_ERR_STEP_LIMIT incident. Default `OPERON_STEP_BUDGET_MS`, 500.
   */
  stepBudgetMs?: number;
  /**
   * The driver's FEEL session (see `settleStep`): expressions that run in the worker then never hold
   * the thread for long. Without one, the step waits for each answer up to its FEEL budget.
   */
  feel?: FeelSession;
  /**
   * The deployed DMN decisions, for business rule tasks with zeebe:calledDecision. Without one, such
   * a task raises an OPERON_ERR_DMN_EVAL incident.
   */
  decisions?: DecisionSource;
}

/** A deployed decision version, parsed. */
export interface LoadedDecision {
  decisionDefinitionId: string;
  decisionId: string;
  version: number;
  model: DmnModel;
}

/**
 * The driver's deployed decisions, read in passes like FEEL answers: `find` answers a loaded
 * decision, null when none is deployed, or undefined when it is not loaded yet (the pass is then
 * abandoned, `settle` loads it, and the step runs again).
 */
export interface DecisionSource {
  /** The newest version of the decision, or the newest carrying `versionTag`. */
  find(decisionId: string, versionTag?: string): LoadedDecision | null | undefined;
  readonly pending: boolean;
  settle(): Promise<void>;
}

export interface StartOptions extends StepContext {
  instanceId: string;
  variables?: Variables;
  /** Which start event fires; the none start event when omitted (message/timer starts name theirs). */
  startEventId?: string;
}
