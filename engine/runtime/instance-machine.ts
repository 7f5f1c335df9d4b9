/**
 * The process instance as an xstate v5 machine: its context is the runtime snapshot (tokens,
 * element instances, joins, timers), its states the instance lifecycle (active -> completed |
 * terminated). A step is xstate's pure `transition(machine, snapshot, event)`: it returns the next
 * snapshot and the effects as actions, without running them; drivers persist both, then act.
 *
 * BPMN token flow itself is not compiled into statechart states (joins on unstructured graphs and
 * loops cannot be expressed that way): one action interprets it over the graph (execution.ts).
 */
import { enqueueActions, setup, transition } from 'xstate';
import type { ProcessGraph } from '../model/graph.ts';
import type { Effect, RuntimeEvent, StepContext } from './contract.ts';
import { openEventSubprocesses } from './event-subprocess.ts';
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
            const x = new Execution(graph, working, ctx.now, ctx.activationLimit);
            if (input.kind === 'start') {
              const root = working.elements[ROOT_KEY]!;
              x.guarded(root, 'activate', () => openEventSubprocesses(x, root));
              x.enqueue({ elementId: input.startEventId, flowScopeKey: ROOT_KEY });
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

/** One pure step of the process instance machine. */
export function runStep(graph: ProcessGraph, state: RuntimeState, input: StepInput, ctx: StepContext): MachineStep {
  const snapshot = processInstanceMachine.resolveState({ value: state.lifecycle, context: state });
  const [next, actions] = transition(processInstanceMachine, snapshot, { type: 'step', graph, input, ctx });
  const effects: Effect[] = [];
  let ignored: string | undefined;
  for (const action of actions) {
    if (action.type === 'effect') effects.push(action.params as Effect);
    else if (action.type === 'ignored') ignored = (action.params as { reason: string }).reason;
  }
  return { state: next.context, effects, ...(ignored !== undefined ? { ignored } : {}) };
}
