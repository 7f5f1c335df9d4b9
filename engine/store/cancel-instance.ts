/**
 * Cancelling one instance (the engine's `cancelInstance`, and a cancel batch operation's item
 * through `cancelInstanceIn`): the instance steps with `instance.cancel` (every active element
 * terminated, its waits cancelled) and the audit entry commits with it. User tasks with canceling task listeners hold the termination: the instance then
 * stays `active` until their jobs completed, which is how the HTTP API tells 202 from 200 (it reads
 * the instance afterwards).
 */
import type { Knex } from 'knex';
import type { StepResult } from '../runtime/contract.ts';
import type { GraphCache } from './graph-cache.ts';
import type { Db, InstanceRow } from './rows.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { inTransaction } from './notify.ts';
import { stepInstance } from './step-instance.ts';

/** What cancelling needs from the engine. */
export interface CancelInstanceContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts). */
  now: () => Date;
}

/**
 * Cancels `instanceId` in a transaction of `db` (a savepoint when `db` is itself a transaction).
 * Throws OPERON_ERR_NOT_FOUND or OPERON_ERR_INSTANCE_NOT_ACTIVE (`stepInstance`).
 */
export async function cancelInstance(
  db: Knex,
  context: CancelInstanceContext,
  instanceId: string,
  actor: Actor,
): Promise<void> {
  await inTransaction(db, (tx) => cancelInstanceIn(tx, context, instanceId, actor));
}

/**
 * The cancellation inside the caller's transaction (a batch operation's item passes the row it
 * `locked`); returns the step, whose state is still `active` while canceling listeners run.
 */
export async function cancelInstanceIn(
  tx: Db,
  context: CancelInstanceContext,
  instanceId: string,
  actor: Actor,
  locked?: InstanceRow,
): Promise<StepResult> {
  const { result } = await stepInstance(
    tx,
    context.graphs,
    instanceId,
    { type: 'instance.cancel' },
    context.now(),
    locked,
  );
  await appendAudit(tx, [
    { actor, action: 'instance.cancel', target: { kind: 'instance', id: instanceId }, instanceId },
  ]);
  return result;
}
