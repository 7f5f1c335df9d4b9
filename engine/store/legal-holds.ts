/**
 * Legal holds: an instance (with its call-activity descendants) that retention does not delete and
 * erasure leaves alone until the hold is lifted. Placing and lifting are audited.
 */
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { withDescendants } from './instance-data.ts';

export interface LegalHoldView {
  instanceId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
  /** The instance and its descendants now held. */
  heldInstances: number;
}

function notFound(instanceId: string): OperonError {
  return new OperonError('OPERON_ERR_NOT_FOUND', `No process instance ${instanceId}`, { details: { instanceId } });
}

/** Places (or replaces the reason of) a hold on the instance and its descendants. */
export async function placeLegalHold(
  db: Knex,
  instanceId: string,
  reason: string,
  actor: Actor,
): Promise<LegalHoldView> {
  return db.transaction(async (tx) => {
    const ids = await withDescendants(tx, [instanceId]);
    if (!ids.includes(instanceId)) throw notFound(instanceId);
    const placedBy = `${actor.kind}:${actor.id}`;
    await tx.raw(
      `INSERT INTO legal_holds (process_instance_id, reason, placed_by)
       SELECT id, ?, ? FROM unnest(?::uuid[]) AS id
       ON CONFLICT (process_instance_id) DO UPDATE SET reason = excluded.reason, placed_by = excluded.placed_by, placed_at = now()`,
      [reason, placedBy, ids],
    );
    const row = (await tx('legal_holds').where({ process_instance_id: instanceId }).first()) as {
      reason: string;
      placed_by: string;
      placed_at: Date;
    };
    await appendAudit(tx, [
      {
        actor,
        action: 'legalHold.place',
        target: { kind: 'instance', id: instanceId },
        instanceId,
        change: { reason, heldInstances: ids },
      },
    ]);
    return {
      instanceId,
      reason: row.reason,
      placedBy: row.placed_by,
      placedAt: row.placed_at.toISOString(),
      heldInstances: ids.length,
    };
  });
}

/** Lifts the hold of the instance and its descendants; 404 when the instance holds none. */
export async function liftLegalHold(
  db: Knex,
  instanceId: string,
  actor: Actor,
): Promise<{ instanceId: string; released: number }> {
  return db.transaction(async (tx) => {
    const ids = await withDescendants(tx, [instanceId]);
    if (!ids.includes(instanceId)) throw notFound(instanceId);
    const held = await tx('legal_holds').where({ process_instance_id: instanceId }).first('process_instance_id');
    if (!held)
      throw new OperonError('OPERON_ERR_NOT_FOUND', `Process instance ${instanceId} is not under legal hold`, {
        details: { instanceId },
      });
    const released = await tx('legal_holds').whereIn('process_instance_id', ids).delete();
    await appendAudit(tx, [
      {
        actor,
        action: 'legalHold.lift',
        target: { kind: 'instance', id: instanceId },
        instanceId,
        change: { released },
      },
    ]);
    return { instanceId, released };
  });
}
