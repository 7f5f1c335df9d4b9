/**
 * ProcessGraph: the plain, typed, JSON-serializable form of one executable BPMN process.
 *
 * Produced once at deploy time by `parseDefinitions` (engine/model/index.ts), stored as jsonb by the
 * store and handed to the pure runtime on every step. Nothing downstream touches moddle objects.
 */

import type { VariableSpec } from './typed-variables.ts';
import type { ProcessJobLimits } from './job-limits.ts';

/** Element kinds the runtime executes (the BPMN XML local name of the element), one module each in engine/runtime/elements/. */
export const ELEMENT_TYPES = [
  'startEvent',
  'endEvent',
  'intermediateCatchEvent',
  'intermediateThrowEvent',
  'boundaryEvent',
  'task',
  'manualTask',
  'serviceTask',
  'sendTask',
  'businessRuleTask',
  'userTask',
  'receiveTask',
  'scriptTask',
  'exclusiveGateway',
  'inclusiveGateway',
  'eventBasedGateway',
  'parallelGateway',
  'subProcess',
  'callActivity',
] as const;

export type ElementType = (typeof ELEMENT_TYPES)[number];

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

/** Fields every flow element has, whatever its kind. */
export interface ElementBase {
  id: string;
  name?: string;
  /** Id of the enclosing embedded subprocess; undefined at the process level. */
  parentId?: string;
  /** Incoming / outgoing sequence flow ids, in document order. */
  incoming: string[];
  outgoing: string[];
  /** zeebe:executionListeners (not on multi-instance bodies: each inner instance runs them). */
  listeners?: ExecutionListeners;
  /** zeebe:properties (name -> value), handed to the element's jobs and shown by the API. */
  properties?: Record<string, string>;
  /** `operon:maxConcurrent` on a task: at most this many of its jobs run at once (model/job-limits.ts). */
  maxConcurrent?: number;
  /** zeebe:ioMapping. */
  inputs?: VariableMapping[];
  outputs?: VariableMapping[];
}

/** What every activity (task, subprocess, call activity) adds: boundary events, multi-instance, compensation. */
export interface ActivityBase extends ElementBase {
  /** The activity's default flow id. */
  defaultFlow?: string;
  /** Boundary event ids attached to this activity (filled by validation). */
  boundaryEvents?: string[];
  /** Multi-instance activity (its ioMapping applies to each inner instance). */
  multiInstance?: MultiInstanceDefinition;
  /** The handler of its compensation boundary event, copied there by validation. */
  compensationHandler?: string;
  /** A compensation handler (`isForCompensation="true"`): runs only when its activity is compensated. */
  isForCompensation?: true;
}

// ---------------------------------------------------------------- event definitions, composed into events

/** No event definition. */
export interface NoneDefinition {
  eventKind: 'none';
}
/**
 * A message wait (start, intermediate catch, boundary). A catching signal is one too: a message wait on
 * `signal:<name>` with a fixed correlation key, so a broadcast reaches every open subscription of that name.
 */
export interface MessageCatchDefinition {
  eventKind: 'message';
  message: MessageDefinition;
  /** Set when the event catches a signal. */
  signal?: { name: string };
}
/** A message throw event: Camunda 8 runs it as a job, like a send task. */
export interface MessageThrowDefinition {
  eventKind: 'message';
  job: JobDefinition;
}
export interface TimerEventDefinition {
  eventKind: 'timer';
  timer: TimerDefinition;
}
/** A caught error: the code it catches (undefined = every code). */
export interface ErrorCatchDefinition {
  eventKind: 'error';
  errorCode?: string;
}
export interface ErrorThrowDefinition {
  eventKind: 'error';
  errorCode: string;
}
/** A caught escalation: the code it catches (undefined = every code). */
export interface EscalationCatchDefinition {
  eventKind: 'escalation';
  escalationCode?: string;
}
export interface EscalationThrowDefinition {
  eventKind: 'escalation';
  escalationCode: string;
}
/** A signal throw: broadcasts the signal. */
export interface SignalThrowDefinition {
  eventKind: 'signal';
  signal: { name: string };
}
export interface TerminateDefinition {
  eventKind: 'terminate';
}
/** Link events: the link name; on a throw link, the id of the catch link it jumps to (set by validation). */
export interface LinkDefinition {
  eventKind: 'link';
  link: { name: string; targetId?: string };
}
/** Compensation throw / end event; with an `activityRef`, it compensates only that activity (otherwise the whole scope). */
export interface CompensationThrowDefinition {
  eventKind: 'compensation';
  compensateActivity?: string;
}
/** A compensation boundary event: the handler activity it is associated with (bpmn:association). */
export interface CompensationBoundaryDefinition {
  eventKind: 'compensation';
  compensationHandler?: string;
}

// ---------------------------------------------------------------- events

interface StartEventBase extends ElementBase {
  type: 'startEvent';
  /** Start event of an event subprocess: does it interrupt its scope? */
  interrupting?: boolean;
  /** A process's none or message start event: the start variables it declares (`operon:input:<name>` properties). */
  startVariables?: Record<string, VariableSpec>;
}
export type StartEvent = StartEventBase &
  (NoneDefinition | MessageCatchDefinition | TimerEventDefinition | ErrorCatchDefinition | EscalationCatchDefinition);

interface IntermediateCatchEventBase extends ElementBase {
  type: 'intermediateCatchEvent';
}
export type IntermediateCatchEvent = IntermediateCatchEventBase &
  (MessageCatchDefinition | TimerEventDefinition | LinkDefinition);

interface BoundaryEventBase extends ElementBase {
  type: 'boundaryEvent';
  /** The host activity id. */
  attachedTo: string;
  /** Whether it interrupts the host. */
  cancelActivity: boolean;
}
export type BoundaryEvent = BoundaryEventBase &
  (
    | MessageCatchDefinition
    | TimerEventDefinition
    | ErrorCatchDefinition
    | EscalationCatchDefinition
    | CompensationBoundaryDefinition
  );
export type TimerBoundaryEvent = BoundaryEventBase & TimerEventDefinition;
export type MessageBoundaryEvent = BoundaryEventBase & MessageCatchDefinition;

interface IntermediateThrowEventBase extends ElementBase {
  type: 'intermediateThrowEvent';
}
export type IntermediateThrowEvent = IntermediateThrowEventBase &
  (
    | NoneDefinition
    | MessageThrowDefinition
    | LinkDefinition
    | EscalationThrowDefinition
    | SignalThrowDefinition
    | CompensationThrowDefinition
  );

interface EndEventBase extends ElementBase {
  type: 'endEvent';
}
export type EndEvent = EndEventBase &
  (
    | NoneDefinition
    | MessageThrowDefinition
    | TerminateDefinition
    | ErrorThrowDefinition
    | EscalationThrowDefinition
    | SignalThrowDefinition
    | CompensationThrowDefinition
  );

/** Every event element. */
export type EventElement = StartEvent | IntermediateCatchEvent | BoundaryEvent | IntermediateThrowEvent | EndEvent;
/** An event that waits for a timer or a message: what event-based gateways, boundaries and event subprocesses open. */
export type TimerEvent = Extract<EventElement, { eventKind: 'timer' }>;
export type MessageCatchEvent = Extract<EventElement, { eventKind: 'message'; message: MessageDefinition }>;

// ---------------------------------------------------------------- activities

/** A task without work of its own (bpmn:task, bpmn:manualTask): it completes at once. */
export interface PlainTask extends ActivityBase {
  type: 'task' | 'manualTask';
}
/** A task done by a job worker: service and send tasks, and business rule and script tasks with a zeebe:taskDefinition. */
export interface JobTask extends ActivityBase {
  type: 'serviceTask' | 'sendTask' | 'businessRuleTask' | 'scriptTask';
  job: JobDefinition;
}
/** Script task (zeebe:script): FEEL expression without leading `=`, and the variable that receives its result. */
export interface ScriptTask extends ActivityBase {
  type: 'scriptTask';
  script: { expression: string; resultVariable: string };
}
/** Business rule task (zeebe:calledDecision): the DMN decision id (FEEL when it starts with `=`) and the variable that receives its result. */
export interface DecisionTask extends ActivityBase {
  type: 'businessRuleTask';
  calledDecision: { decisionId: string; resultVariable: string; versionTag?: string };
}
export interface UserTask extends ActivityBase {
  type: 'userTask';
  /** zeebe:assignmentDefinition / zeebe:formDefinition / zeebe:taskSchedule / zeebe:priorityDefinition / zeebe:taskListeners. */
  userTask: UserTaskDefinition;
}
export interface ReceiveTask extends ActivityBase {
  type: 'receiveTask';
  message: MessageDefinition;
}
/** Embedded or event subprocess. */
export interface SubProcess extends ActivityBase {
  type: 'subProcess';
  /** Its start event (set by validation, once the subprocess's children are parsed). */
  startEventId: string;
  /** Event subprocess (triggered by its error, message or timer start event, not by a sequence flow). */
  triggeredByEvent?: true;
  /** The event subprocesses directly inside it. */
  eventSubprocesses?: string[];
}
/** Call activity (zeebe:calledElement): the process to start (FEEL when it starts with `=`) and which variables cross. */
export interface CallActivity extends ActivityBase {
  type: 'callActivity';
  calledElement: {
    processId: string;
    propagateAllParentVariables: boolean;
    propagateAllChildVariables: boolean;
    versionTag?: string;
  };
}

export type Activity =
  | PlainTask
  | JobTask
  | ScriptTask
  | DecisionTask
  | UserTask
  | ReceiveTask
  | SubProcess
  | CallActivity;

// ---------------------------------------------------------------- gateways

/** Exclusive and inclusive gateways: conditions on their outgoing flows, and a default flow. */
export interface ConditionalGateway extends ElementBase {
  type: 'exclusiveGateway' | 'inclusiveGateway';
  defaultFlow?: string;
}
export interface ParallelGateway extends ElementBase {
  type: 'parallelGateway';
}
export interface EventBasedGateway extends ElementBase {
  type: 'eventBasedGateway';
}

/**
 * One flow element of a process: a union discriminated by `type` (the element kind; events also by
 * `eventKind`), each member with exactly the fields of its kind.
 */
export type FlowElement = EventElement | Activity | ConditionalGateway | ParallelGateway | EventBasedGateway;

/** The element types that are activities (boundary events, multi-instance, compensation: `ActivityBase`). */
export const ACTIVITY_TYPES: ReadonlySet<ElementType> = new Set<Activity['type']>([
  'task',
  'manualTask',
  'serviceTask',
  'sendTask',
  'businessRuleTask',
  'userTask',
  'receiveTask',
  'scriptTask',
  'subProcess',
  'callActivity',
]);

/** Is this element an activity (can carry boundary events, multi-instance, has a lifecycle of its own)? */
export function isActivity(element: FlowElement): element is Activity {
  return ACTIVITY_TYPES.has(element.type);
}

/** The multi-instance loop of an activity; undefined for any other element. */
export function multiInstanceOf(element: FlowElement): MultiInstanceDefinition | undefined {
  return 'multiInstance' in element ? element.multiInstance : undefined;
}

const NO_BOUNDARY_EVENTS: readonly string[] = [];

/** The boundary events attached to an activity (none for any other element). */
export function boundaryEventsOf(element: FlowElement): readonly string[] {
  return ('boundaryEvents' in element && element.boundaryEvents) || NO_BOUNDARY_EVENTS;
}

/** The start event of an event subprocess (validation guarantees exactly one). */
export function startEventOf(graph: ProcessGraph, subprocessId: string): StartEvent {
  const subprocess = graph.elements[subprocessId] as SubProcess;
  return graph.elements[subprocess.startEventId] as StartEvent;
}

/** The user task definition of `id`, if it is a user task (the graph may be missing: an older definition). */
export function userTaskOf(graph: ProcessGraph | undefined, id: string): UserTaskDefinition | undefined {
  return graph ? elementOfType(graph, id, 'userTask')?.userTask : undefined;
}

/** The members of the union for one element type (a member may stand for several types, such as JobTask). */
export type ElementOfType<T extends ElementType> = FlowElement extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E & { type: T }
      : never
    : never
  : never;

/** The element `id` if it is of `type` (as stored graphs and tests look elements up). */
export function elementOfType<T extends ElementType>(
  graph: ProcessGraph,
  id: string,
  type: T,
): ElementOfType<T> | undefined {
  const element = graph.elements[id];
  return element?.type === type ? (element as ElementOfType<T>) : undefined;
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
