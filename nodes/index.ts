/**
 * The node registry the engine's workers run: built-in nodes first; integration adds bot and
 * decision nodes here.
 */
import { NodeRegistry } from '../engine/nodes/registry.ts';
import type { NodeType } from '../engine/nodes/types.ts';
import { noopNode } from './builtin/noop.ts';
import { failNode } from './builtin/fail.ts';
import { httpNode } from './http/http-node.ts';

export interface CreateNodeRegistryOptions {
  /** Extra node types (tests, custom glue). */
  extra?: NodeType[];
  /** Registers the `decision` node (`decision:<model>` tasks); `true` uses the shipped models/. */
  decision?: boolean | { modelsDir?: string };
}

/** A registry with `noop`, `fail` and `http`, plus `options.extra`. */
export async function createNodeRegistry(options: CreateNodeRegistryOptions = {}): Promise<NodeRegistry> {
  const registry = new NodeRegistry();
  registry.register(noopNode).register(failNode).register(httpNode);
  if (options.decision) {
    // Loaded on demand: onnxruntime stays out of processes that run no decisions.
    const { createDecisionNode } = await import('./decision/index.ts');
    registry.register(createDecisionNode(options.decision === true ? {} : options.decision));
  }
  for (const node of options.extra ?? []) registry.register(node);
  return registry;
}

export { noopNode, failNode, httpNode };
