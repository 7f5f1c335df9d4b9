/**
 * Process instance migration, pure: moves a stored snapshot from one process definition to another
 * along an element-id mapping, or refuses with the element that cannot move. No I/O; the store
 * writes the result (engine/store/migrate-instances.ts), and a dry run is this function alone.
 *
 * Rules (docs/engine.md "Migrating instances"), as in Zeebe's process instance migration:
 * - Every active element instance must map to an element of the same kind in the target: same BPMN
 *   type, same event definition, multi-instance or not alike, and inside the element that its flow
 *   scope maps to (an element never changes subprocess). An element with no explicit mapping maps
 *   to the element with the same id, if the target has one of the same kind (Zeebe asks for every
 *   mapping explicitly; Operon maps unchanged ids implicitly and reports each one it used).
 * - Jobs, user tasks, child instances and open incidents keep their keys: they now belong to the
 *   target element. A timer stays (same due time) when its event maps to a timer event of the target
 *   element instance; a timer event with no mapped source timer is scheduled now; a source timer
 *   without a target event is cancelled. Message subscriptions are closed and opened again from the
 *   target's definitions (message name and correlation key evaluated now).
 * - Refused: an element running an execution or task listener, a compensation in progress, tokens
 *   waiting at a join whose gateway or incoming flows do not map.
 */
import {
  boundaryEventsOf,
  multiInstanceOf,
  startEventOf,
  type FlowElement,
  type MessageCatchEvent,
  type ProcessGraph,
  type ReceiveTask,
  type TimerEvent,
} from '../model/graph.ts';
import type { Effect, InstanceSnapshot, StepContext } from './contract.ts';
import { clone } from './events.ts';
import { openSubscription } from './elements/definitions/message.ts';
import { scheduleTimer, timerDue } from './elements/definitions/timer.ts';
import { Execution, IncidentSignal } from './execution.ts';
import { ROOT_KEY, type ElementInstance, type RuntimeState } from './state.ts';

export interface ElementMapping {
  sourceElementId: string;
  targetElementId: string;
}

/** One element instance after the migration: where it was and where it now is. */
export interface MigratedElement {
  elementInstanceKey: string;
  sourceElementId: string;
  targetElementId: string;
  elementType: string;
  /** True when no mapping named it and the unchanged id was used. */
  implicit?: true;
}

export type MigrationPlan =
  | {
      ok: true;
      snapshot: InstanceSnapshot;
      effects: Effect[];
      elements: MigratedElement[];
      /** Timers kept: timer key -> the target timer event id. */
      keptTimers: Record<string, string>;
    }
  | { ok: false; reason: string; elementId?: string; elementInstanceKey?: string };

class Refusal extends Error {
  constructor(
    message: string,
    readonly elementId?: string,
    readonly elementInstanceKey?: string,
  ) {
    super(message);
  }
}

/**
 * Applies `mappings` to `snapshot` (of an instance of `source`) for `target`. Pure: the snapshot is
 * copied, and a refusal changes nothing.
 */
export function migrateInstance(
  source: ProcessGraph,
  target: ProcessGraph,
  snapshot: InstanceSnapshot,
  mappings: ElementMapping[],
  ctx: StepContext,
): MigrationPlan {
  const state = clone(snapshot) as unknown as RuntimeState;
  try {
    if (state.lifecycle !== 'active') throw new Refusal(`the instance is ${state.lifecycle}`);
    // A held termination finishes on the graph it started on.
    const terminating = Object.values(state.elements).find((ei) => ei.lifecycle === 'terminating');
    if (terminating)
      throw new Refusal(
        `element "${terminating.elementId}" is being terminated (its user task's canceling listeners run)`,
        terminating.key === ROOT_KEY ? undefined : terminating.elementId,
        terminating.key === ROOT_KEY ? undefined : terminating.key,
      );
    const map = mappingOf(source, target, mappings);
    const x = new Execution(target, state, ctx.now, {
      stepBudgetMs: ctx.stepBudgetMs,
      minCycleIntervalMs: ctx.minCycleIntervalMs,
      feel: ctx.feel,
    });
    const elements: MigratedElement[] = [];
    const keptTimers: Record<string, string> = {};
    const active = Object.values(state.elements).filter((ei) => ei.key !== ROOT_KEY);
    // Check every element first, so the waits below are only touched for an instance that moves.
    const targets = new Map<string, FlowElement>();
    for (const ei of active) {
      const from = source.elements[ei.elementId]!;
      const to = map.resolve(ei.elementId);
      if (!to)
        throw new Refusal(
          `element "${ei.elementId}" is active (element instance ${ei.key}) and has no mapping to an element of the target`,
          ei.elementId,
          ei.key,
        );
      const mismatch = kindMismatch(from, to);
      if (mismatch)
        throw new Refusal(`"${ei.elementId}" cannot be mapped to "${to.id}": ${mismatch}`, ei.elementId, ei.key);
      const scope = state.elements[ei.flowScopeKey]!;
      const expectedParent =
        scope.key === ROOT_KEY
          ? undefined
          : scope.elementId === ei.elementId
            ? to.parentId
            : map.resolve(scope.elementId)?.id;
      if (to.parentId !== expectedParent)
        throw new Refusal(
          `"${ei.elementId}" cannot be mapped to "${to.id}": it would change its flow scope (from "${scope.key === ROOT_KEY ? source.bpmnProcessId : scope.elementId}" to "${to.parentId ?? target.bpmnProcessId}")`,
          ei.elementId,
          ei.key,
        );
      if (ei.wait === 'listener' || ei.listener)
        throw new Refusal(
          `"${ei.elementId}" is running a listener job; migrate it after the listener`,
          ei.elementId,
          ei.key,
        );
      if (ei.compensation || ei.compensates !== undefined || ei.wait === 'compensation')
        throw new Refusal(`"${ei.elementId}" takes part in a compensation in progress`, ei.elementId, ei.key);
      targets.set(ei.key, to);
      elements.push({
        elementInstanceKey: ei.key,
        sourceElementId: ei.elementId,
        targetElementId: to.id,
        elementType: to.type,
        ...(map.isImplicit(ei.elementId) ? { implicit: true as const } : {}),
      });
    }
    state.joins = migrateJoins(state, map, target);
    for (const scope of Object.values(state.elements)) migrateCompensable(scope, map);
    const root = state.elements[ROOT_KEY]!;
    if (root.listener)
      throw new Refusal('the process is running an execution listener', source.bpmnProcessId, ROOT_KEY);
    // Waits, with the target graph (a new timer's due time and a correlation key are evaluated here).
    for (const ei of [root, ...active]) {
      const to = targets.get(ei.key);
      migrateWaits(x, source, ei, to, map, keptTimers);
    }
    for (const ei of active) ei.elementId = targets.get(ei.key)!.id;
    root.elementId = target.bpmnProcessId;
    state.bpmnProcessId = target.bpmnProcessId;
    return { ok: true, snapshot: state as unknown as InstanceSnapshot, effects: x.effects, elements, keptTimers };
  } catch (error) {
    if (error instanceof Refusal)
      return {
        ok: false,
        reason: error.message,
        ...(error.elementId !== undefined ? { elementId: error.elementId } : {}),
        ...(error.elementInstanceKey !== undefined ? { elementInstanceKey: error.elementInstanceKey } : {}),
      };
    if (error instanceof IncidentSignal)
      return { ok: false, reason: `the target cannot open a wait: ${error.message}` };
    throw error;
  }
}

interface ElementMap {
  resolve(sourceElementId: string): FlowElement | undefined;
  isImplicit(sourceElementId: string): boolean;
}

function mappingOf(source: ProcessGraph, target: ProcessGraph, mappings: ElementMapping[]): ElementMap {
  const explicit = new Map<string, string>();
  for (const { sourceElementId, targetElementId } of mappings) {
    if (!source.elements[sourceElementId])
      throw new Refusal(
        `mapping names source element "${sourceElementId}", which the source process does not have`,
        sourceElementId,
      );
    if (!target.elements[targetElementId])
      throw new Refusal(
        `mapping names target element "${targetElementId}", which the target process does not have`,
        targetElementId,
      );
    if (explicit.has(sourceElementId))
      throw new Refusal(`source element "${sourceElementId}" is mapped twice`, sourceElementId);
    explicit.set(sourceElementId, targetElementId);
  }
  return {
    resolve(id) {
      const mapped = explicit.get(id);
      if (mapped !== undefined) return target.elements[mapped];
      const same = target.elements[id];
      const from = source.elements[id];
      return same && from && kindMismatch(from, same) === undefined ? same : undefined;
    },
    isImplicit: (id) => !explicit.has(id),
  };
}

/** Why two elements are not of the same kind, or undefined when they are. */
function kindMismatch(from: FlowElement, to: FlowElement): string | undefined {
  if (from.type !== to.type) return `${from.type} and ${to.type} are different element types`;
  const eventKindOf = (e: FlowElement) => ('eventKind' in e ? e.eventKind : 'none');
  if (eventKindOf(from) !== eventKindOf(to)) return `a ${eventKindOf(from)} event and a ${eventKindOf(to)} event`;
  const fromLoop = multiInstanceOf(from);
  const toLoop = multiInstanceOf(to);
  if ((fromLoop === undefined) !== (toLoop === undefined)) return 'one is multi-instance, the other is not';
  if (fromLoop && toLoop && fromLoop.sequential !== toLoop.sequential) return 'sequential and parallel multi-instance';
  const isEventSubprocess = (e: FlowElement) => e.type === 'subProcess' && e.triggeredByEvent === true;
  if (isEventSubprocess(from) !== isEventSubprocess(to)) return 'an event subprocess and an embedded subprocess';
  if (from.type === 'boundaryEvent' && to.type === 'boundaryEvent' && from.cancelActivity !== to.cancelActivity)
    return 'an interrupting and a non-interrupting boundary event';
  return undefined;
}

type WaitEvent = TimerEvent | MessageCatchEvent | ReceiveTask;
const isTimer = (event: WaitEvent): event is TimerEvent => 'eventKind' in event && event.eventKind === 'timer';

/** The timer and message events an element instance waits on in `graph` (own catch, boundaries, event subprocess starts). */
function waitEvents(graph: ProcessGraph, ei: ElementInstance, element: FlowElement | undefined): WaitEvent[] {
  const events: FlowElement[] = [];
  if (ei.lifecycle !== 'active' || ei.incident) return [];
  if (element && (ei.wait === 'timer' || ei.wait === 'message')) events.push(element);
  if (element?.type === 'eventBasedGateway' && ei.wait === 'event')
    for (const flowId of element.outgoing) events.push(graph.elements[graph.flows[flowId]!.targetId]!);
  if (element && ei.loopIndex === undefined)
    for (const id of boundaryEventsOf(element)) events.push(graph.elements[id]!);
  if (ei.tokens !== undefined && !ei.interrupted && !ei.loop) {
    const subprocesses = !element
      ? (graph.eventSubprocesses ?? [])
      : element.type === 'subProcess'
        ? (element.eventSubprocesses ?? [])
        : [];
    for (const id of subprocesses) events.push(startEventOf(graph, id));
  }
  return events.filter(
    (event): event is WaitEvent => ('eventKind' in event && event.eventKind === 'timer') || 'message' in event,
  );
}

function migrateWaits(
  x: Execution,
  source: ProcessGraph,
  ei: ElementInstance,
  to: FlowElement | undefined,
  map: ElementMap,
  keptTimers: Record<string, string>,
): void {
  const from = ei.key === ROOT_KEY ? undefined : source.elements[ei.elementId];
  const targetEvents = waitEvents(x.graph, ei, to);
  const targetTimers = new Set(targetEvents.filter(isTimer).map((e) => e.id));
  const covered = new Set<string>();
  for (const timerKey of [...(ei.timerKeys ?? [])]) {
    const timer = x.state.timers[timerKey];
    if (!timer) continue;
    const event = from && timer.elementId === from.id ? to : map.resolve(timer.elementId);
    if (event && targetTimers.has(event.id) && !covered.has(event.id)) {
      timer.elementId = event.id;
      keptTimers[timerKey] = event.id;
      covered.add(event.id);
      continue;
    }
    delete x.state.timers[timerKey];
    ei.timerKeys = ei.timerKeys!.filter((key) => key !== timerKey);
    x.effects.push({ type: 'timer.cancel', timerKey });
  }
  if (ei.subscribed) {
    x.effects.push({ type: 'subscription.close', elementInstanceKey: ei.key });
    delete ei.subscribed;
  }
  for (const event of targetEvents) {
    if (isTimer(event) && !covered.has(event.id)) scheduleTimer(x, ei, event, timerDue(x, ei, event));
  }
  for (const event of targetEvents) if (!isTimer(event)) openSubscription(x, ei, event);
}

/** Tokens waiting at joins move with their gateway; every incoming flow they arrived on must exist in the target. */
function migrateJoins(state: RuntimeState, map: ElementMap, target: ProcessGraph): RuntimeState['joins'] {
  const joins: RuntimeState['joins'] = {};
  for (const [joinKey, arrivals] of Object.entries(state.joins)) {
    const bar = joinKey.lastIndexOf('|');
    const scopeKey = joinKey.slice(0, bar);
    const gatewayId = joinKey.slice(bar + 1);
    const gateway = map.resolve(gatewayId);
    if (!gateway) throw new Refusal(`tokens wait at gateway "${gatewayId}", which has no mapping`, gatewayId);
    for (const flowId of Object.keys(arrivals))
      if (!gateway.incoming.includes(flowId))
        throw new Refusal(
          `a token waits at gateway "${gatewayId}" from flow "${flowId}", which is not an incoming flow of "${gateway.id}" in the target`,
          gatewayId,
        );
    if (
      target.elements[gateway.id]!.type !== 'parallelGateway' &&
      target.elements[gateway.id]!.type !== 'inclusiveGateway'
    )
      throw new Refusal(`gateway "${gatewayId}" does not join in the target`, gatewayId);
    joins[`${scopeKey}|${gateway.id}`] = arrivals;
  }
  return joins;
}

/** Completed activities that can still be compensated keep their records only if their handler exists in the target. */
function migrateCompensable(scope: ElementInstance, map: ElementMap): void {
  if (!scope.compensable) return;
  const visit = (records: NonNullable<ElementInstance['compensable']>): void => {
    for (const record of records) {
      const to = map.resolve(record.elementId);
      const handler = record.handlerId === undefined ? undefined : map.resolve(record.handlerId);
      if (!to || (record.handlerId !== undefined && !handler))
        throw new Refusal(
          `completed activity "${record.elementId}" can still be compensated and has no mapping`,
          record.elementId,
        );
      record.elementId = to.id;
      if (handler) record.handlerId = handler.id;
      if (record.inner) visit(record.inner);
    }
  };
  visit(scope.compensable);
}
