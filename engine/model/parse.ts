import { BpmnModdle } from 'bpmn-moddle';
import zeebeSchema from 'zeebe-bpmn-moddle/resources/zeebe.json' with { type: 'json' };
import { OperonError } from '../errors.ts';
import { feelSyntaxError, isFeelExpression, stripFeelMarker } from '../feel/index.ts';
import type {
  Activity,
  ActivityBase,
  BoundaryEvent,
  CallActivity,
  CompensationThrowDefinition,
  DecisionTask,
  ElementBase,
  ElementType,
  EndEvent,
  ErrorCatchDefinition,
  EscalationCatchDefinition,
  EventElement,
  EventKind,
  IntermediateCatchEvent,
  IntermediateThrowEvent,
  JobDefinition,
  LinkDefinition,
  MessageCatchDefinition,
  MessageDefinition,
  MessageThrowDefinition,
  MultiInstanceDefinition,
  NoneDefinition,
  SignalThrowDefinition,
  StartEvent,
  TerminateDefinition,
  TimerEventDefinition,
  UserTaskDefinition,
  ExecutionListeners,
  FlowElement,
  ListenerDefinition,
  ListenerEventType,
  TaskListenerEvent,
  ProcessGraph,
  SequenceFlow,
  TimerDefinition,
  VariableMapping,
} from './graph.ts';
import { ACTIVITY_TYPES } from './graph.ts';
import { startVariablesOf } from './start-variables.ts';
import {
  CAPACITY_PROPERTY,
  MAX_CONCURRENT_PROPERTY,
  parseMaxConcurrent,
  parseProcessCapacity,
  type ProcessJobLimits,
} from './job-limits.ts';
import type { VariableSpec } from './typed-variables.ts';
import { parseIsoDuration, timerSyntaxError } from './timer.ts';
import { validateGraph } from './validate.ts';

/** The part of a moddle object the model reads. */
type ModdleElement = { $type: string; id?: string; name?: string; [key: string]: any };

const moddle = new BpmnModdle({ zeebe: zeebeSchema });

/** bpmn:Foo -> element type for every flow element Operon executes: the parser's one line per kind. */
export const EXECUTED: Readonly<Record<string, ElementType>> = {
  'bpmn:StartEvent': 'startEvent',
  'bpmn:EndEvent': 'endEvent',
  'bpmn:IntermediateCatchEvent': 'intermediateCatchEvent',
  'bpmn:IntermediateThrowEvent': 'intermediateThrowEvent',
  'bpmn:BoundaryEvent': 'boundaryEvent',
  'bpmn:Task': 'task',
  'bpmn:ManualTask': 'manualTask',
  'bpmn:ServiceTask': 'serviceTask',
  'bpmn:SendTask': 'sendTask',
  'bpmn:BusinessRuleTask': 'businessRuleTask',
  'bpmn:UserTask': 'userTask',
  'bpmn:ReceiveTask': 'receiveTask',
  'bpmn:ScriptTask': 'scriptTask',
  'bpmn:ExclusiveGateway': 'exclusiveGateway',
  'bpmn:InclusiveGateway': 'inclusiveGateway',
  'bpmn:EventBasedGateway': 'eventBasedGateway',
  'bpmn:ParallelGateway': 'parallelGateway',
  'bpmn:SubProcess': 'subProcess',
  'bpmn:CallActivity': 'callActivity',
};

/** Flow elements that carry no behaviour (data references): skipped. */
const IGNORED = new Set(['bpmn:DataObject', 'bpmn:DataObjectReference', 'bpmn:DataStoreReference']);

/**
 * Parses a BPMN 2.0 file and returns every executable process in it as a validated ProcessGraph.
 *
 * Throws `OperonError` with `details.file`:
 * - OPERON_ERR_BPMN_PARSE: malformed XML or XML that is not BPMN;
 * - OPERON_ERR_BPMN_INVALID: duplicate ids, unresolved references, unknown elements, no start
 *   event, missing bindings ... (`details.elementId`);
 * - OPERON_ERR_BPMN_UNSUPPORTED: an element Operon does not execute (`details.elementId`, `details.elementType`);
 * - OPERON_ERR_FEEL_SYNTAX: a condition / mapping / key that is not FEEL (`details.elementId`, `details.expression`).
 */
/** Signal subscriptions are message subscriptions named `signal:<name>` with this correlation key (FEEL). */
export const SIGNAL_PREFIX = 'signal:';
export const SIGNAL_CORRELATION_KEY = '"signal"';

export interface ParseOptions {
  /**
   * Accept call activities (default true). A driver that does not carry out the
   * `childInstance.start` / `childInstance.cancel` effects and feed `childInstance.completed` back
   * passes `false` to refuse them at deployment.
   */
  callActivities?: boolean;
}

export async function parseDefinitions(
  xml: string,
  fileName: string,
  options: ParseOptions = {},
): Promise<ProcessGraph[]> {
  let parsed: Awaited<ReturnType<BpmnModdle['fromXML']>>;
  try {
    parsed = await moddle.fromXML(xml, 'bpmn:Definitions');
  } catch (error) {
    const message = (error as Error).message;
    const line = /line: (\d+)/.exec(message);
    const column = /column: (\d+)/.exec(message);
    throw new OperonError(
      'OPERON_ERR_BPMN_PARSE',
      `${fileName}: ${firstLine(message)}${line ? ` (line ${Number(line[1]) + 1})` : ''}`,
      {
        details: {
          file: fileName,
          reason: message,
          ...(line ? { line: Number(line[1]) + 1, column: Number(column?.[1] ?? 0) } : {}),
        },
        cause: error,
      },
    );
  }
  rejectWarnings(
    parsed.warnings,
    xml,
    fileName,
    (parsed as { elementsById?: Record<string, ModdleElement> }).elementsById ?? {},
  );
  const definitions = parsed.rootElement as ModdleElement;
  if (definitions?.$type !== 'bpmn:Definitions') {
    throw new OperonError('OPERON_ERR_BPMN_PARSE', `${fileName}: not a BPMN definitions document`, {
      details: { file: fileName },
    });
  }
  const processes = ((definitions.rootElements ?? []) as ModdleElement[]).filter((e) => e.$type === 'bpmn:Process');
  const executable = processes.filter((p) => p.isExecutable !== false);
  if (executable.length === 0) {
    throw new OperonError('OPERON_ERR_BPMN_INVALID', `${fileName}: the file has no executable process`, {
      details: { file: fileName, elementId: processes[0]?.id },
    });
  }
  const nameless = executable.find((p) => typeof p.id !== 'string' || p.id.trim() === '');
  if (nameless) {
    throw new OperonError(
      'OPERON_ERR_BPMN_INVALID',
      `${fileName}: a process${nameless.name ? ` ("${nameless.name}")` : ''} has no id; every executable process needs one`,
      {
        details: { file: fileName, elementId: undefined, reason: 'process without id' },
      },
    );
  }
  return executable.map((process) => {
    const graph = buildGraph(process, fileName);
    validateGraph(graph, fileName);
    const callActivity = Object.values(graph.elements).find((e) => e.type === 'callActivity');
    if (callActivity && options.callActivities === false) {
      throw new OperonError(
        'OPERON_ERR_BPMN_UNSUPPORTED',
        `${fileName}: "${callActivity.id}" is a call activity, which this driver does not run`,
        {
          details: {
            file: fileName,
            elementId: callActivity.id,
            elementType: 'CallActivity',
            feature: 'call activity',
          },
        },
      );
    }
    return graph;
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

type ModdleWarning = {
  message: string;
  element?: ModdleElement & { get?(name: string): unknown; set?(name: string, value: unknown): void };
  property?: string;
  value?: unknown;
};

/**
 * bpmn-moddle is lenient: what it merely warns about is an error for a deployment, except what
 * Zeebe accepts too:
 * - the diagram (bpmndi): Zeebe ignores it, so a shape or plane naming an element or process that
 *   was renamed or removed does not matter (and must not hide the model's real fault);
 * - a reference written as a QName (`messageRef="tns:message-id"`): resolved by its local part;
 * - an element of a known namespace (zeebe, bpmn) that the schema lacks, inside extensionElements:
 *   BPMN allows any content there, and Operon ignores what it does not know;
 * - an encoding declaration bpmn-moddle does not know (ISO-8859-1) on a file that is plain ASCII,
 *   where every such encoding reads the same.
 */
function rejectWarnings(
  warnings: ModdleWarning[],
  xml: string,
  file: string,
  elementsById: Record<string, ModdleElement>,
): void {
  const warning = warnings.find(
    (w) =>
      !isDiagramWarning(w) &&
      !isExtensionContent(w, xml) &&
      !isHarmlessEncoding(w, xml) &&
      !resolveQualifiedReference(w, elementsById),
  );
  if (!warning) return;
  const duplicate = /duplicate ID <([^>]+)>/.exec(warning.message);
  if (duplicate) {
    throw new OperonError('OPERON_ERR_BPMN_INVALID', `${file}: duplicate element id "${duplicate[1]}"`, {
      details: { file, elementId: duplicate[1], reason: 'duplicate id' },
    });
  }
  const unresolved = /unresolved reference <([^>]+)>/.exec(warning.message);
  if (unresolved) {
    const elementId = warning.element?.id;
    throw new OperonError(
      'OPERON_ERR_BPMN_INVALID',
      `${file}: element "${elementId}" refers to "${unresolved[1]}", which does not exist`,
      {
        details: {
          file,
          elementId,
          property: warning.property,
          reference: unresolved[1],
          reason: 'unresolved reference',
        },
      },
    );
  }
  const unknown = /unparsable content <([^>]+)>[\s\S]*?column: (\d+)[\s\S]*nested error: (.*)/.exec(warning.message);
  const line = /line: (\d+)/.exec(warning.message);
  const elementId = unknown ? idNear(xml, Number(line?.[1] ?? 0), Number(unknown[2])) : warning.element?.id;
  throw new OperonError(
    'OPERON_ERR_BPMN_INVALID',
    `${file}: ${firstLine(warning.message)}${unknown ? ` (${unknown[3]})` : ''}`,
    {
      details: { file, elementId, elementType: unknown?.[1], reason: unknown?.[3] ?? warning.message },
    },
  );
}

function isDiagramWarning(warning: ModdleWarning): boolean {
  return warning.element?.$type.startsWith('bpmndi:') === true || warning.property?.startsWith('bpmndi:') === true;
}

function isHarmlessEncoding(warning: ModdleWarning, xml: string): boolean {
  return /unsupported document encoding/.test(warning.message) && /^[\x00-\x7f]*$/.test(xml);
}

/** `tns:message-id` -> the element `message-id`, set where bpmn-moddle left the reference unresolved. */
function resolveQualifiedReference(warning: ModdleWarning, elementsById: Record<string, ModdleElement>): boolean {
  const reference = /unresolved reference <([^>]+)>/.exec(warning.message)?.[1];
  const local = reference?.includes(':') ? reference.slice(reference.indexOf(':') + 1) : undefined;
  const target = local === undefined ? undefined : elementsById[local];
  const { element, property } = warning;
  if (!target || !element?.get || !element.set || !property) return false;
  const current = element.get(property);
  if (Array.isArray(current)) current.push(target);
  else element.set(property, target);
  return true;
}

/**
 * An unknown element of a namespace bpmn-moddle knows, other than zeebe, somewhere inside an
 * extensionElements. An unknown `zeebe:` element stays refused: it is a Camunda feature Operon does
 * not know, and ignoring it could silently change what the process does.
 */
function isExtensionContent(warning: ModdleWarning, xml: string): boolean {
  const unknown =
    /unparsable content <[^>]+>[\s\S]*?line: (\d+)[\s\S]*?column: (\d+)[\s\S]*nested error: unknown type <([^>]+)>/.exec(
      warning.message,
    );
  if (!unknown || unknown[3]!.startsWith('zeebe:')) return false;
  const lines = xml.split('\n');
  let offset = 0;
  for (let i = 0; i < Number(unknown[1]) && i < lines.length; i++) offset += lines[i]!.length + 1;
  const before = xml.slice(0, offset + Number(unknown[2]));
  const opened = before.match(/<(?:[\w.-]+:)?extensionElements\b[^>]*?(?<!\/)>/g)?.length ?? 0;
  const closed = before.match(/<\/(?:[\w.-]+:)?extensionElements\s*>/g)?.length ?? 0;
  return opened > closed;
}

/** The id attribute of the tag at a (0-based line, column) position saxen reports. */
function idNear(xml: string, line: number, column: number): string | undefined {
  const lines = xml.split('\n');
  let offset = 0;
  for (let i = 0; i < line && i < lines.length; i++) offset += lines[i]!.length + 1;
  const start = xml.lastIndexOf('<', offset + column);
  const end = xml.indexOf('>', start);
  const tag = xml.slice(Math.max(0, start), end === -1 ? undefined : end);
  const own = /\sid="([^"]*)"/.exec(tag)?.[1];
  if (own !== undefined) return own;
  // An extension element has no id: name the BPMN element it sits in.
  let enclosing: string | undefined;
  for (const match of xml.slice(0, Math.max(0, start)).matchAll(/<bpmn:\w+\b[^>]*?\sid="([^"]*)"[^>]*?(\/?)>/g)) {
    enclosing = match[2] === '/' ? enclosing : match[1];
  }
  return enclosing;
}

function versionTagOf(process: ModdleElement): { versionTag?: string } {
  const tag = ((process.extensionElements?.values ?? []) as ModdleElement[]).find((e) => e.$type === 'zeebe:VersionTag')
    ?.value as string | undefined;
  return tag ? { versionTag: tag } : {};
}

/** Name of the process-level zeebe:property that sets how long ended instances are kept. */
export const RETENTION_PROPERTY = 'operon:retention';

/**
 * The process's time to live for ended instances: `<zeebe:property name="operon:retention"
 * value="P30D"/>` on the process, else Camunda 7's `camunda:historyTimeToLive` (days, or a duration).
 * A positive ISO 8601 duration of years, months, weeks, days, hours, minutes or whole seconds.
 */
function retentionOf(process: ModdleElement, file: string): { retention?: string } {
  const properties = (((process.extensionElements?.values ?? []) as ModdleElement[]).find(
    (e) => e.$type === 'zeebe:Properties',
  )?.properties ?? []) as { name?: string; value?: string }[];
  const property = properties.find((p) => p.name === RETENTION_PROPERTY);
  const camunda = (process.$attrs as Record<string, string> | undefined)?.['camunda:historyTimeToLive'];
  const raw = property ? (property.value ?? '') : camunda;
  if (raw === undefined) return {};
  const text = /^\d+$/.test(raw.trim()) ? `P${raw.trim()}D` : raw.trim();
  const duration = parseIsoDuration(text);
  const positive =
    duration && Object.values(duration).some((n) => n > 0) && Object.values(duration).every((n) => n >= 0);
  if (!positive || /[.,]/.test(text))
    throw invalid(
      file,
      process.id,
      `process "${process.id}": ${property ? RETENTION_PROPERTY : 'camunda:historyTimeToLive'} '${raw}' is not a positive ISO 8601 duration such as P30D`,
    );
  return { retention: text };
}

/** `zeebe:properties` of the process itself (name -> value), as an element's are kept. */
function processPropertiesOf(process: ModdleElement): { properties?: Record<string, string> } {
  const properties = (((process.extensionElements?.values ?? []) as ModdleElement[]).find(
    (e) => e.$type === 'zeebe:Properties',
  )?.properties ?? []) as { name?: string; value?: string }[];
  const named = properties.filter((p) => p.name !== undefined && p.name !== '');
  return named.length > 0 ? { properties: Object.fromEntries(named.map((p) => [p.name!, p.value ?? ''])) } : {};
}

/** `operon:maxConcurrent` and `operon:capacity` of the process (model/job-limits.ts), refused at deploy when malformed. */
function processJobLimitsOf(process: ModdleElement, file: string): { jobLimits?: ProcessJobLimits } {
  const properties = processPropertiesOf(process).properties ?? {};
  const jobLimits: ProcessJobLimits = {};
  const refuse = (message: string) => invalid(file, process.id, `process "${process.id}": ${message}`);
  if (Object.hasOwn(properties, MAX_CONCURRENT_PROPERTY)) {
    const parsed = parseMaxConcurrent(properties[MAX_CONCURRENT_PROPERTY]!);
    if (typeof parsed === 'string') throw refuse(parsed);
    jobLimits.maxConcurrent = parsed;
  }
  if (Object.hasOwn(properties, CAPACITY_PROPERTY)) {
    const parsed = parseProcessCapacity(properties[CAPACITY_PROPERTY]!);
    if (typeof parsed === 'string') throw refuse(parsed);
    jobLimits.capacity = parsed;
  }
  return Object.keys(jobLimits).length > 0 ? { jobLimits } : {};
}

function buildGraph(process: ModdleElement, file: string): ProcessGraph {
  const graph: ProcessGraph = {
    graphVersion: 1,
    bpmnProcessId: process.id!,
    ...(process.name ? { name: process.name } : {}),
    ...versionTagOf(process),
    ...retentionOf(process, file),
    ...listenersField(executionListenersOf(file, process, 'process')),
    ...processPropertiesOf(process),
    ...processJobLimitsOf(process, file),
    startEvents: [],
    serviceTasks: [],
    elements: {},
    flows: {},
  };
  const associations: Association[] = [];
  addScope(graph, process, undefined, file, associations);
  linkCompensationHandlers(graph, associations, file);
  for (const element of Object.values(graph.elements)) {
    if (element.type === 'startEvent' && element.parentId === undefined) {
      const kind = element.eventKind === 'message' || element.eventKind === 'timer' ? element.eventKind : 'none';
      graph.startEvents.push({
        elementId: element.id,
        kind,
        ...('message' in element ? { messageName: element.message.name } : {}),
        ...('timer' in element ? { timer: element.timer } : {}),
        ...(element.startVariables ? { variables: element.startVariables } : {}),
      });
    }
    if ('job' in element)
      graph.serviceTasks.push({
        elementId: element.id,
        taskType: element.job.taskType,
        retries: element.job.retries,
        headers: element.job.headers,
      });
    addListenerJobs(graph, element.id, element.listeners);
    if (element.type !== 'userTask') continue;
    for (const listener of element.userTask.creatingListeners ?? [])
      graph.serviceTasks.push(listenerJob(element.id, listener, 'creating'));
    for (const event of ['assigning', 'updating', 'completing', 'canceling'] as const)
      for (const listener of element.userTask[`${event}Listeners`] ?? [])
        graph.serviceTasks.push(listenerJob(element.id, listener, event));
  }
  addListenerJobs(graph, graph.bpmnProcessId, graph.listeners);
  return graph;
}

/** Listener jobs are bound to nodes like task jobs: deployment validates them and warns about unhandled types. */
function addListenerJobs(graph: ProcessGraph, elementId: string, listeners: ExecutionListeners | undefined): void {
  for (const event of ['start', 'end'] as const)
    for (const listener of listeners?.[event] ?? []) graph.serviceTasks.push(listenerJob(elementId, listener, event));
}

function listenerJob(
  elementId: string,
  listener: ListenerDefinition,
  event: ListenerEventType,
): ProcessGraph['serviceTasks'][number] {
  return {
    elementId,
    taskType: listener.type,
    retries: listener.retries,
    headers: listener.headers ?? {},
    listener: event,
  };
}

function listenersField(listeners: ExecutionListeners | undefined): { listeners?: ExecutionListeners } {
  return listeners ? { listeners } : {};
}

/**
 * `zeebe:executionListeners` of an element or process: `eventType` start (the default) or end,
 * a `type` (FEEL allowed) and `retries`; two listeners with the same event type and job type are
 * refused, as Zeebe refuses them.
 */
function executionListenersOf(file: string, node: ModdleElement, what: string): ExecutionListeners | undefined {
  const extension = ((node.extensionElements?.values ?? []) as ModdleElement[]).find(
    (e) => e.$type === 'zeebe:ExecutionListeners',
  );
  const entries = (extension?.listeners ?? []) as ModdleElement[];
  if (entries.length === 0) return undefined;
  const id = node.id!;
  const result: ExecutionListeners = {};
  const seen = new Set<string>();
  for (const entry of entries) {
    const eventType = (entry.eventType as string | undefined) ?? 'start';
    if (eventType !== 'start' && eventType !== 'end')
      throw invalid(
        file,
        id,
        `${what} "${id}" has an execution listener with eventType "${eventType}" (expected start or end)`,
      );
    const listener = listenerOf(file, id, entry, `${what} "${id}": execution listener`);
    const pair = `${eventType}|${listener.type}`;
    if (seen.has(pair))
      throw invalid(
        file,
        id,
        `${what} "${id}" has two execution listeners with eventType "${eventType}" and type "${listener.type}"; each pair must be unique`,
      );
    seen.add(pair);
    (result[eventType] ??= []).push(listener);
  }
  return result;
}

/** The job of one listener: its type (FEEL checked), retries and headers. */
function listenerOf(file: string, id: string, entry: ModdleElement, what: string): ListenerDefinition {
  const type = entry.type as string | undefined;
  if (!type || type.trim() === '') throw invalid(file, id, `${what} needs a type`);
  if (isFeelExpression(type)) feel(file, id, type);
  const { retries, retriesExpression } = retriesOf(file, id, String(entry.retries ?? '3'), what);
  const headers: Record<string, string> = {};
  for (const header of (entry.headers?.values ?? []) as ModdleElement[]) headers[header.key] = header.value ?? '';
  return {
    type,
    retries,
    ...(retriesExpression !== undefined ? { retriesExpression } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

function retriesOf(
  file: string,
  id: string,
  retriesText: string,
  what: string,
): { retries: number; retriesExpression?: string } {
  const retriesExpression = isFeelExpression(retriesText) ? feel(file, id, retriesText) : undefined;
  const retries = retriesExpression === undefined ? Number(retriesText) : 3;
  if (!Number.isInteger(retries) || retries < 0) {
    throw invalid(file, id, `${what} has retries "${retriesText}", which is not a whole number`);
  }
  return retriesExpression === undefined ? { retries } : { retries, retriesExpression };
}

/**
 * The event types Zeebe refuses per element (its model validators): no start listeners on start
 * and boundary events, none at all on compensation boundary events, no end listeners on
 * gateways, error end events and escalation intermediate throw events.
 */
function checkListenerEvents(file: string, element: FlowElement): void {
  const listeners = element.listeners;
  if (!listeners) return;
  const refuse = (eventType: string, what: string) =>
    new OperonError(
      'OPERON_ERR_BPMN_UNSUPPORTED',
      `${file}: "${element.id}" has ${eventType} execution listeners, which Camunda 8 does not support on ${what}`,
      {
        details: {
          file,
          elementId: element.id,
          elementType: element.type[0]!.toUpperCase() + element.type.slice(1),
          feature: `${eventType} execution listener on ${what}`,
        },
      },
    );
  const { type } = element;
  const eventKind = 'eventKind' in element ? element.eventKind : undefined;
  if (type === 'boundaryEvent' && eventKind === 'compensation')
    throw refuse('start and end', 'compensation boundary events');
  if (listeners.start && type === 'startEvent') throw refuse('start', 'start events');
  if (listeners.start && type === 'boundaryEvent') throw refuse('start', 'boundary events');
  if (listeners.end && type.endsWith('Gateway')) throw refuse('end', 'gateways');
  if (listeners.end && type === 'endEvent' && eventKind === 'error') throw refuse('end', 'error end events');
  if (listeners.end && type === 'intermediateThrowEvent' && eventKind === 'escalation')
    throw refuse('end', 'escalation intermediate throw events');
}

/** A bpmn:association between two elements (ids), from any scope's artifacts. */
type Association = { id: string; sourceId: string; targetId: string };

function addScope(
  graph: ProcessGraph,
  scope: ModdleElement,
  parentId: string | undefined,
  file: string,
  associations: Association[],
): void {
  for (const artifact of (scope.artifacts ?? []) as ModdleElement[]) {
    if (artifact.$type === 'bpmn:Association' && artifact.sourceRef?.id && artifact.targetRef?.id) {
      associations.push({ id: artifact.id!, sourceId: artifact.sourceRef.id, targetId: artifact.targetRef.id });
    }
  }
  for (const child of (scope.flowElements ?? []) as ModdleElement[]) {
    if (IGNORED.has(child.$type)) continue;
    if (child.$type === 'bpmn:SequenceFlow') {
      graph.flows[child.id!] = buildFlow(child, file);
      continue;
    }
    const type = EXECUTED[child.$type];
    if (!type) throw unsupported(file, child, child.$type.replace('bpmn:', ''));
    const element = buildElement(child, type, parentId, file, scope.triggeredByEvent === true);
    graph.elements[element.id] = element;
    if (type === 'subProcess') addScope(graph, child, child.id, file, associations);
  }
  for (const flow of Object.values(graph.flows)) {
    const source = graph.elements[flow.sourceId];
    const target = graph.elements[flow.targetId];
    if (source && !source.outgoing.includes(flow.id)) source.outgoing.push(flow.id);
    if (target && !target.incoming.includes(flow.id)) target.incoming.push(flow.id);
  }
}

/**
 * A compensation boundary event is associated (either direction; Camunda Modeler draws boundary ->
 * handler) with exactly one compensation handler: an activity with `isForCompensation="true"`.
 */
function linkCompensationHandlers(graph: ProcessGraph, associations: Association[], file: string): void {
  const compensationBoundary = (id: string) => {
    const element = graph.elements[id];
    return element?.type === 'boundaryEvent' && element.eventKind === 'compensation' ? element : undefined;
  };
  const isBoundary = (id: string) => compensationBoundary(id) !== undefined;
  const isHandler = (id: string) => {
    const element = graph.elements[id];
    return element !== undefined && 'isForCompensation' in element && element.isForCompensation === true;
  };
  for (const { sourceId, targetId } of associations) {
    const [boundaryId, handlerId] = isBoundary(sourceId)
      ? [sourceId, targetId]
      : isBoundary(targetId)
        ? [targetId, sourceId]
        : [];
    if (!boundaryId || !handlerId) continue;
    const boundary = compensationBoundary(boundaryId)!;
    if (!isHandler(handlerId))
      throw invalid(
        file,
        boundaryId,
        `compensation boundary event "${boundaryId}" is associated with "${handlerId}", which is not an activity marked isForCompensation`,
      );
    if (boundary.compensationHandler !== undefined && boundary.compensationHandler !== handlerId) {
      throw invalid(
        file,
        boundaryId,
        `compensation boundary event "${boundaryId}" is associated with two compensation handlers ("${boundary.compensationHandler}", "${handlerId}")`,
      );
    }
    boundary.compensationHandler = handlerId;
  }
}

function buildFlow(flow: ModdleElement, file: string): SequenceFlow {
  if (!flow.sourceRef || !flow.targetRef) {
    throw invalid(file, flow.id, `sequence flow "${flow.id}" needs a source and a target`);
  }
  if (executionListenersOf(file, flow, 'sequence flow'))
    throw new OperonError(
      'OPERON_ERR_BPMN_UNSUPPORTED',
      `${file}: sequence flow "${flow.id}" has execution listeners, which Camunda 8 does not support on sequence flows`,
      {
        details: {
          file,
          elementId: flow.id,
          elementType: 'SequenceFlow',
          feature: 'execution listener on a sequence flow',
        },
      },
    );
  const result: SequenceFlow = { id: flow.id!, sourceId: flow.sourceRef.id, targetId: flow.targetRef.id };
  if (flow.name) result.name = flow.name;
  const body = flow.conditionExpression?.body as string | undefined;
  if (body !== undefined && body.trim() !== '') {
    // Zeebe refuses a condition without `=` ("expected an expression but found a static value").
    const text = body.trim();
    if (!text.startsWith('=')) {
      throw new OperonError(
        'OPERON_ERR_FEEL_SYNTAX',
        `${file}: sequence flow "${flow.id}" has a condition that is not a FEEL expression (it must start with "="): "${text}"`,
        {
          details: { file, elementId: flow.id, expression: text, reason: 'a condition must start with "="' },
        },
      );
    }
    result.condition = feel(file, flow.id!, body);
  }
  return result;
}

type Extension = (type: string) => ModdleElement | undefined;

/** One flow element: the fields every kind has, then those of its kind (one case per kind family). */
function buildElement(
  node: ModdleElement,
  type: ElementType,
  parentId: string | undefined,
  file: string,
  inEventSubprocess: boolean,
): FlowElement {
  const id = node.id!;
  const base: ElementBase = { id, incoming: [], outgoing: [] };
  if (node.name) base.name = node.name;
  if (parentId) base.parentId = parentId;
  const activity = ACTIVITY_TYPES.has(type) ? activityFields(node, file) : undefined;

  const extensions = (node.extensionElements?.values ?? []) as ModdleElement[];
  const ext: Extension = (t) => extensions.find((e) => e.$type === t);

  const listeners = executionListenersOf(file, node, type);
  if (listeners) base.listeners = listeners;
  if (type === 'eventBasedGateway' && node.instantiate)
    throw unsupported(file, node, 'instantiating event-based gateway');

  const properties = (ext('zeebe:Properties')?.properties ?? []) as { name?: string; value?: string }[];
  const named = properties.filter((p) => p.name !== undefined && p.name !== '');
  if (named.length > 0) base.properties = Object.fromEntries(named.map((p) => [p.name!, p.value ?? '']));
  const definitionType = ((node.eventDefinitions ?? []) as ModdleElement[])[0]?.$type;
  const isProcessStart =
    type === 'startEvent' &&
    parentId === undefined &&
    (!definitionType || definitionType === 'bpmn:MessageEventDefinition');
  let startVariables: Record<string, VariableSpec> | undefined;
  try {
    startVariables = startVariablesOf(properties, isProcessStart ? 'start' : `${type} "${id}"`);
  } catch (error) {
    throw invalid(file, id, `"${id}": ${(error as Error).message}`);
  }

  const io = ext('zeebe:IoMapping');
  if (io) {
    const inputs = mappings(file, id, io.inputParameters);
    const outputs = mappings(file, id, io.outputParameters);
    if (inputs.length) base.inputs = inputs;
    if (outputs.length) base.outputs = outputs;
  }

  let element: FlowElement;
  switch (type) {
    case 'startEvent':
    case 'endEvent':
    case 'intermediateCatchEvent':
    case 'intermediateThrowEvent':
    case 'boundaryEvent':
      element = buildEvent(node, type, base, file, inEventSubprocess, ext, startVariables);
      break;
    case 'exclusiveGateway':
    case 'inclusiveGateway':
      element = { ...base, type, ...(node.default ? { defaultFlow: node.default.id as string } : {}) };
      break;
    case 'parallelGateway':
    case 'eventBasedGateway':
      element = { ...base, type };
      break;
    default:
      element = buildActivity(node, type, { ...base, ...activity }, file, ext, properties);
  }
  checkListenerEvents(file, element);
  const maxConcurrent = element.properties?.[MAX_CONCURRENT_PROPERTY];
  if (maxConcurrent !== undefined) {
    if (!('job' in element && element.job))
      throw invalid(
        file,
        id,
        `${type} "${id}": ${MAX_CONCURRENT_PROPERTY} limits a task's jobs and belongs on a task that creates them (a service, send, script or business rule task with a zeebe:taskDefinition) or on the process`,
      );
    const parsed = parseMaxConcurrent(maxConcurrent);
    if (typeof parsed === 'string') throw invalid(file, id, `${type} "${id}": ${parsed}`);
    element.maxConcurrent = parsed;
  }
  if (element.properties?.[CAPACITY_PROPERTY] !== undefined)
    throw invalid(
      file,
      id,
      `${type} "${id}": ${CAPACITY_PROPERTY} belongs on the process; a task limits its own jobs with ${MAX_CONCURRENT_PROPERTY}`,
    );
  return element;
}

/** What every activity may carry: a default flow, multi-instance loop characteristics, `isForCompensation`. */
function activityFields(node: ModdleElement, file: string): Omit<ActivityBase, keyof ElementBase> {
  const fields: Omit<ActivityBase, keyof ElementBase> = {};
  if (node.default) fields.defaultFlow = node.default.id;
  const loop = loopOf(node, file);
  if (loop) fields.multiInstance = loop;
  if (node.isForCompensation) fields.isForCompensation = true;
  return fields;
}

/** An event: its position (start, catch, boundary, throw, end) composed with its event definition. */
function buildEvent(
  node: ModdleElement,
  type: EventElement['type'],
  base: ElementBase,
  file: string,
  inEventSubprocess: boolean,
  ext: Extension,
  startVariables: Record<string, VariableSpec> | undefined,
): EventElement {
  const id = base.id;
  const definitions = (node.eventDefinitions ?? []) as ModdleElement[];
  if (definitions.length > 1) throw unsupported(file, node, 'multiple event definitions');
  const kind = eventKind(file, node, definitions[0]);
  if (type === 'startEvent' && (kind === 'error' || kind === 'escalation') && !inEventSubprocess)
    throw unsupported(file, node, `${kind} start event outside an event subprocess`);
  const definition = definitions[0];
  const throws = type === 'endEvent' || type === 'intermediateThrowEvent';
  if (kind === 'message' && throws && !ext('zeebe:TaskDefinition'))
    throw unsupported(file, node, 'message throw event without a zeebe:taskDefinition');
  const piece = eventDefinitionOf(file, node, type, kind, definition, ext, inEventSubprocess);
  // eventKind() refused every definition the event's position does not allow, so each cast below holds.
  switch (type) {
    case 'startEvent':
      return {
        ...base,
        type,
        ...(inEventSubprocess ? { interrupting: node.isInterrupting !== false } : {}),
        ...(startVariables ? { startVariables } : {}),
        ...piece,
      } as StartEvent;
    case 'boundaryEvent':
      if (!node.attachedToRef) throw invalid(file, id, `boundary event "${id}" is not attached to an activity`);
      return {
        ...base,
        type,
        attachedTo: node.attachedToRef.id as string,
        cancelActivity: node.cancelActivity !== false,
        ...piece,
      } as BoundaryEvent;
    case 'intermediateCatchEvent':
      return { ...base, type, ...piece } as IntermediateCatchEvent;
    case 'intermediateThrowEvent':
      return { ...base, type, ...piece } as IntermediateThrowEvent;
    case 'endEvent':
      return { ...base, type, ...piece } as EndEvent;
  }
}

type AnyEventDefinition =
  | NoneDefinition
  | MessageCatchDefinition
  | MessageThrowDefinition
  | TimerEventDefinition
  | ErrorCatchDefinition
  | EscalationCatchDefinition
  | SignalThrowDefinition
  | TerminateDefinition
  | LinkDefinition
  | CompensationThrowDefinition;

/** The fields of one event definition (signals that are caught become message waits on `signal:<name>`). */
function eventDefinitionOf(
  file: string,
  node: ModdleElement,
  type: EventElement['type'],
  kind: EventKind,
  definition: ModdleElement | undefined,
  ext: Extension,
  inEventSubprocess: boolean,
): AnyEventDefinition {
  const id = node.id!;
  const throws = type === 'endEvent' || type === 'intermediateThrowEvent';
  switch (kind) {
    case 'none':
    case 'terminate':
      return { eventKind: kind };
    case 'message':
      // Camunda 8 runs message throw events like send tasks: as jobs.
      if (throws) return { eventKind: 'message', job: jobOf(file, id, type, ext) };
      return {
        eventKind: 'message',
        message: messageOf(file, node, definition!, type !== 'startEvent' || inEventSubprocess),
      };
    case 'escalation': {
      const code = definition!.escalationRef?.escalationCode as string | undefined;
      if (code) return { eventKind: 'escalation', escalationCode: code };
      if (throws) throw invalid(file, id, `escalation event "${id}" needs an escalation with an escalation code`);
      return { eventKind: 'escalation' };
    }
    case 'signal': {
      const name = definition!.signalRef?.name as string | undefined;
      if (!name || isFeelExpression(name))
        throw invalid(file, id, `signal event "${id}" needs a signal with a literal name`);
      if (throws) return { eventKind: 'signal', signal: { name } };
      // Catching: a message wait on the signal's subscription name with a fixed key (SIGNAL_CORRELATION_KEY).
      return {
        eventKind: 'message',
        message: { name: `${SIGNAL_PREFIX}${name}`, correlationKey: SIGNAL_CORRELATION_KEY },
        signal: { name },
      };
    }
    case 'link':
      if (!definition!.name) throw invalid(file, id, `link event "${id}" needs a link name`);
      return { eventKind: 'link', link: { name: definition!.name } };
    case 'timer':
      return { eventKind: 'timer', timer: timerOf(file, node, definition!) };
    case 'compensation':
      // waitForCompletion is not read: as in Camunda 8, a compensation throw always waits for its handlers.
      return definition!.activityRef
        ? { eventKind: 'compensation', compensateActivity: definition!.activityRef.id as string }
        : { eventKind: 'compensation' };
    case 'error': {
      const code = definition!.errorRef?.errorCode as string | undefined;
      if (code) return { eventKind: 'error', errorCode: code };
      if (type === 'endEvent') throw invalid(file, id, `error end event "${id}" needs an error with an error code`);
      return { eventKind: 'error' };
    }
  }
}

/** zeebe:taskDefinition and zeebe:taskHeaders of an element done by a job worker. */
function jobOf(file: string, id: string, type: ElementType, ext: Extension): JobDefinition {
  const taskDefinition = ext('zeebe:TaskDefinition');
  if (!taskDefinition?.type) throw invalid(file, id, `${type} "${id}" needs a zeebe:taskDefinition with a type`);
  const { retries, retriesExpression } = retriesOf(file, id, String(taskDefinition.retries ?? '3'), `${type} "${id}"`);
  const headers: Record<string, string> = {};
  for (const header of (ext('zeebe:TaskHeaders')?.values ?? []) as ModdleElement[])
    headers[header.key] = header.value ?? '';
  if (isFeelExpression(taskDefinition.type)) feel(file, id, taskDefinition.type);
  return {
    taskType: taskDefinition.type,
    retries,
    headers,
    ...(retriesExpression !== undefined ? { retriesExpression } : {}),
  };
}

/** An activity: a job worker's task, or what its kind reads from the XML. */
function buildActivity(
  node: ModdleElement,
  type: Activity['type'],
  base: ActivityBase,
  file: string,
  ext: Extension,
  properties: { name?: string; value?: string }[],
): Activity {
  const id = base.id;
  const calledDecision = type === 'businessRuleTask' ? ext('zeebe:CalledDecision') : undefined;
  switch (type) {
    case 'task':
    case 'manualTask':
      return { ...base, type };
    case 'serviceTask':
    case 'sendTask':
      return { ...base, type, job: jobOf(file, id, type, ext) };
    case 'businessRuleTask':
      if (!calledDecision) return { ...base, type, job: jobOf(file, id, type, ext) };
      return { ...base, type, calledDecision: calledDecisionOf(file, id, calledDecision) };
    case 'scriptTask': {
      if (ext('zeebe:TaskDefinition') && !ext('zeebe:Script'))
        return { ...base, type, job: jobOf(file, id, type, ext) };
      const script = ext('zeebe:Script');
      if (!script?.expression || !script.resultVariable) {
        throw invalid(
          file,
          id,
          `script task "${id}" needs a zeebe:script with an expression and a resultVariable (or a zeebe:taskDefinition)`,
        );
      }
      return {
        ...base,
        type,
        script: { expression: feel(file, id, script.expression), resultVariable: script.resultVariable },
      };
    }
    case 'receiveTask':
      if (!node.messageRef) throw invalid(file, id, `receive task "${id}" needs a message`);
      return { ...base, type, message: messageOf(file, node, node, true) };
    case 'userTask':
      return { ...base, type, userTask: userTaskOf(file, id, ext, properties) };
    case 'subProcess':
      return { ...base, type, startEventId: '', ...(node.triggeredByEvent ? { triggeredByEvent: true as const } : {}) };
    case 'callActivity':
      return { ...base, type, calledElement: calledElementOf(file, node, ext) };
  }
}

function userTaskOf(
  file: string,
  id: string,
  ext: Extension,
  properties: { name?: string; value?: string }[],
): UserTaskDefinition {
  const assignment = ext('zeebe:AssignmentDefinition');
  const form = ext('zeebe:FormDefinition');
  const userTask: UserTaskDefinition = {};
  if (assignment?.assignee) userTask.assignee = assignment.assignee;
  const candidateGroups = candidatesOf(file, id, assignment?.candidateGroups);
  if (candidateGroups) userTask.candidateGroups = candidateGroups;
  const candidateUsers = candidatesOf(file, id, assignment?.candidateUsers);
  if (candidateUsers) userTask.candidateUsers = candidateUsers;
  // Four-eyes (docs/security.md): the completer must be neither the starter nor an earlier completer.
  const fourEyes = properties.find((p) => p.name === 'operon:fourEyes')?.value?.trim();
  if (fourEyes !== undefined) {
    if (fourEyes !== 'true' && fourEyes !== 'false')
      throw invalid(file, id, `user task "${id}": operon:fourEyes must be "true" or "false", not "${fourEyes}"`);
    if (fourEyes === 'true') userTask.fourEyes = true;
  }
  if (assignment?.assignee && isFeelExpression(assignment.assignee)) feel(file, id, assignment.assignee);
  const formKey = form?.formKey ?? form?.formId ?? ext('zeebe:UserTaskForm')?.id;
  if (formKey) userTask.formKey = formKey;
  const schedule = ext('zeebe:TaskSchedule');
  for (const field of ['dueDate', 'followUpDate'] as const) {
    const text = (schedule?.[field] as string | undefined)?.trim();
    if (!text) continue;
    if (isFeelExpression(text)) feel(file, id, text);
    else if (Number.isNaN(Date.parse(text)) || !/^\d{4}-\d{2}-\d{2}T/.test(text))
      throw invalid(file, id, `user task "${id}" has ${field} "${text}", which is not an ISO 8601 date-time`);
    userTask[field] = text;
  }
  const priority = (ext('zeebe:PriorityDefinition')?.priority as string | undefined)?.trim();
  if (priority) {
    if (isFeelExpression(priority)) feel(file, id, priority);
    else if (!/^\d+$/.test(priority) || Number(priority) > 100)
      throw invalid(
        file,
        id,
        `user task "${id}" has priority "${priority}", which is not a whole number from 0 to 100`,
      );
    userTask.priority = priority;
  }
  const taskListeners = taskListenersOf(file, id, ext('zeebe:TaskListeners'));
  if (taskListeners.creating.length > 0) userTask.creatingListeners = taskListeners.creating;
  if (taskListeners.assigning.length > 0) userTask.assigningListeners = taskListeners.assigning;
  if (taskListeners.updating.length > 0) userTask.updatingListeners = taskListeners.updating;
  if (taskListeners.completing.length > 0) userTask.completingListeners = taskListeners.completing;
  if (taskListeners.canceling.length > 0) userTask.cancelingListeners = taskListeners.canceling;
  // As Zeebe: task listeners belong to Camunda user tasks, not to job-worker user tasks.
  if (Object.values(taskListeners).some((l) => l.length > 0) && !ext('zeebe:UserTask'))
    throw invalid(
      file,
      id,
      `user task "${id}" has task listeners but no zeebe:userTask; task listeners are only allowed on Camunda user tasks`,
    );
  return userTask;
}

function calledElementOf(file: string, node: ModdleElement, ext: Extension): CallActivity['calledElement'] {
  const id = node.id!;
  const called = ext('zeebe:CalledElement');
  const processId = (called?.processId ?? called?.processIdExpression) as string | undefined;
  if (!processId) throw invalid(file, id, `call activity "${id}" needs a zeebe:calledElement processId`);
  if (isFeelExpression(processId)) feel(file, id, processId);
  const calledElement: CallActivity['calledElement'] = {
    processId,
    propagateAllParentVariables: called!.propagateAllParentVariables !== false,
    propagateAllChildVariables: called!.propagateAllChildVariables !== false,
  };
  // Camunda 8.6+ binding: attributes newer than the zeebe moddle descriptor, which moddle keeps as
  // plain properties of the element (or in $attrs).
  const attrs = {
    ...((called!.$attrs ?? {}) as Record<string, string>),
    ...(called as unknown as Record<string, string>),
  };
  const bindingType = attrs.bindingType ?? 'latest';
  if (bindingType === 'versionTag') {
    if (!attrs.versionTag)
      throw invalid(file, id, `call activity "${id}" has bindingType="versionTag" but no versionTag`);
    calledElement.versionTag = attrs.versionTag;
  } else if (bindingType !== 'latest') {
    throw unsupported(file, node, `call activity binding "${bindingType}" (supported: latest, versionTag)`);
  }
  return calledElement;
}

/** A literal comma-separated list, or one FEEL expression kept whole (evaluated when the task is created). */
function candidatesOf(file: string, id: string, value: unknown): string[] | undefined {
  if (value === undefined || value === null || String(value).trim() === '') return undefined;
  const text = String(value);
  if (isFeelExpression(text.trim())) {
    feel(file, id, text.trim());
    return [text.trim()];
  }
  const list = text
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** Task listener event types Camunda 8 knows, with the names before 8.8. */
const TASK_LISTENER_EVENTS: Record<string, TaskListenerEvent> = {
  creating: 'creating',
  create: 'creating',
  assigning: 'assigning',
  assignment: 'assigning',
  updating: 'updating',
  update: 'updating',
  completing: 'completing',
  complete: 'completing',
  canceling: 'canceling',
  cancel: 'canceling',
};

/**
 * `zeebe:taskListeners`: "creating" listeners run as jobs before the task is offered; "assigning",
 * "updating" and "completing" ones after an assignment, update or completion is requested, before
 * it takes effect; "canceling" ones when the task is terminated, before its element ends (names
 * before Camunda 8.8: create, assignment, update, complete, cancel). A listener without an event
 * type or with one Camunda 8 does not know is refused as Zeebe refuses it.
 */
function taskListenersOf(
  file: string,
  id: string,
  extension: ModdleElement | undefined,
): Record<TaskListenerEvent, ListenerDefinition[]> {
  const entries = (extension?.listeners ?? []) as ModdleElement[];
  const result: Record<TaskListenerEvent, ListenerDefinition[]> = {
    creating: [],
    assigning: [],
    updating: [],
    completing: [],
    canceling: [],
  };
  for (const entry of entries) {
    const eventType = entry.eventType === undefined ? '' : String(entry.eventType).trim();
    if (eventType === '') throw invalid(file, id, `user task "${id}" has a task listener without an eventType`);
    const event = Object.hasOwn(TASK_LISTENER_EVENTS, eventType) ? TASK_LISTENER_EVENTS[eventType] : undefined;
    if (!event)
      throw invalid(
        file,
        id,
        `user task "${id}" has a task listener with eventType "${eventType}"; Camunda 8 knows creating, assigning, updating, completing and canceling`,
      );
    result[event].push(listenerOf(file, id, entry, `user task "${id}": task listener`));
  }
  return result;
}

function eventKind(file: string, node: ModdleElement, definition: ModdleElement | undefined): EventKind {
  const type = EXECUTED[node.$type]!;
  const kind: EventKind | undefined = !definition
    ? 'none'
    : (
        {
          'bpmn:MessageEventDefinition': 'message',
          'bpmn:TimerEventDefinition': 'timer',
          'bpmn:ErrorEventDefinition': 'error',
          'bpmn:TerminateEventDefinition': 'terminate',
          'bpmn:LinkEventDefinition': 'link',
          'bpmn:EscalationEventDefinition': 'escalation',
          'bpmn:SignalEventDefinition': 'signal',
          'bpmn:CompensateEventDefinition': 'compensation',
        } as Record<string, EventKind>
      )[definition.$type];
  const allowed: Record<string, EventKind[]> = {
    startEvent: ['none', 'message', 'timer', 'error', 'escalation', 'signal'],
    endEvent: ['none', 'terminate', 'error', 'message', 'escalation', 'signal', 'compensation'],
    intermediateCatchEvent: ['message', 'timer', 'link', 'signal'],
    intermediateThrowEvent: ['none', 'message', 'link', 'escalation', 'signal', 'compensation'],
    boundaryEvent: ['error', 'timer', 'message', 'escalation', 'signal', 'compensation'],
  };
  if (!kind || !allowed[type]!.includes(kind)) {
    const what = definition
      ? definition.$type.replace('bpmn:', '').replace('EventDefinition', '').toLowerCase()
      : 'none';
    throw unsupported(file, node, `${what} ${type}`);
  }
  return kind;
}

function messageOf(file: string, node: ModdleElement, holder: ModdleElement, needsKey: boolean): MessageDefinition {
  const message = holder.messageRef as ModdleElement | undefined;
  if (!message?.name) throw invalid(file, node.id, `"${node.id}" needs a message with a name`);
  const result: MessageDefinition = { name: message.name };
  if (isFeelExpression(message.name)) feel(file, node.id!, message.name);
  if (needsKey) {
    const subscription = ((message.extensionElements?.values ?? []) as ModdleElement[]).find(
      (e) => e.$type === 'zeebe:Subscription',
    );
    if (!subscription?.correlationKey) {
      throw invalid(
        file,
        node.id,
        `"${node.id}" waits for message "${message.name}", which needs a zeebe:subscription correlationKey`,
      );
    }
    result.correlationKey = feel(file, node.id!, subscription.correlationKey);
  }
  return result;
}

function timerOf(file: string, node: ModdleElement, definition: ModdleElement): TimerDefinition {
  const pick = (['timeDuration', 'timeDate', 'timeCycle'] as const).find((k) => definition[k]?.body);
  if (!pick) throw invalid(file, node.id, `timer "${node.id}" needs a duration, date or cycle`);
  const kind = ({ timeDuration: 'duration', timeDate: 'date', timeCycle: 'cycle' } as const)[pick];
  const expression = String(definition[pick].body).trim();
  if (isFeelExpression(expression)) feel(file, node.id!, expression);
  else {
    const error = timerSyntaxError(kind, expression);
    if (error) throw invalid(file, node.id, `timer "${node.id}": ${error}`);
  }
  return { kind, expression };
}

function mappings(file: string, elementId: string, parameters: ModdleElement[] | undefined): VariableMapping[] {
  return (parameters ?? []).map((p) => {
    if (!p.target) throw invalid(file, elementId, `"${elementId}" has a zeebe:ioMapping entry without a target`);
    // A source without `=` is a static string value, as in Camunda 8.
    const source =
      p.source === undefined || p.source === ''
        ? 'null'
        : isFeelExpression(p.source)
          ? feel(file, elementId, p.source)
          : JSON.stringify(p.source);
    return { source, target: p.target };
  });
}

/** Checks FEEL syntax at deploy time; returns the expression without `=`. */
function feel(file: string, elementId: string, text: string): string {
  const expression = stripFeelMarker(text);
  const error = feelSyntaxError(expression);
  if (error) {
    throw new OperonError(
      'OPERON_ERR_FEEL_SYNTAX',
      `${file}: "${elementId}" has an invalid FEEL expression "${expression}": ${error}`,
      {
        details: { file, elementId, expression, reason: error },
      },
    );
  }
  return expression;
}

function loopOf(node: ModdleElement, file: string): MultiInstanceDefinition | undefined {
  const loop = node.loopCharacteristics as ModdleElement | undefined;
  if (!loop) return undefined;
  if (loop.$type !== 'bpmn:MultiInstanceLoopCharacteristics') throw unsupported(file, node, 'standard loop activity');
  const zeebe = ((loop.extensionElements?.values ?? []) as ModdleElement[]).find(
    (e) => e.$type === 'zeebe:LoopCharacteristics',
  );
  if (!zeebe?.inputCollection) {
    throw invalid(
      file,
      node.id,
      `multi-instance activity "${node.id}" needs a zeebe:loopCharacteristics inputCollection`,
    );
  }
  const definition: MultiInstanceDefinition = {
    sequential: loop.isSequential === true,
    inputCollection: feel(file, node.id!, zeebe.inputCollection),
  };
  if (zeebe.inputElement) definition.inputElement = zeebe.inputElement;
  if (zeebe.outputCollection) definition.outputCollection = zeebe.outputCollection;
  if (zeebe.outputElement) definition.outputElement = feel(file, node.id!, zeebe.outputElement);
  const completion = loop.completionCondition?.body as string | undefined;
  if (completion && completion.trim() !== '') definition.completionCondition = feel(file, node.id!, completion);
  return definition;
}

export function invalid(file: string, elementId: string | undefined, message: string): OperonError {
  return new OperonError('OPERON_ERR_BPMN_INVALID', `${file}: ${message}`, { details: { file, elementId } });
}

function unsupported(file: string, node: ModdleElement, what: string): OperonError {
  return new OperonError(
    'OPERON_ERR_BPMN_UNSUPPORTED',
    `${file}: "${node.id}" is a ${what}, which Operon does not execute`,
    {
      details: { file, elementId: node.id, elementType: node.$type.replace('bpmn:', ''), feature: what },
    },
  );
}

/**
 * zeebe:calledDecision: the latest deployed version of the decision (or the newest carrying the
 * task's versionTag) runs inline when the task is reached. `bindingType="deployment"` is refused
 * rather than run against another version.
 */
function calledDecisionOf(file: string, id: string, called: ModdleElement): DecisionTask['calledDecision'] {
  const attrs = {
    ...((called.$attrs ?? {}) as Record<string, string>),
    ...(called as unknown as Record<string, string>),
  };
  const decisionId = called.decisionId as string | undefined;
  const resultVariable = called.resultVariable as string | undefined;
  if (!decisionId || !resultVariable)
    throw invalid(
      file,
      id,
      `business rule task "${id}" needs a zeebe:calledDecision with a decisionId and a resultVariable`,
    );
  if (isFeelExpression(decisionId)) feel(file, id, decisionId);
  const bindingType = attrs.bindingType ?? 'latest';
  if (bindingType === 'versionTag') {
    if (!attrs.versionTag)
      throw invalid(file, id, `business rule task "${id}" has bindingType="versionTag" but no versionTag`);
    return { decisionId, resultVariable, versionTag: attrs.versionTag };
  }
  if (bindingType !== 'latest') {
    throw new OperonError(
      'OPERON_ERR_BPMN_UNSUPPORTED',
      `${file}: business rule task "${id}" binds its decision by "${bindingType}"; Operon calls the latest version (bindingType="latest") or the newest with a version tag (bindingType="versionTag")`,
      {
        details: {
          file,
          elementId: id,
          elementType: 'BusinessRuleTask',
          feature: `zeebe:calledDecision bindingType="${bindingType}"`,
        },
      },
    );
  }
  return { decisionId, resultVariable };
}
