/**
 * Erasure of one data subject (GDPR Art. 17), named by a business key: a durable job (`erasures`)
 * that any engine's maintenance loop carries out under a lease, in batches of instances, each batch
 * one short transaction that locks only the ended instances it redacts. The subject's values go
 * (instance_data.ts lists where they live); the skeleton stays: which elements ran, what the model
 * decided with which scores, who reviewed, and the audit chain (its `change` redacted). Active
 * instances and instances under legal hold are left alone and counted. Once done, the request
 * forgets the business key too.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import { appendAudit, SYSTEM_ACTOR, type Actor } from './audit-log.ts';
import { botRunIds, deleteBotArtifacts, redactInstances, withDescendants } from './instance-data.ts';

export interface ErasureView {
  erasureId: string;
  state: 'pending' | 'running' | 'done' | 'failed';
  requestedBy: string;
  requestedAt: string;
  finishedAt?: string;
  erasedInstances: number;
  deletedArtifacts: number;
  skippedActive: number;
  skippedHeld: number;
  error?: string;
}

interface ErasureRow {
  id: string;
  business_key: string | null;
  state: ErasureView['state'];
  requested_by: string;
  requested_at: Date;
  finished_at: Date | null;
  erased_instances: number;
  deleted_artifacts: number;
  skipped_active: number;
  skipped_held: number;
  error: string | null;
}

function toView(row: ErasureRow): ErasureView {
  return {
    erasureId: row.id,
    state: row.state,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at.toISOString(),
    ...(row.finished_at ? { finishedAt: row.finished_at.toISOString() } : {}),
    erasedInstances: row.erased_instances,
    deletedArtifacts: row.deleted_artifacts,
    skippedActive: row.skipped_active,
    skippedHeld: row.skipped_held,
    ...(row.error ? { error: row.error } : {}),
  };
}

/** Records an erasure request (the audit row names the erasure, never the business key). */
export async function requestErasure(db: Knex, businessKey: string, actor: Actor): Promise<ErasureView> {
  if (businessKey.length === 0 || businessKey.length > 1000)
    throw new OperonError('OPERON_ERR_VALIDATION', 'businessKey must be 1 to 1000 characters', {
      details: { field: 'body.businessKey' },
    });
  const id = randomUUID();
  const row = await db.transaction(async (tx) => {
    const [inserted] = (await tx('erasures')
      .insert({ id, business_key: businessKey, state: 'pending', requested_by: `${actor.kind}:${actor.id}` })
      .returning('*')) as ErasureRow[];
    await appendAudit(tx, [{ actor, action: 'erasure.request', target: { kind: 'erasure', id } }]);
    return inserted!;
  });
  return toView(row);
}

export async function getErasure(db: Knex, erasureId: string): Promise<ErasureView | undefined> {
  const row = (await db('erasures').where({ id: erasureId }).first()) as ErasureRow | undefined;
  return row && toView(row);
}

export interface ErasureRunOptions {
  /** Lease owner name (the engine process). */
  owner: string;
  artifactsDir: string;
  /** Instances per transaction. Default 100. */
  batchSize?: number;
  /** How long another engine waits before taking over an erasure whose owner stopped. Default 60 s. */
  leaseMs?: number;
}

/** Carries out pending erasures (and ones whose owner's lease ran out) until none is left; returns how many finished. */
export async function runPendingErasures(db: Knex, options: ErasureRunOptions): Promise<number> {
  let finished = 0;
  for (;;) {
    const claimed = await claimErasure(db, options);
    if (!claimed) return finished;
    try {
      await carryOut(db, claimed, options);
    } catch (error) {
      await db('erasures')
        .where({ id: claimed.id, owner: options.owner })
        .update({
          state: 'failed',
          finished_at: db.fn.now(),
          error: error instanceof Error ? error.message.slice(0, 500) : String(error),
        });
      throw error;
    }
    finished++;
  }
}

async function claimErasure(db: Knex, options: ErasureRunOptions): Promise<ErasureRow | undefined> {
  const leaseMs = options.leaseMs ?? 60_000;
  const { rows } = (await db.raw(
    `UPDATE erasures SET state = 'running', owner = ?, lease_expires_at = now() + (? * interval '1 millisecond')
      WHERE id = (SELECT id FROM erasures
                   WHERE state = 'pending' OR (state = 'running' AND lease_expires_at < now())
                   ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    [options.owner, leaseMs],
  )) as { rows: ErasureRow[] };
  return rows[0];
}

async function carryOut(db: Knex, erasure: ErasureRow, options: ErasureRunOptions): Promise<void> {
  const key = erasure.business_key!;
  const batchSize = options.batchSize ?? 100;
  const leaseMs = options.leaseMs ?? 60_000;
  for (;;) {
    const { ids, runs } = await db.transaction(async (tx) => {
      const matching = (await tx.raw(
        `SELECT p.id FROM process_instances p
          WHERE p.business_key = ? AND p.state <> 'active'
            AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.process_instance_id = p.id)
          ORDER BY p.id LIMIT ?`,
        [key, batchSize],
      )) as { rows: { id: string }[] };
      const ids = await withDescendants(
        tx,
        matching.rows.map((row) => row.id),
      );
      // A descendant still running or held is not redacted with its parent.
      const redactable = (await tx('process_instances')
        .whereIn('id', ids)
        .whereNot('state', 'active')
        .whereNotExists(tx('legal_holds').whereRaw('legal_holds.process_instance_id = process_instances.id'))
        .pluck('id')) as string[];
      const runs = await botRunIds(tx, redactable);
      await redactInstances(tx, redactable);
      await tx('erasures')
        .where({ id: erasure.id })
        .update({
          erased_instances: tx.raw('erased_instances + ?', [redactable.length]),
          lease_expires_at: tx.raw(`now() + (? * interval '1 millisecond')`, [leaseMs]),
        });
      await appendAudit(
        tx,
        redactable.map((id) => ({
          actor: SYSTEM_ACTOR,
          action: 'instance.erase',
          target: { kind: 'instance', id },
          instanceId: id,
          change: { erasureId: erasure.id },
        })),
      );
      return { ids: matching.rows, runs };
    });
    const files = await deleteBotArtifacts(options.artifactsDir, runs);
    if (files > 0)
      await db('erasures')
        .where({ id: erasure.id })
        .update({ deleted_artifacts: db.raw('deleted_artifacts + ?', [files]) });
    if (ids.length < batchSize) break;
  }
  await db.transaction(async (tx) => {
    const [{ active, held }] = (
      (await tx.raw(
        `SELECT count(*) FILTER (WHERE p.state = 'active')::int AS active,
                count(*) FILTER (WHERE p.state <> 'active')::int AS held
           FROM process_instances p WHERE p.business_key = ?`,
        [key],
      )) as { rows: { active: number; held: number }[] }
    ).rows as [{ active: number; held: number }];
    const [row] = (await tx('erasures')
      .where({ id: erasure.id })
      .update({
        state: 'done',
        business_key: null,
        owner: null,
        lease_expires_at: null,
        finished_at: tx.fn.now(),
        skipped_active: active,
        skipped_held: held,
      })
      .returning('*')) as ErasureRow[];
    await appendAudit(tx, [
      {
        actor: SYSTEM_ACTOR,
        action: 'erasure.complete',
        target: { kind: 'erasure', id: erasure.id },
        change: {
          erasedInstances: row!.erased_instances,
          deletedArtifacts: row!.deleted_artifacts,
          skippedActive: active,
          skippedHeld: held,
        },
      },
    ]);
  });
}
