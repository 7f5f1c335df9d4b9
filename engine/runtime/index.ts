/**
 * The pure token runtime: `startInstance` and `step` are `(graph, snapshot, event) -> { snapshot, effects }`.
 */
import type { ProcessGraph } from '../model/graph.ts';
import type { InstanceSnapshot, RuntimeEvent, StartOptions, StepContext, StepResult } from './contract.ts';

export type * from './contract.ts';

/** Starts an instance at the none start event (or `options.startEventId`). Pure. */
export function startInstance(graph: ProcessGraph, options: StartOptions): StepResult {
  void graph; void options;
  throw new Error('not implemented yet');
}

/** Applies one event to a stored snapshot. Pure: never throws for runtime errors (they become incident effects). */
export function step(graph: ProcessGraph, snapshot: InstanceSnapshot, event: RuntimeEvent, ctx: StepContext): StepResult {
  void graph; void snapshot; void event; void ctx;
  throw new Error('not implemented yet');
}
