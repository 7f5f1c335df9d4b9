/**
 * `ctx.record` for a node called directly, without a worker: each record is written at once by the
 * hook its node registers, in a transaction of its own, as though its job's result had committed.
 * `recordsWritten()` waits for the writes started so far.
 */
import type { Knex } from 'knex';
import { NodeRegistry } from '../../engine/nodes/registry.ts';
import type { NodeContext, NodeType } from '../../engine/nodes/types.ts';
import { inTransaction } from '../../engine/store/notify.ts';

const writes: Promise<unknown>[] = [];

/** `db` and `node` are read when a record arrives, so a context can be built before either exists. */
export function directRecord(db: () => Knex, node: () => NodeType): NodeContext['record'] {
  return (kind, payload) => {
    const registry = new NodeRegistry().register(node());
    if (!registry.handlesRecord(kind)) throw new Error(`No record hook is registered for kind '${kind}'`);
    writes.push(inTransaction(db(), (tx) => registry.writeRecords(tx, [{ kind, payload }], true)));
  };
}

export async function recordsWritten(): Promise<void> {
  await Promise.all(writes.splice(0));
}
