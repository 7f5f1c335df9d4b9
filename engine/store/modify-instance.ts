/**
 * Modifying one instance (the engine's `modifyInstance`): tokens move as the operator says
 * (`instance.modify`: activate elements by id, terminate element instances by key) and the audit
 * entry commits with the step. A modification the runtime refuses throws, so the transaction rolls
 * back and leaves no trace.
 */
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import type { GraphCache } from './graph-cache.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { inTransaction } from './notify.ts';
import { stepInstance } from './step-instance.ts';

/** What modifying needs from the engine. */
export interface ModifyInstanceContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts). */
  now: () => Date;
}

/** Which element ids to activate and which element instance keys to terminate. */
export interface InstanceModification {
  activate?: string[];
  terminate?: string[];
}

/**
 * Modifies `instanceId` in a transaction of `db` (a savepoint when `db` is itself a transaction).
 * Throws OPERON_ERR_VALIDATION for a refused modification, OPERON_ERR_NOT_FOUND or
 * OPERON_ERR_INSTANCE_NOT_ACTIVE (`stepInstance`).
 */
export async function modifyInstance(
  db: Knex,
  context: ModifyInstanceContext,
  instanceId: string,
  modification: InstanceModification,
  actor: Actor,
): Promise<void> {
  const event = {
    type: 'instance.modify' as const,
    activate: modification.activate ?? [],
    terminate: modification.terminate ?? [],
  };
  await inTransaction(db, async (tx) => {
    const { result } = await stepInstance(tx, context.graphs, instanceId, event, context.now());
    // Throwing rolls the step back: a refused modification leaves no trace.
    if (result.ignored)
      throw new OperonError('OPERON_ERR_VALIDATION', `Cannot modify instance ${instanceId}: ${result.ignored}`, {
        details: { instanceId, ...event },
      });
    await appendAudit(tx, [
      {
        actor,
        action: 'instance.modify',
        target: { kind: 'instance', id: instanceId },
        instanceId,
        change: { activate: event.activate, terminate: event.terminate },
      },
    ]);
  });
}
