/**
 * What each BPMN element kind does once its instance is active. The generic lifecycle (input
 * mappings, boundary events, output mappings, leaving over sequence flows) lives in execution.ts;
 * a behaviour only decides when the element completes and which waits it opens.
 */
import { isFeelExpression, stripFeelMarker } from '../feel/index.ts';
import { evaluateDecision, type DecisionResult } from '../dmn/index.ts';
import { isOperonError } from '../errors.ts';
import type {
  CallActivity,
  ConditionalGateway,
  DecisionTask,
  ElementOfType,
  ElementType,
  EndEvent,
  EventBasedGateway,
  FlowElement,
  IntermediateCatchEvent,
  IntermediateThrowEvent,
  JobDefinition,
  JobTask,
  MessageCatchEvent,
  ReceiveTask,
  ScriptTask,
  SignalThrowDefinition,
  SubProcess,
  UserTask,
} from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import { ROOT_KEY, type ElementInstance } from './state.ts';
import { IncidentSignal, type Execution } from './execution.ts';
import { openEventSubprocesses } from './event-subprocess.ts';
import { throwCompensation } from './compensation.ts';

export type Behaviour<E extends FlowElement = FlowElement> = (x: Execution, ei: ElementInstance, element: E) => void;

const passThrough: Behaviour = (x, ei) => x.complete(ei);

/** Done by a job worker: a task with a zeebe:taskDefinition, or a message throw event. */
const jobTask: Behaviour<FlowElement & { job: JobDefinition }> = (x, ei, element) => {
  const job = element.job;
  const taskType = x.textValue(job.taskType, ei.key);
  const retries = x.retries(job.retries, job.retriesExpression, ei);
  ei.wait = 'job';
  x.effects.push({
    type: 'job.create',
    elementInstanceKey: ei.key,
    elementId: element.id,
    taskType,
    retries,
    headers: job.headers,
    input: x.variablesForEffect(ei.key),
    ...(element.properties ? { properties: element.properties } : {}),
  });
};

/**
 * A business rule task with zeebe:calledDecision evaluates the latest deployed version of the
 * decision inline, like a script task: no rule matching is a null result, a hit policy violation, a
 * failing expression or a decision that is not deployed is an incident.
 */
const businessRuleTask: Behaviour<DecisionTask | JobTask> = (x, ei, element) => {
  if ('job' in element) return jobTask(x, ei, element);
  const called = element.calledDecision;
  const decisionId = x.textValue(called.decisionId, ei.key);
  if (!x.decisions)
    throw new IncidentSignal(
      'OPERON_ERR_DMN_EVAL',
      `business rule task "${element.id}": this driver runs no DMN decisions`,
      { decisionId },
    );
  const found = x.decisions.find(decisionId, called.versionTag);
  if (found === undefined) return; // not loaded yet: this pass is abandoned and runs again once it is
  if (found === null) {
    const what =
      called.versionTag === undefined
        ? 'which is not deployed'
        : `of which no version tagged "${called.versionTag}" is deployed`;
    throw new IncidentSignal(
      'OPERON_ERR_DMN_EVAL',
      `business rule task "${element.id}" calls the decision "${decisionId}", ${what}`,
      { decisionId, ...(called.versionTag !== undefined ? { versionTag: called.versionTag } : {}) },
    );
  }
  let result: DecisionResult;
  try {
    // Expressions run like every other FEEL of the step (the budgeted worker when not proven cheap).
    result = evaluateDecision(found.model, decisionId, x.visibleVariables(ei.key), {
      nowIso: x.now.toISOString(),
      evaluate: (expression, context) => x.feel(expression, ei.key, context as Variables),
    });
  } catch (error) {
    if (error instanceof IncidentSignal)
      throw new IncidentSignal(
        error.code,
        `business rule task "${element.id}", decision "${decisionId}" (version ${found.version}): ${error.message}`,
        { ...error.details, decisionId, version: found.version },
      );
    if (!isOperonError(error)) throw error;
    throw new IncidentSignal(
      error.code,
      `business rule task "${element.id}", ${error.message} (version ${found.version})`,
      { ...error.details, version: found.version },
    );
  }
  const own = result.evaluated[result.evaluated.length - 1]!;
  x.effects.push({
    type: 'decision.evaluated',
    elementInstanceKey: ei.key,
    elementId: element.id,
    decisionDefinitionId: found.decisionDefinitionId,
    decisionId,
    version: found.version,
    inputs: own.inputs,
    matchedRuleIds: own.matchedRuleIds,
    output: result.output,
    evaluated: result.evaluated,
  });
  x.complete(ei, { [called.resultVariable]: result.output });
};

const scriptTask: Behaviour<ScriptTask | JobTask> = (x, ei, element) => {
  if ('job' in element) return jobTask(x, ei, element);
  const script = element.script;
  const value = x.feel(script.expression, ei.key);
  x.complete(ei, { [script.resultVariable]: value });
};

/**
 * A user task: its creating listeners' jobs first, then the task is offered. A task created with
 * an assignee and assigning listeners is created unassigned and assigned once those listeners'
 * jobs completed, as Zeebe does.
 */
const userTask: Behaviour<UserTask> = (x, ei, element) => {
  if (x.nextListener(ei, 'creating')) return;
  ei.wait = 'userTask';
  const spec = element.userTask;
  const assignee = spec.assignee !== undefined ? x.textValue(spec.assignee, ei.key) : undefined;
  const held = assignee && (spec.assigningListeners?.length ?? 0) > 0;
  const dueDate = spec.dueDate !== undefined ? dateOf(x, ei, 'dueDate', spec.dueDate) : undefined;
  const followUpDate = spec.followUpDate !== undefined ? dateOf(x, ei, 'followUpDate', spec.followUpDate) : undefined;
  const fields = {
    ...(spec.candidateGroups !== undefined
      ? { candidateGroups: candidates(x, ei, 'candidateGroups', spec.candidateGroups) }
      : {}),
    ...(spec.candidateUsers !== undefined
      ? { candidateUsers: candidates(x, ei, 'candidateUsers', spec.candidateUsers) }
      : {}),
    ...(dueDate !== undefined ? { dueDate } : {}),
    ...(followUpDate !== undefined ? { followUpDate } : {}),
    priority: spec.priority !== undefined ? priorityOf(x, ei, spec.priority) : 50,
  };
  x.effects.push({
    type: 'userTask.create',
    elementInstanceKey: ei.key,
    elementId: element.id,
    ...(element.name !== undefined ? { name: element.name } : {}),
    ...(assignee !== undefined && !held ? { assignee } : {}),
    ...(spec.formKey !== undefined ? { formKey: spec.formKey } : {}),
    ...fields,
    ...(element.properties ? { properties: element.properties } : {}),
    input: x.variablesForEffect(ei.key),
    ...(held ? { state: 'assigning' as const } : {}),
  });
  delete ei.listener;
  if (held) x.requestUserTaskChange(ei, 'assigning', { assignee }, { assignee: null, ...fields });
};

function candidates(x: Execution, ei: ElementInstance, field: string, list: string[]): string[] {
  if (list.length !== 1 || !isFeelExpression(list[0])) return list;
  const value = x.feel(stripFeelMarker(list[0]), ei.key);
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return value;
  if (typeof value === 'string')
    return value
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
  throw new IncidentSignal(
    'OPERON_ERR_FEEL_EVAL',
    `${field} "${list[0]}" gave ${JSON.stringify(value)}, expected a list of strings`,
    { expression: list[0] },
  );
}

/** zeebe:taskSchedule: an ISO 8601 date-time (literal, or FEEL giving a date-time or a string); null from FEEL leaves it unset. */
function dateOf(x: Execution, ei: ElementInstance, field: string, text: string): string | undefined {
  const value = isFeelExpression(text) ? x.feel(stripFeelMarker(text), ei.key) : text;
  if (value === null || value === undefined) return undefined;
  const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed))
    throw new IncidentSignal(
      'OPERON_ERR_FEEL_EVAL',
      `${field} "${text}" of "${ei.elementId}" gave ${JSON.stringify(value)}, expected an ISO 8601 date-time`,
      { expression: text },
    );
  return new Date(parsed).toISOString();
}

/** zeebe:priorityDefinition: a whole number from 0 to 100, as in Camunda 8. */
function priorityOf(x: Execution, ei: ElementInstance, text: string): number {
  const value = isFeelExpression(text) ? x.feel(stripFeelMarker(text), ei.key) : Number(text);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100) return value;
  throw new IncidentSignal(
    'OPERON_ERR_FEEL_EVAL',
    `priority "${text}" of "${ei.elementId}" gave ${JSON.stringify(value)}, expected a whole number from 0 to 100`,
    { expression: text },
  );
}

const messageWait: Behaviour<ReceiveTask | MessageCatchEvent> = (x, ei, element) => {
  x.openSubscription(ei, element);
  ei.wait = 'message';
};

const catchEvent: Behaviour<IntermediateCatchEvent> = (x, ei, element) => {
  if (element.eventKind === 'link') return x.complete(ei);
  if (element.eventKind === 'message') return messageWait(x, ei, element);
  x.scheduleTimer(ei, element, x.timerDue(ei, element));
  ei.wait = 'timer';
};

/** A throw link hands its token to the catching link event of the same name. */
const throwEvent: Behaviour<IntermediateThrowEvent> = (x, ei, element) => {
  if (element.eventKind === 'message') return jobTask(x, ei, element);
  if (element.eventKind === 'escalation') return x.throwEscalation(ei, element.escalationCode);
  if (element.eventKind === 'compensation') return throwCompensation(x, ei, element);
  if (element.eventKind === 'signal') broadcastSignal(x, ei, element);
  if (element.eventKind === 'link') x.enqueue({ elementId: element.link.targetId!, flowScopeKey: ei.flowScopeKey });
  x.complete(ei);
};

const endEvent: Behaviour<EndEvent> = (x, ei, element) => {
  if (element.eventKind === 'message') return jobTask(x, ei, element);
  if (element.eventKind === 'error') return x.throwError(ei, element.errorCode);
  if (element.eventKind === 'escalation') return x.throwEscalation(ei, element.escalationCode);
  if (element.eventKind === 'compensation') return throwCompensation(x, ei, element);
  if (element.eventKind === 'terminate') x.terminateChildren(ei.flowScopeKey, ei.key);
  if (element.eventKind === 'signal') broadcastSignal(x, ei, element);
  x.complete(ei);
};

/** Signal throw: the effect names the signal; the thrower goes on at once (broadcast is fire-and-forget). */
function broadcastSignal(x: Execution, ei: ElementInstance, element: FlowElement & SignalThrowDefinition): void {
  x.effects.push({
    type: 'signal.broadcast',
    elementInstanceKey: ei.key,
    elementId: element.id,
    signalName: element.signal.name,
    variables: JSON.parse(JSON.stringify(ei.variables ?? {})) as Variables,
  });
}

function booleanCondition(
  x: Execution,
  ei: ElementInstance,
  flowId: string,
  condition: string,
  context: Record<string, unknown>,
): boolean {
  const value = x.feel(condition, ei.key, context);
  if (typeof value === 'boolean') return value;
  const why = value === null ? 'null (a variable it uses may be missing)' : JSON.stringify(value);
  throw new IncidentSignal(
    'OPERON_ERR_CONDITION_NOT_BOOLEAN',
    `condition "${condition}" of sequence flow "${flowId}" gave ${why}, expected a boolean`,
    { flowId, expression: condition },
  );
}

const exclusiveGateway: Behaviour<ConditionalGateway> = (x, ei, element) => {
  if (element.outgoing.length === 0) return x.complete(ei);
  const context = x.visibleVariables(ei.key);
  for (const flowId of element.outgoing) {
    if (flowId === element.defaultFlow) continue;
    const condition = x.graph.flows[flowId]!.condition;
    if (condition === undefined) return x.complete(ei, undefined, [flowId]);
    if (booleanCondition(x, ei, flowId, condition, context)) return x.complete(ei, undefined, [flowId]);
  }
  if (element.defaultFlow !== undefined) return x.complete(ei, undefined, [element.defaultFlow]);
  throw new IncidentSignal(
    'OPERON_ERR_NO_OUTGOING_FLOW',
    `no condition of exclusive gateway "${element.id}" is true and it has no default flow`,
    { flowIds: element.outgoing },
  );
};

/** Inclusive fork: every flow whose condition is true (a flow without one always), else the default flow. */
const inclusiveGateway: Behaviour<ConditionalGateway> = (x, ei, element) => {
  if (element.outgoing.length === 0) return x.complete(ei);
  const context = x.visibleVariables(ei.key);
  const taken: string[] = [];
  for (const flowId of element.outgoing) {
    if (flowId === element.defaultFlow) continue;
    const condition = x.graph.flows[flowId]!.condition;
    if (condition === undefined || booleanCondition(x, ei, flowId, condition, context)) taken.push(flowId);
  }
  if (taken.length === 0 && element.defaultFlow !== undefined) taken.push(element.defaultFlow);
  if (taken.length === 0) {
    throw new IncidentSignal(
      'OPERON_ERR_NO_OUTGOING_FLOW',
      `no condition of inclusive gateway "${element.id}" is true and it has no default flow`,
      { flowIds: element.outgoing },
    );
  }
  x.complete(ei, undefined, taken);
};

/** Event-based gateway: waits on every following catch event at once; the first to happen wins. */
const eventBasedGateway: Behaviour<EventBasedGateway> = (x, ei, element) => {
  // Validation lets only message and timer catch events follow an event-based gateway.
  const events = element.outgoing.map(
    (id) =>
      x.graph.elements[x.graph.flows[id]!.targetId] as Extract<
        IntermediateCatchEvent,
        { eventKind: 'timer' | 'message' }
      >,
  );
  const dues = events.map((event) => (event.eventKind === 'timer' ? x.timerDue(ei, event) : undefined));
  ei.timerKeys ??= [];
  events.forEach((event, i) => {
    if (event.eventKind === 'timer') x.scheduleTimer(ei, event, dues[i]!);
    else x.openSubscription(ei, event);
  });
  ei.wait = 'event';
};

const subProcess: Behaviour<SubProcess> = (x, ei, element) => {
  if (ei.tokens !== undefined) return;
  ei.tokens = 0;
  // An event subprocess's start event is triggered by whoever activated it (after its start listeners: here).
  if (element.triggeredByEvent) {
    if (ei.eventTrigger === undefined) return;
    const trigger = ei.eventTrigger;
    delete ei.eventTrigger;
    x.enqueue({ elementId: element.startEventId, flowScopeKey: ei.key, trigger });
    return;
  }
  openEventSubprocesses(x, ei);
  x.enqueue({ elementId: element.startEventId, flowScopeKey: ei.key });
};

/** Call activity: starts a child instance and waits for it to complete. */
const callActivity: Behaviour<CallActivity> = (x, ei, element) => {
  const called = element.calledElement;
  const bpmnProcessId = x.textValue(called.processId, ei.key);
  const variables = called.propagateAllParentVariables
    ? x.variablesForEffect(ei.key)
    : (JSON.parse(JSON.stringify(ei.variables ?? {})) as Variables);
  ei.wait = 'childInstance';
  x.effects.push({
    type: 'childInstance.start',
    elementInstanceKey: ei.key,
    elementId: element.id,
    bpmnProcessId,
    ...(called.versionTag ? { versionTag: called.versionTag } : {}),
    variables,
  });
};

/** Boundary event instances complete right away; the host's step (triggerBoundary) drives them. */
const boundaryEvent: Behaviour = () => {};

export const activityBehaviours: { [T in ElementType]: Behaviour<ElementOfType<T>> } = {
  startEvent: passThrough,
  intermediateThrowEvent: throwEvent,
  task: passThrough,
  manualTask: passThrough,
  parallelGateway: passThrough,
  endEvent,
  intermediateCatchEvent: catchEvent,
  boundaryEvent,
  serviceTask: jobTask,
  sendTask: jobTask,
  businessRuleTask,
  scriptTask,
  userTask,
  receiveTask: messageWait,
  exclusiveGateway,
  inclusiveGateway,
  eventBasedGateway,
  subProcess,
  callActivity,
};

export { ROOT_KEY };
