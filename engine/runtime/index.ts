/**
 * The pure token runtime: `startInstance` and `step` are `(graph, snapshot, event) -> { snapshot, effects }`,
 * computed with xstate's pure `transition` on the process instance machine (instance-machine.ts).
 * No I/O, no clock but `ctx.now`, no randomness: replaying the same events on a restored snapshot
 * gives the same keys, snapshot and effects.
 */
import { OperonError } from '../errors.ts';
import type { ProcessGraph } from '../model/graph.ts';
import { checkStartVariables } from '../model/start-variables.ts';
import type { InstanceSnapshot, RuntimeEvent, StartOptions, StepContext, StepResult } from './contract.ts';
import { clone } from './events.ts';
import { runStep, type MachineStep } from './instance-machine.ts';
import { ROOT_KEY, type RuntimeState } from './state.ts';

export type * from './contract.ts';
export { computeTimerDue } from './timers.ts';
export { ROOT_KEY } from './state.ts';

/**
 * Starts an instance at the none start event, or at `options.startEventId` (message and timer start
 * events). Pure. Throws OperonError OPERON_ERR_NOT_FOUND when the start event does not exist, and
 * OPERON_ERR_START_VARIABLES when the variables do not match what the start event declares.
 */
export function startInstance(graph: ProcessGraph, options: StartOptions): StepResult {
  const start = options.startEventId
    ? graph.startEvents.find((s) => s.elementId === options.startEventId)
    : graph.startEvents.find((s) => s.kind === 'none');
  if (!start) {
    throw new OperonError('OPERON_ERR_NOT_FOUND', `process "${graph.bpmnProcessId}" has no ${options.startEventId ? `start event "${options.startEventId}"` : 'none start event'}`, {
      details: { bpmnProcessId: graph.bpmnProcessId, elementId: options.startEventId },
    });
  }
  checkStartVariables(graph, start.elementId, options.variables ?? {});
  const state: RuntimeState = {
    __runtimeSnapshot: true,
    v: 1,
    instanceId: options.instanceId,
    bpmnProcessId: graph.bpmnProcessId,
    lifecycle: 'active',
    seq: 0,
    elements: { [ROOT_KEY]: { key: ROOT_KEY, elementId: graph.bpmnProcessId, flowScopeKey: ROOT_KEY, lifecycle: 'active', variables: clone(options.variables ?? {}), tokens: 0 } },
    joins: {},
    timers: {},
  };
  return result(runStep(graph, state, { kind: 'start', startEventId: start.elementId }, options));
}

/**
 * Applies one event to a snapshot. Pure; runtime failures (bad conditions, uncaught BPMN errors,
 * FEEL errors) never throw but come back as `incident.raise` effects. An event that no longer
 * matches the instance (a job of an element that was interrupted meanwhile, a finished instance)
 * changes nothing and comes back with `ignored` set and the snapshot given.
 */
export function step(graph: ProcessGraph, snapshot: InstanceSnapshot, event: RuntimeEvent, ctx: StepContext): StepResult {
  const state = snapshot as unknown as RuntimeState;
  if (state.lifecycle !== 'active') return result({ state, effects: [], ignored: `the instance is ${state.lifecycle}` });
  const next = runStep(graph, state, { kind: 'event', event }, ctx);
  return result(next.ignored === undefined ? next : { state, effects: [], ignored: next.ignored });
}

function result({ state, effects, ignored }: MachineStep): StepResult {
  return {
    snapshot: state as unknown as InstanceSnapshot,
    effects,
    state: state.lifecycle,
    variables: state.elements[ROOT_KEY]?.variables ?? {},
    ...(ignored !== undefined ? { ignored } : {}),
  };
}
