import { OperonError } from '../errors.ts';
import type { NodeBinding, NodeType } from './types.ts';

/**
 * Node types by name. Refuses duplicates (like fastify's decorate) and tells which task types no
 * registered node handles, so deployment can list the ones that wait for external workers.
 */
export class NodeRegistry {
  readonly #nodes = new Map<string, NodeType>();

  register(node: NodeType): this {
    if (this.#nodes.has(node.name)) {
      throw new OperonError('OPERON_ERR_NODE_ALREADY_REGISTERED', `Node type '${node.name}' is already registered`, {
        details: { name: node.name },
      });
    }
    this.#nodes.set(node.name, node);
    return this;
  }

  /** The node for a task type: an exact name first, then the prefix before the first ':'. */
  resolve(taskType: string): NodeType | undefined {
    const exact = this.#nodes.get(taskType);
    if (exact) return exact;
    const colon = taskType.indexOf(':');
    return colon > 0 ? this.#nodes.get(taskType.slice(0, colon)) : undefined;
  }

  /** Splits a task type into the binding a node validates. */
  static binding(elementId: string, taskType: string, headers: Record<string, string>): NodeBinding {
    const colon = taskType.indexOf(':');
    return { elementId, taskType, name: colon > 0 ? taskType.slice(colon + 1) : '', headers };
  }

  /** Task types this registry's nodes handle (exact names and `prefix:*`). */
  names(): string[] {
    return [...this.#nodes.keys()];
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#nodes.values()].map((node) => node.close?.()));
  }
}
