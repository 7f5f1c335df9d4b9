/**
 * The node registry the engine's workers run: built-in nodes first; integration adds bot and
 * decision nodes here.
 */
import { NodeRegistry } from '../engine/nodes/registry.ts';
import type { NodeType } from '../engine/nodes/types.ts';
import { noopNode } from './builtin/noop.ts';
import { failNode } from './builtin/fail.ts';
import { createHttpNode, type HttpNodeOptions } from './http/http-node.ts';
import type { DecisionNodeOptions } from './decision/index.ts';

export interface CreateNodeRegistryOptions {
  /** Extra node types (tests, custom glue). */
  extra?: NodeType[];
  /**
   * Registers the `decision` node (`decision:<model>` tasks); `true` uses the shipped models/ and
   * the base models only (no `db` to read active heads from).
   */
  decision?: boolean | DecisionNodeOptions;
  /** Settings of the `http` node (allow list, response limit); default: from the environment (`OPERON_HTTP_ALLOW`). */
  http?: HttpNodeOptions;
}

/** A registry with `noop`, `fail` and `http`, plus `options.extra`. */
export async function createNodeRegistry(options: CreateNodeRegistryOptions = {}): Promise<NodeRegistry> {
  const registry = new NodeRegistry();
  registry.register(noopNode).register(failNode).register(createHttpNode(options.http));
  if (options.decision) {
    // Loaded on demand: onnxruntime stays out of processes that run no decisions.
    const { createDecisionNode } = await import('./decision/index.ts');
    registry.register(createDecisionNode(options.decision === true ? {} : options.decision));
  }
  for (const node of options.extra ?? []) registry.register(node);
  return registry;
}

export { noopNode, failNode, createHttpNode, type HttpNodeOptions };
