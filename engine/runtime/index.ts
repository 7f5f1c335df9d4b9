/**
 * The pure token runtime: `startInstance` and `step` are `(graph, snapshot, event) -> { snapshot, effects }`,
 * computed with xstate's pure `transition` on the process instance machine (instance-machine.ts).
 * No I/O, no clock but `ctx.now`, no randomness: replaying the same events on a restored snapshot
 * gives the same keys, snapshot and effects.
 */
import { OperonError } from '../errors.ts';
import { FeelSession } from '../feel/index.ts';
import type { ProcessGraph } from '../model/graph.ts';
import { checkStartVariables } from '../model/start-variables.ts';
import type {
  DecisionSource,
  InstanceSnapshot,
  RuntimeEvent,
  StartOptions,
  StepContext,
  StepResult,
} from './contract.ts';
import { clone } from './events.ts';
import { runStep, type MachineStep } from './instance-machine.ts';
import { migrateInstance, type ElementMapping, type MigrationPlan } from './migration.ts';
import { ROOT_KEY, type RuntimeState } from './state.ts';

export type * from './contract.ts';
export { computeTimerDue } from './timers.ts';
export { ROOT_KEY } from './state.ts';
export { migrateInstance, type ElementMapping, type MigratedElement, type MigrationPlan } from './migration.ts';

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
    throw new OperonError(
      'OPERON_ERR_NOT_FOUND',
      `process "${graph.bpmnProcessId}" has no ${options.startEventId ? `start event "${options.startEventId}"` : 'none start event'}`,
      {
        details: { bpmnProcessId: graph.bpmnProcessId, elementId: options.startEventId },
      },
    );
  }
  checkStartVariables(graph, start.elementId, options.variables ?? {});
  const state: RuntimeState = {
    __runtimeSnapshot: true,
    v: 1,
    instanceId: options.instanceId,
    bpmnProcessId: graph.bpmnProcessId,
    lifecycle: 'active',
    seq: 0,
    elements: {
      [ROOT_KEY]: {
        key: ROOT_KEY,
        elementId: graph.bpmnProcessId,
        flowScopeKey: ROOT_KEY,
        lifecycle: 'active',
        variables: clone(options.variables ?? {}),
        tokens: 0,
      },
    },
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
export function step(
  graph: ProcessGraph,
  snapshot: InstanceSnapshot,
  event: RuntimeEvent,
  ctx: StepContext,
): StepResult {
  const state = snapshot as unknown as RuntimeState;
  if (state.lifecycle !== 'active')
    return result({ state, effects: [], ignored: `the instance is ${state.lifecycle}` });
  const next = runStep(graph, state, { kind: 'event', event }, ctx);
  return result(next.ignored === undefined ? next : { state, effects: [], ignored: next.ignored });
}

/** Passes after which a step stops waiting for its FEEL answers asynchronously (a step is deterministic: it never needs many). */
const MAX_PASSES = 32;
/** Engine-thread time after which a driver's steps let waiting I/O (other requests) in before the next pass. */
const SLICE_MS = 20;

/**
 * `step`, for drivers that can wait: an expression that runs long in the FEEL worker never holds the
 * engine's thread. The step is computed in passes (FeelSession) and awaits each slow answer with
 * the event loop free; the result is the one `step` gives.
 */
export function stepSettled(
  graph: ProcessGraph,
  snapshot: InstanceSnapshot,
  event: RuntimeEvent,
  ctx: StepContext,
): Promise<StepResult> {
  return settle((feel) => step(graph, snapshot, event, { ...ctx, feel }), ctx.decisions);
}

/** `startInstance`, for drivers that can wait (see `stepSettled`). */
export function startInstanceSettled(graph: ProcessGraph, options: StartOptions): Promise<StepResult> {
  return settle((feel) => startInstance(graph, { ...options, feel }), options.decisions);
}

/** `migrateInstance`, for drivers that can wait (see `stepSettled`): the dry run and the real migration both use it. */
export function migrateInstanceSettled(
  source: ProcessGraph,
  target: ProcessGraph,
  snapshot: InstanceSnapshot,
  mappings: ElementMapping[],
  ctx: StepContext,
): Promise<MigrationPlan> {
  return settle((feel) => migrateInstance(source, target, snapshot, mappings, { ...ctx, feel }), undefined);
}

async function settle<T>(
  compute: (feel: FeelSession | undefined) => T,
  decisions: DecisionSource | undefined,
): Promise<T> {
  const feel = new FeelSession();
  for (let pass = 1; ; pass++) {
    await yieldWhenSliceSpent();
    const result = compute(pass <= MAX_PASSES ? feel : undefined);
    if ((!feel.pending && !decisions?.pending) || pass > MAX_PASSES) return result;
    // Always rewinds the FEEL session, also when only a decision was missing.
    await feel.settle();
    if (decisions?.pending) await decisions.settle();
  }
}

let sliceStartedAt = performance.now();
let turnScheduled = false;
/** Steps waiting for a turn of the event loop: one goes on per turn. */
const waitingForTurn: Array<() => void> = [];

/**
 * Steps of concurrent callers run one after another in promise callbacks, which never let the event
 * loop turn: past `SLICE_MS` without a turn, wait for one. A setImmediate marks each turn, so a
 * driver that awaits I/O between steps anyway pays nothing.
 */
async function yieldWhenSliceSpent(): Promise<void> {
  if (!turnScheduled) {
    turnScheduled = true;
    setImmediate(() => {
      sliceStartedAt = performance.now();
      turnScheduled = false;
    });
  }
  if (performance.now() - sliceStartedAt <= SLICE_MS) return;
  await new Promise<void>((resolve) => {
    waitingForTurn.push(resolve);
    if (waitingForTurn.length === 1) setImmediate(releaseOne);
  });
}

/** Lets one waiting step go on; the next one waits for the next turn (immediates queued now run after the I/O poll). */
function releaseOne(): void {
  sliceStartedAt = performance.now();
  waitingForTurn.shift()?.();
  if (waitingForTurn.length > 0) setImmediate(releaseOne);
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
