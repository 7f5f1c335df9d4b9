import { OperonError } from '../errors.ts';
import type { Knex } from 'knex';
import type { JobRecord, NodeBinding, NodeType, RecordHook } from './types.ts';

/**
 * Node types by name. Refuses duplicates (like fastify's decorate) and tells which task types no
 * registered node handles, so deployment can list the ones that wait for external workers.
 */
export class NodeRegistry {
  readonly #nodes = new Map<string, NodeType>();
  readonly #hooks = new Map<string, RecordHook>();

  register(node: NodeType): this {
    if (this.#nodes.has(node.name)) {
      throw new OperonError('OPERON_ERR_NODE_ALREADY_REGISTERED', `Node type '${node.name}' is already registered`, {
        details: { name: node.name },
      });
    }
    for (const hook of node.recordHooks ?? []) {
      if (this.#hooks.has(hook.kind))
        throw new OperonError(
          'OPERON_ERR_NODE_ALREADY_REGISTERED',
          `Record kind '${hook.kind}' of node type '${node.name}' is already registered`,
          { details: { name: node.name, kind: hook.kind } },
        );
    }
    this.#nodes.set(node.name, node);
    for (const hook of node.recordHooks ?? []) this.#hooks.set(hook.kind, hook);
    return this;
  }

  /** Whether a hook writes records of `kind` (`ctx.record` refuses any other kind). */
  handlesRecord(kind: string): boolean {
    return this.#hooks.has(kind);
  }

  /**
   * Writes an attempt's records in `tx`, the transaction that applies its result (`applied`), or
   * only those whose hook keeps records of unapplied attempts (`applied: false`).
   */
  async writeRecords(tx: Knex.Transaction, records: readonly JobRecord[], applied: boolean): Promise<void> {
    const byKind = new Map<RecordHook, Record<string, unknown>[]>();
    for (const record of records) {
      const hook = this.#hooks.get(record.kind);
      if (!hook || (!applied && !hook.keepUnapplied)) continue;
      const payloads = byKind.get(hook);
      if (payloads) payloads.push(record.payload);
      else byKind.set(hook, [record.payload]);
    }
    for (const [hook, payloads] of byKind) await hook.write(tx, payloads);
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
