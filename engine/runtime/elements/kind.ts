/**
 * The contract between the core (execution.ts: the token agenda, scopes, input and output mappings,
 * listeners, incidents) and one element kind. The core owns the lifecycle every element shares; a
 * kind supplies what is its own: its work once active, and the events it reacts to while it waits.
 */
import type { FlowElement } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import type { Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';

export interface ElementKind<E extends FlowElement = FlowElement> {
  /**
   * The kind's own work, once the instance is active (after input mappings, start listeners and
   * boundary events): complete at once (`x.complete`), or open what it waits on.
   */
  activate(x: Execution, ei: ElementInstance, element: E): void;
  /** A message was correlated to the instance: true when its own wait took it (not a boundary's or event subprocess's). */
  onMessage?(x: Execution, ei: ElementInstance, element: E, messageName: string, variables?: Variables): boolean;
  /** A timer the instance scheduled for its own wait fired (`timerElementId`: the timer event). */
  onTimer?(x: Execution, ei: ElementInstance, element: E, timerElementId: string): void;
  /** The child instance of the element (a call activity) completed, or ended with a BPMN error. */
  onChildInstance?(
    x: Execution,
    ei: ElementInstance,
    element: E,
    outcome: { completed: Variables | undefined } | { errorCode: string; errorMessage?: string },
  ): void;
}
