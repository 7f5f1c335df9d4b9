/**
 * The lifecycle of each element instance as an xstate v5 machine (activating -> active ->
 * completing -> completed, or terminated, through terminating when canceling task listeners hold it). Transitions are computed with xstate's pure
 * `transition(logic, snapshot, event)`. The machine has no context or guards, so the result depends
 * only on (state, event): it is computed once per pair and memoized, which keeps a step fast even
 * with thousands of element instances.
 */
import { createMachine, transition } from 'xstate';
import { OperonError } from '../errors.ts';

export type ElementLifecycle = 'activating' | 'active' | 'completing' | 'completed' | 'terminating' | 'terminated';
export type ElementLifecycleEvent = 'ACTIVATED' | 'COMPLETE' | 'COMPLETED' | 'TERMINATING' | 'TERMINATE';

export const elementLifecycleMachine = createMachine({
  id: 'elementInstance',
  initial: 'activating',
  states: {
    activating: { on: { ACTIVATED: 'active', TERMINATING: 'terminating', TERMINATE: 'terminated' } },
    active: { on: { COMPLETE: 'completing', TERMINATING: 'terminating', TERMINATE: 'terminated' } },
    completing: { on: { COMPLETED: 'completed', TERMINATING: 'terminating', TERMINATE: 'terminated' } },
    completed: { type: 'final' },
    // A termination held by canceling task listeners (a user task, or a scope waiting for one inside it).
    terminating: { on: { TERMINATE: 'terminated' } },
    terminated: { type: 'final' },
  },
});

/** The process instance's lifecycle: the states of the process instance machine (instance-machine.ts). */
export type InstanceLifecycle = 'active' | 'completed' | 'terminated';

function memoized<S extends string, E extends string>(machine: typeof elementLifecycleMachine, kind: string) {
  const table = new Map<string, S>();
  return (from: S, event: E): S => {
    const memoKey = `${from}|${event}`;
    let next = table.get(memoKey);
    if (next === undefined) {
      const snapshot = machine.resolveState({ value: from, context: {} } as never);
      const [after] = transition(machine as never, snapshot as never, { type: event } as never);
      next = (after as { value: S }).value;
      if (next === from) {
        // An event the lifecycle does not accept is a runtime bug, not a model problem.
        throw new OperonError('OPERON_ERR_INTERNAL', `${kind} lifecycle: ${event} is not allowed in state ${from}`);
      }
      table.set(memoKey, next);
    }
    return next;
  };
}

/** Next lifecycle state of an element instance; throws on a transition the lifecycle forbids. */
export const nextElementLifecycle = memoized<ElementLifecycle, ElementLifecycleEvent>(
  elementLifecycleMachine,
  'element instance',
);
