/**
 * ProcessGraph: the plain, typed, JSON-serializable form of one executable BPMN process.
 *
 * Produced once at deploy time by `parseDefinitions` (engine/model/index.ts), stored as jsonb by the
 * store and handed to the pure runtime on every step. Nothing downstream touches moddle objects.
 */

import type { VariableSpec } from './typed-variables.ts';
import type { ProcessJobLimits } from './job-limits.ts';

/** Element kinds the runtime executes (the BPMN XML local name of the element). */
export type ElementType =
  | 'startEvent'
  | 'endEvent'
  | 'intermediateCatchEvent'
  | 'intermediateThrowEvent'
  | 'boundaryEvent'
  | 'task'
  | 'manualTask'
  | 'serviceTask'
  | 'sendTask'
  | 'businessRuleTask'
  | 'userTask'
  | 'receiveTask'
  | 'scriptTask'
  | 'exclusiveGateway'
  | 'inclusiveGateway'
  | 'eventBasedGateway'
  | 'parallelGateway'
  | 'subProcess'
  | 'callActivity';

/** The event definition of an event element; 'none' when it has none. */
export type EventKind =
  | 'none'
  | 'message'
  | 'timer'
  | 'error'
  | 'escalation'
  | 'terminate'
  | 'link'
  | 'signal'
  | 'compensation';

/** A timer definition; `expression` is the raw text (ISO 8601, or FEEL when it starts with `=`). */
export interface TimerDefinition {
  kind: 'duration' | 'date' | 'cycle';
  expression: string;
}

/** One zeebe:ioMapping entry: `target` is a variable name (or dotted path), `source` a FEEL expression (without the leading `=`). */
export interface VariableMapping {
  source: string;
  target: string;
}

/** What a job-creating element needs: the zeebe:taskDefinition and zeebe:taskHeaders. */
export interface JobDefinition {
  /** zeebe:taskDefinition type (e.g. `bot:credit-bureau`, `noop`); FEEL (`=...`) is kept as written. */
  taskType: string;
  /** zeebe:taskDefinition retries; 3 when absent (and the fallback when `retriesExpression` gives no number). */
  retries: number;
  /** retries written as FEEL (`=...`, without the `=`), evaluated when the job is created. */
  retriesExpression?: string;
  headers: Record<string, string>;
}

/**
 * One `zeebe:executionListener` (or `zeebe:taskListener`): a job of `type` the element waits for.
 * `type` may be FEEL (`=...`, kept as written); `retries` as for a job task.
 */
export interface ListenerDefinition {
  type: string;
  retries: number;
  retriesExpression?: string;
  headers?: Record<string, string>;
}

/** `zeebe:executionListeners` of an element or of the process, in document order per event type. */
export interface ExecutionListeners {
  /** Run before the element is activated (after its input mappings). */
  start?: ListenerDefinition[];
  /** Run after the element completed (after its output mappings), before it leaves. */
  end?: ListenerDefinition[];
}

/** User task scheduling and assignment (zeebe:assignmentDefinition, zeebe:taskSchedule, zeebe:priorityDefinition). */
export interface UserTaskDefinition {
  /** Literal or FEEL (`=...`, kept as written). */
  assignee?: string;
  /** A literal list, or one FEEL expression (`=...`) giving a list or a comma-separated string. */
  candidateGroups?: string[];
  candidateUsers?: string[];
  formKey?: string;
  /** ISO 8601 date-time, or FEEL (`=...`) giving one. */
  dueDate?: string;
  followUpDate?: string;
  /** A whole number 0..100 (Camunda 8's range, default 50), or FEEL (`=...`). */
  priority?: string;
  /** `zeebe:taskListeners` eventType "creating": jobs that run before the task is offered. */
  creatingListeners?: ListenerDefinition[];
  /** `zeebe:taskListeners` eventType "assigning": jobs that run, in order, before a requested assignment takes effect. */
  assigningListeners?: ListenerDefinition[];
  /** `zeebe:taskListeners` eventType "updating": jobs that run, in order, before a requested update takes effect. */
  updatingListeners?: ListenerDefinition[];
  /** `zeebe:taskListeners` eventType "completing": jobs that run, in order, before a requested completion takes effect. */
  completingListeners?: ListenerDefinition[];
  /** `zeebe:taskListeners` eventType "canceling": jobs that run, in order, when the task is terminated, before its element ends. */
  cancelingListeners?: ListenerDefinition[];
  /** `operon:fourEyes` = "true": completed neither by the instance's starter nor by an earlier completer of its user tasks. */
  fourEyes?: true;
}

export interface MessageDefinition {
  /** Message name (FEEL `=...` names are kept as written and evaluated at activation). */
  name: string;
  /** zeebe:subscription correlationKey: FEEL expression without the leading `=` (absent on start events). */
  correlationKey?: string;
}

/** zeebe:loopCharacteristics of a multi-instance activity; FEEL expressions without the leading `=`. */
export interface MultiInstanceDefinition {
  sequential: boolean;
  /** FEEL giving the list to iterate over: one inner instance per item. */
  inputCollection: string;
  /** Local variable of each inner instance holding its item. */
  inputElement?: string;
  /** Variable that receives the list of every inner instance's `outputElement`, in item order. */
  outputCollection?: string;
  outputElement?: string;
  /** FEEL: when true after an inner instance completes, the others are terminated and the activity completes. */
  completionCondition?: string;
}

export interface FlowElement {
  id: string;
  type: ElementType;
  name?: string;
  /** Id of the enclosing embedded subprocess; undefined at the process level. */
  parentId?: string;
  /** Incoming / outgoing sequence flow ids, in document order. */
  incoming: string[];
  outgoing: string[];
  /** Events: which event definition. */
  eventKind?: EventKind;
  /** Exclusive gateway / activity default flow id. */
  defaultFlow?: string;
  /** Boundary event ids attached to this activity. */
  boundaryEvents?: string[];
  /** Boundary events: the host activity id, and whether it interrupts the host. */
  attachedTo?: string;
  cancelActivity?: boolean;
  /** Service / send / business-rule tasks. */
  job?: JobDefinition;
  /** Message start, receive task, intermediate message catch, message boundary. */
  message?: MessageDefinition;
  /** Timer start, intermediate timer catch, timer boundary. */
  timer?: TimerDefinition;
  /** Error end event (thrown code) and error boundary (caught code; undefined = catch all). */
  errorCode?: string;
  /** Escalation throw events (thrown code) and escalation catch events (caught code; undefined = catch all). */
  escalationCode?: string;
  /** Link events: the link name; on a throw link, the id of the catch link it jumps to. */
  link?: { name: string; targetId?: string };
  /** Script task (zeebe:script): FEEL expression without leading `=`, and the variable that receives its result. */
  script?: { expression: string; resultVariable: string };
  /** Business rule task (zeebe:calledDecision): the DMN decision id (FEEL when it starts with `=`) and the variable that receives its result. */
  calledDecision?: { decisionId: string; resultVariable: string; versionTag?: string };
  /** User task (zeebe:assignmentDefinition / zeebe:formDefinition / zeebe:taskSchedule / zeebe:priorityDefinition). */
  userTask?: UserTaskDefinition;
  /** zeebe:executionListeners (not on multi-instance bodies: each inner instance runs them). */
  listeners?: ExecutionListeners;
  /** zeebe:properties (name -> value), handed to the element's jobs and shown by the API. */
  properties?: Record<string, string>;
  /** `operon:maxConcurrent` on a task: at most this many of its jobs run at once (model/job-limits.ts). */
  maxConcurrent?: number;
  /**
   * Compensation. On a compensation boundary event: the handler activity it is associated with
   * (bpmn:association). On the activity it is attached to: the same handler id, copied by validation.
   */
  compensationHandler?: string;
  /** A compensation handler (`isForCompensation="true"`): runs only when its activity is compensated. */
  isForCompensation?: true;
  /** Compensation throw / end event with an `activityRef`: compensate only that activity (otherwise the whole scope). */
  compensateActivity?: string;
  /** Multi-instance activity (its ioMapping applies to each inner instance). */
  multiInstance?: MultiInstanceDefinition;
  /**
   * Signal events. A catching one (start, intermediate catch, boundary) is a message wait on `signal:<name>` with
   * a fixed correlation key, so a broadcast reaches every open subscription of that name; a throwing one has
   * eventKind 'signal' and broadcasts.
   */
  signal?: { name: string };
  /** Call activity (zeebe:calledElement): the process to start (FEEL when it starts with `=`) and which variables cross. */
  calledElement?: {
    processId: string;
    propagateAllParentVariables: boolean;
    propagateAllChildVariables: boolean;
    versionTag?: string;
  };
  /** zeebe:ioMapping. */
  inputs?: VariableMapping[];
  outputs?: VariableMapping[];
  /** Embedded or event subprocess: its start event. */
  startEventId?: string;
  /** Event subprocess (triggered by its error, message or timer start event, not by a sequence flow). */
  triggeredByEvent?: boolean;
  /** Start event of an event subprocess: does it interrupt its scope? */
  interrupting?: boolean;
  /** Embedded subprocess: the event subprocesses directly inside it. */
  eventSubprocesses?: string[];
  /** A process's none or message start event: the start variables it declares (`operon:input:<name>` properties). */
  startVariables?: Record<string, VariableSpec>;
}

export interface SequenceFlow {
  id: string;
  sourceId: string;
  targetId: string;
  name?: string;
  /** FEEL condition without the leading `=`; only on exclusive and inclusive gateways' outgoing flows. */
  condition?: string;
}

export interface StartEventInfo {
  elementId: string;
  kind: 'none' | 'message' | 'timer';
  messageName?: string;
  timer?: TimerDefinition;
  /** Declared start variables, checked before an instance is created (engine/model/start-variables.ts). */
  variables?: Record<string, VariableSpec>;
}

export interface ServiceTaskInfo {
  elementId: string;
  taskType: string;
  retries: number;
  headers: Record<string, string>;
  /** Set for a listener's job: which kind of listener (its node is bound like a task's). */
  listener?: ListenerEventType;
}

/** The task listener events Operon runs (zeebe:taskListener eventType, Camunda 8.8 names). */
export type TaskListenerEvent = 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling';
/** What a listener's job is for: an execution listener's start / end, or a task listener's event. */
export type ListenerEventType = 'start' | 'end' | TaskListenerEvent;

/** One executable process, ready for the runtime. Plain JSON: safe to store as jsonb and reload. */
export interface ProcessGraph {
  /** Format version of this structure, so stored graphs can be migrated. */
  graphVersion: 1;
  bpmnProcessId: string;
  name?: string;
  /** `zeebe:versionTag` of the process: call activities with `bindingType="versionTag"` pin it. */
  versionTag?: string;
  /** Time to live of ended instances (`operon:retention`, an ISO 8601 duration such as P30D); none: the default. */
  retention?: string;
  /** Top-level start events (the process's own, not those inside subprocesses). */
  startEvents: StartEventInfo[];
  /** Every element that creates a job (service, send, business-rule tasks), for deploy-time node validation. */
  serviceTasks: ServiceTaskInfo[];
  /** Every flow element of the process (including nested ones) by id. */
  elements: Record<string, FlowElement>;
  flows: Record<string, SequenceFlow>;
  /** Event subprocesses at the process level. */
  eventSubprocesses?: string[];
  /** zeebe:properties of the process (name -> value), handed to the process's own listener jobs. */
  properties?: Record<string, string>;
  /** `operon:maxConcurrent` and `operon:capacity` of the process: how many of its jobs run at once (model/job-limits.ts). */
  jobLimits?: ProcessJobLimits;
  /** zeebe:executionListeners of the process: start before its start event, end when it completes. */
  listeners?: ExecutionListeners;
}
