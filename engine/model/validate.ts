import { OperonError } from '../errors.ts';
import {
  isActivity,
  type Activity,
  type BoundaryEvent,
  type SubProcess,
  type FlowElement,
  type ProcessGraph,
} from './graph.ts';

export { isActivity };

/**
 * Structural rules bpmn-moddle does not check, and that the runtime relies on. Completes the graph
 * (boundary lists, subprocess start events). Throws OPERON_ERR_BPMN_INVALID naming the element.
 */
export function validateGraph(graph: ProcessGraph, file: string): void {
  const fail = (
    elementId: string,
    message: string,
    code: 'OPERON_ERR_BPMN_INVALID' | 'OPERON_ERR_BPMN_UNSUPPORTED' = 'OPERON_ERR_BPMN_INVALID',
  ) => new OperonError(code, `${file}: ${message}`, { details: { file, elementId } });

  if (graph.startEvents.length === 0) {
    throw fail(graph.bpmnProcessId, `process "${graph.bpmnProcessId}" has no start event`);
  }
  if (graph.startEvents.filter((s) => s.kind === 'none').length > 1) {
    const second = graph.startEvents.filter((s) => s.kind === 'none')[1]!;
    throw fail(second.elementId, `process "${graph.bpmnProcessId}" has more than one none start event`);
  }

  for (const flow of Object.values(graph.flows)) {
    const source = graph.elements[flow.sourceId];
    const target = graph.elements[flow.targetId];
    if (!source || !target)
      throw fail(flow.id, `sequence flow "${flow.id}" connects to something that is not an executable flow element`);
    if (source.parentId !== target.parentId)
      throw fail(flow.id, `sequence flow "${flow.id}" crosses a subprocess boundary`);
    if (target.type === 'startEvent' || target.type === 'boundaryEvent')
      throw fail(flow.id, `sequence flow "${flow.id}" leads into ${target.type} "${target.id}"`);
    if (source.type === 'endEvent') throw fail(flow.id, `sequence flow "${flow.id}" leaves end event "${source.id}"`);
    if (flow.condition !== undefined && source.type !== 'exclusiveGateway' && source.type !== 'inclusiveGateway') {
      throw fail(
        flow.id,
        `sequence flow "${flow.id}" has a condition but does not leave an exclusive or inclusive gateway`,
        'OPERON_ERR_BPMN_UNSUPPORTED',
      );
    }
    if (
      source.type === 'eventBasedGateway' &&
      !(target.type === 'intermediateCatchEvent' && target.incoming.length === 1)
    ) {
      throw fail(
        flow.id,
        `sequence flow "${flow.id}" leaves event-based gateway "${source.id}" but does not lead to a message or timer catch event that only it leads to`,
      );
    }
  }

  for (const element of Object.values(graph.elements)) {
    if (element.type === 'boundaryEvent') {
      const host = graph.elements[element.attachedTo!];
      if (!host || !isActivity(host))
        throw fail(element.id, `boundary event "${element.id}" must be attached to an activity`);
      if (host.parentId !== element.parentId)
        throw fail(element.id, `boundary event "${element.id}" is not in the scope of its activity`);
      if (element.eventKind === 'error' && element.cancelActivity === false)
        throw fail(element.id, `error boundary event "${element.id}" must interrupt`);
      if (element.eventKind === 'compensation') linkCompensationBoundary(graph, element, host, fail);
      (host.boundaryEvents ??= []).push(element.id);
    }
    if ('compensateActivity' in element && element.compensateActivity !== undefined)
      checkActivityRef(graph, element, element.compensateActivity, fail);
    if (element.type === 'subProcess') {
      const starts = Object.values(graph.elements).filter(
        (e) => e.parentId === element.id && e.type === 'startEvent',
      ) as Extract<FlowElement, { type: 'startEvent' }>[];
      if (starts.length !== 1) throw fail(element.id, `subprocess "${element.id}" needs exactly one start event`);
      const start = starts[0]!;
      if (element.triggeredByEvent) {
        if (start.eventKind === 'none')
          throw fail(
            start.id,
            `the start event of event subprocess "${element.id}" needs an error, message or timer definition`,
          );
        if (element.incoming.length > 0 || element.outgoing.length > 0 || element.boundaryEvents)
          throw fail(element.id, `event subprocess "${element.id}" cannot have sequence flows or boundary events`);
        if (element.multiInstance)
          throw fail(
            element.id,
            `event subprocess "${element.id}" cannot be multi-instance`,
            'OPERON_ERR_BPMN_UNSUPPORTED',
          );
        if (start.eventKind === 'error' && start.interrupting === false)
          throw fail(start.id, `error start event "${start.id}" must interrupt`);
        // An event subprocess belongs to the process or to the embedded subprocess it sits in.
        const holder = element.parentId === undefined ? graph : (graph.elements[element.parentId] as SubProcess);
        (holder.eventSubprocesses ??= []).push(element.id);
      } else if (start.eventKind !== 'none') {
        throw fail(
          start.id,
          `the start event of subprocess "${element.id}" must be a none start event`,
          'OPERON_ERR_BPMN_UNSUPPORTED',
        );
      }
      element.startEventId = start.id;
    }
    if (element.type === 'intermediateThrowEvent' && element.eventKind === 'link') {
      const targets = Object.values(graph.elements).filter(
        (e) =>
          e.type === 'intermediateCatchEvent' &&
          e.eventKind === 'link' &&
          e.link.name === element.link.name &&
          e.parentId === element.parentId,
      );
      if (targets.length !== 1)
        throw fail(
          element.id,
          `link event "${element.id}" needs exactly one catching link event named "${element.link.name}" in its scope`,
        );
      element.link.targetId = targets[0]!.id;
    }
    if (element.type === 'intermediateCatchEvent' && element.eventKind === 'link' && element.incoming.length > 0) {
      throw fail(element.id, `catching link event "${element.id}" cannot have incoming sequence flows`);
    }
    if (
      'defaultFlow' in element &&
      element.defaultFlow !== undefined &&
      !element.outgoing.includes(element.defaultFlow)
    ) {
      throw fail(element.id, `the default flow of "${element.id}" is not one of its outgoing flows`);
    }
    if (element.type === 'eventBasedGateway' && element.outgoing.length < 2) {
      throw fail(element.id, `event-based gateway "${element.id}" needs at least two outgoing flows`);
    }
    if (isActivity(element) && element.isForCompensation) checkCompensationHandler(graph, element, fail);
    if (element.type === 'exclusiveGateway' && element.outgoing.length > 1) {
      for (const flowId of element.outgoing) {
        if (flowId !== element.defaultFlow && graph.flows[flowId]!.condition === undefined) {
          throw fail(
            flowId,
            `sequence flow "${flowId}" leaves exclusive gateway "${element.id}" without a condition and is not its default flow`,
          );
        }
      }
    }
  }
}

type Fail = (
  elementId: string,
  message: string,
  code?: 'OPERON_ERR_BPMN_INVALID' | 'OPERON_ERR_BPMN_UNSUPPORTED',
) => OperonError;

/** A compensation boundary event: no flows out, one handler in its scope; its activity learns the handler. */
function linkCompensationBoundary(
  graph: ProcessGraph,
  boundary: Extract<BoundaryEvent, { eventKind: 'compensation' }>,
  host: Activity,
  fail: Fail,
): void {
  const handlerId = boundary.compensationHandler;
  if (handlerId === undefined)
    throw fail(
      boundary.id,
      `compensation boundary event "${boundary.id}" is not associated with a compensation handler (an activity marked isForCompensation)`,
    );
  if (boundary.outgoing.length > 0)
    throw fail(
      boundary.id,
      `compensation boundary event "${boundary.id}" cannot have outgoing sequence flows; it is associated with its handler`,
    );
  if (graph.elements[handlerId]!.parentId !== boundary.parentId)
    throw fail(
      handlerId,
      `compensation handler "${handlerId}" must be in the same scope as its boundary event "${boundary.id}"`,
    );
  if (host.compensationHandler !== undefined)
    throw fail(boundary.id, `activity "${host.id}" has more than one compensation boundary event`);
  host.compensationHandler = handlerId;
}

/** A compensation handler runs only through compensation: no sequence flows, no boundary events, one instance. */
function checkCompensationHandler(graph: ProcessGraph, handler: Activity, fail: Fail): void {
  if (handler.incoming.length > 0 || handler.outgoing.length > 0)
    throw fail(handler.id, `compensation handler "${handler.id}" cannot have incoming or outgoing sequence flows`);
  if (handler.type === 'subProcess' && handler.triggeredByEvent)
    throw fail(handler.id, `event subprocess "${handler.id}" cannot be a compensation handler`);
  if (handler.multiInstance)
    throw fail(handler.id, `compensation handler "${handler.id}" is multi-instance`, 'OPERON_ERR_BPMN_UNSUPPORTED');
  const boundaries = Object.values(graph.elements).filter((e): e is BoundaryEvent => e.type === 'boundaryEvent');
  if (boundaries.some((e) => e.attachedTo === handler.id))
    throw fail(handler.id, `compensation handler "${handler.id}" cannot have boundary events`);
  if (!boundaries.some((e) => e.eventKind === 'compensation' && e.compensationHandler === handler.id)) {
    throw fail(
      handler.id,
      `compensation handler "${handler.id}" is not associated with any compensation boundary event`,
    );
  }
}

/**
 * `activityRef` of a compensation throw or end event: an activity of the scope it compensates (its own
 * scope, or, inside an event subprocess, the scope the event subprocess belongs to).
 */
function checkActivityRef(graph: ProcessGraph, event: FlowElement, activityRef: string, fail: Fail): void {
  const target = graph.elements[activityRef];
  const scope = event.parentId === undefined ? undefined : graph.elements[event.parentId];
  const inEventSubprocess = scope?.type === 'subProcess' && scope.triggeredByEvent === true;
  const scopes = [event.parentId, ...(inEventSubprocess ? [scope.parentId] : [])];
  if (!target || !isActivity(target) || target.isForCompensation || !scopes.includes(target.parentId)) {
    throw fail(
      event.id,
      `compensation event "${event.id}" refers to "${activityRef}", which is not an activity in the scope it compensates`,
    );
  }
}
