/**
 * The process instance as an xstate v5 machine: its context is the runtime snapshot (tokens,
 * element instances, joins, timers), its states the instance lifecycle (active -> completed |
 * terminated). A step is a pure transition of the machine (as xstate's `transition(machine, snapshot,
 * event)`): it returns the next snapshot and the effects as actions, without running them; drivers
 * persist both, then act.
 *
 * BPMN token flow itself is not compiled into statechart states (joins on unstructured graphs and
 * loops cannot be expressed that way): one action interprets it over the graph (execution.ts).
 */
import { createActor, enqueueActions, setup, type ActorScope, type ExecutableActionsFrom } from 'xstate';
import type { ProcessGraph } from '../model/graph.ts';
import type { Effect, RuntimeEvent, StepContext } from './contract.ts';
import { applyEvent, clone } from './events.ts';
import { Execution } from './execution.ts';
import { ROOT_KEY, type RuntimeState } from './state.ts';

/** What one step does: start at a start event, or apply a runtime event. */
export type StepInput = { kind: 'start'; startEventId: string } | { kind: 'event'; event: RuntimeEvent };

interface StepEvent {
  type: 'step';
  graph: ProcessGraph;
  input: StepInput;
  ctx: StepContext;
}

export const processInstanceMachine = setup({
  types: { context: {} as RuntimeState, events: {} as StepEvent, input: {} as RuntimeState },
  actions: {
    // Effects and ignore notices are data for the driver; the machine never executes them.
    effect: (_: unknown, _effect: Effect) => {},
    ignored: (_: unknown, _notice: { reason: string }) => {},
  },
  guards: {
    completed: ({ context }) => context.lifecycle === 'completed',
    terminated: ({ context }) => context.lifecycle === 'terminated',
  },
}).createMachine({
  id: 'processInstance',
  // Snapshots are restored with resolveState; `input` only serves createActor users.
  context: ({ input }) => input,
  initial: 'active',
  states: {
    active: {
      on: {
        step: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { graph, input, ctx } = event;
            // A fresh instance's context is already a private copy; a stored one is copied first.
            const working = input.kind === 'start' ? context : clone(context);
            const x = new Execution(graph, working, ctx.now, {
              activationLimit: ctx.activationLimit,
              stepBudgetMs: ctx.stepBudgetMs,
              minCycleIntervalMs: ctx.minCycleIntervalMs,
              feel: ctx.feel,
              decisions: ctx.decisions,
            });
            if (input.kind === 'start') {
              const root = working.elements[ROOT_KEY]!;
              x.guarded(root, 'activate', () => x.startProcess(input.startEventId));
            } else {
              const reason = applyEvent(x, working, input.event);
              if (reason !== undefined) {
                enqueue({ type: 'ignored', params: { reason } });
                return;
              }
            }
            x.run();
            enqueue.assign(() => working);
            for (const effect of x.effects) enqueue({ type: 'effect', params: effect });
          }),
        },
      },
      always: [
        { guard: 'completed', target: 'completed' },
        { guard: 'terminated', target: 'terminated' },
      ],
    },
    completed: { type: 'final' },
    terminated: { type: 'final' },
  },
});

export interface MachineStep {
  state: RuntimeState;
  effects: Effect[];
  ignored?: string;
}

type Action = ExecutableActionsFrom<typeof processInstanceMachine>;

/**
 * The actor scope steps run in. xstate's `transition()` builds a throwaway actor for every call,
 * with its own initial snapshot and actor system: 23 % of what a webhook start allocated, and the
 * young-generation collections it caused were a large part of the webhooks' p99. This machine
 * spawns and invokes nothing, so one inert scope serves every step; each step points its action
 * executor at its own list. Steps are synchronous, so two never use the scope at the same time.
 */
const inertSelf = createActor(processInstanceMachine, { input: { lifecycle: 'active' } as RuntimeState });
const inertScope: ActorScope<ReturnType<typeof processInstanceMachine.resolveState>, StepEvent> = {
  self: inertSelf,
  id: '',
  sessionId: '',
  logger: () => {},
  defer: () => {},
  emit: () => {},
  system: inertSelf.system,
  stopChild: () => {},
  actionExecutor: () => {},
};

/** One pure step of the process instance machine. */
export function runStep(graph: ProcessGraph, state: RuntimeState, input: StepInput, ctx: StepContext): MachineStep {
  const snapshot = processInstanceMachine.resolveState({ value: state.lifecycle, context: state });
  const actions: Action[] = [];
  inertScope.actionExecutor = (action) => actions.push(action as Action);
  const next = processInstanceMachine.transition(snapshot, { type: 'step', graph, input, ctx }, inertScope);
  const effects: Effect[] = [];
  let ignored: string | undefined;
  for (const action of actions) {
    if (action.type === 'effect') effects.push(action.params as Effect);
    else if (action.type === 'ignored') ignored = (action.params as { reason: string }).reason;
  }
  return { state: next.context, effects, ...(ignored !== undefined ? { ignored } : {}) };
}
