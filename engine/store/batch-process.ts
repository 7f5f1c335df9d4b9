/**
 * Applies batch operations item by item, from the worker's timer loop, on any number of engines.
 *
 * Each item is applied in its own transaction that first locks the item row (FOR UPDATE SKIP
 * LOCKED, so two engines never take the same item) and re-reads its state: the operation and the
 * item's new state commit together, so a crash at any point leaves the item either untouched
 * (pending, applied by the next engine) or fully applied, never applied twice.
 *
 * What `done` means:
 * - cancel: the instance was active and is now terminated, or is being terminated while canceling
 *   task listeners run (same step as POST /api/instances/:id/cancel).
 * - retry: the item resolved every open incident of the instance that matches the filter (same as
 *   POST /api/incidents/:id/resolve) and is then `retried`; it becomes `done` only once the retried
 *   work really got past the failure: each resolved incident's job reached `completed` (a retried
 *   step without a job ran in the resolving transaction) and no new open incident exists on those
 *   elements. A new open incident on one of them makes the item `failed` with that incident's
 *   message; a job cancelled before it ran again (instance cancelled, boundary event) makes it
 *   `skipped`. A retried item is checked again at most once a second until one of these holds.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { ActionOptions } from '../api.ts';
import type { GraphCache } from './graph-cache.ts';
import { appendAudit, type Actor } from './audit-log.ts';

/** Who acts on an item: the batch operation (its row says who created it). */
function batchActor(operationId: string): Actor {
  return { kind: 'batchOperation', id: operationId };
}

/** What batch processing needs of the engine (PostgresEngine provides it). */
export interface BatchHost {
  readonly db: Knex;
  readonly graphs: GraphCache;
  readonly clock: Clock;
  resolveIncident(incidentId: string, options: ActionOptions, tx?: Knex.Transaction): Promise<void>;
}
import { inTransaction } from './notify.ts';
import { lockInstance } from './lock-instance.ts';
import { stepInstance } from './step-instance.ts';
import { cancelInstanceIn } from './cancel-instance.ts';
import type { BatchFilter, BatchItemState, BatchRequest } from './batch-operations.ts';
import { migrateInstance, type MigrationOutcome } from './migrate-instance.ts';

/** Items one call looks at (each in its own transaction). */
const BATCH_SIZE = 20;

interface ItemRow {
  operation_id: string;
  process_instance_id: string;
  state: BatchItemState;
  incident_ids: string[] | null;
  kind: 'retry' | 'cancel' | 'migrate' | 'modify';
  filter: BatchFilter;
  request: BatchRequest | null;
}

export type Verdict =
  | { state: 'done' | 'failed' | 'skipped'; result?: string; error?: string; details?: Record<string, unknown> }
  | undefined;

/** An item's operation refused on this instance: rolls back its savepoint, and the item fails with the details. */
class ItemRefused extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Applies or checks up to `limit` items of running operations; returns how many changed state. */
export async function processBatchOperations(engine: BatchHost, limit = BATCH_SIZE): Promise<number> {
  const db = engine.db;
  const candidates = await db('batch_operation_items as i')
    .join('batch_operations as o', 'o.id', 'i.operation_id')
    .where('o.state', 'running')
    .where((q) =>
      q
        .where('i.state', 'pending')
        .orWhere((r) =>
          r.where('i.state', 'retried').andWhere('i.checked_at', '<', db.raw("now() - interval '1 second'")),
        ),
    )
    .orderBy([{ column: 'o.created_at' }, { column: 'i.operation_id' }, { column: 'i.seq' }])
    .limit(limit)
    .select('i.operation_id', 'i.process_instance_id');
  let changed = 0;
  const operations = new Set<string>();
  for (const candidate of candidates) {
    operations.add(candidate.operation_id);
    if (await processItem(engine, candidate.operation_id, candidate.process_instance_id)) changed++;
  }
  for (const id of operations) await finishIfDone(db, id);
  return changed;
}

async function processItem(engine: BatchHost, operationId: string, instanceId: string): Promise<boolean> {
  return inTransaction(engine.db, async (tx) => {
    const item = (await tx('batch_operation_items as i')
      .join('batch_operations as o', 'o.id', 'i.operation_id')
      .where({ 'i.operation_id': operationId, 'i.process_instance_id': instanceId })
      .whereIn('i.state', ['pending', 'retried'])
      .forUpdate('i')
      .skipLocked()
      .first('i.*', 'o.kind', 'o.filter', 'o.request')) as ItemRow | undefined;
    if (!item) return false;
    const key = { operation_id: operationId, process_instance_id: instanceId };
    if (item.state === 'retried') {
      const verdict = await verifyRetry(tx, instanceId, item.incident_ids ?? []);
      if (!verdict) {
        await tx('batch_operation_items').where(key).update({ checked_at: tx.fn.now() });
        return false;
      }
      await finishItem(tx, key, verdict);
      return true;
    }
    // pending: apply the operation. A failure rolls back to the savepoint and fails the item.
    let verdict: Verdict;
    let incidentIds: string[] = [];
    try {
      const applied = await tx.transaction(async (sp) => {
        switch (item.kind) {
          case 'cancel':
            return cancel(engine, sp, operationId, instanceId);
          case 'retry':
            return retry(engine, sp, operationId, instanceId, item.filter);
          case 'migrate':
            return migrate(
              engine,
              sp,
              operationId,
              instanceId,
              item.request as Extract<BatchRequest, { kind: 'migrate' }>,
            );
          case 'modify':
            return modify(
              engine,
              sp,
              operationId,
              instanceId,
              item.request as Extract<BatchRequest, { kind: 'modify' }>,
            );
        }
      });
      verdict = applied.verdict;
      incidentIds = applied.incidentIds;
    } catch (error) {
      verdict = {
        state: 'failed',
        error: error instanceof Error ? error.message : String(error),
        ...(error instanceof ItemRefused ? { details: error.details } : {}),
      };
    }
    if (verdict) {
      await finishItem(tx, key, verdict, incidentIds);
    } else {
      await tx('batch_operation_items')
        .where(key)
        .update({
          state: 'retried',
          incident_ids: incidentIds,
          attempts: tx.raw('attempts + 1'),
          checked_at: tx.fn.now(),
          result: `resolved ${incidentIds.length} incident(s); waiting for the retried work to finish`,
        });
    }
    return true;
  });
}

async function finishItem(
  tx: Knex.Transaction,
  key: { operation_id: string; process_instance_id: string },
  verdict: NonNullable<Verdict>,
  incidentIds?: string[],
): Promise<void> {
  await tx('batch_operation_items')
    .where(key)
    .update({
      state: verdict.state,
      result: verdict.result ?? null,
      error: verdict.error ?? null,
      details: verdict.details ? JSON.stringify(verdict.details) : null,
      done_at: tx.fn.now(),
      checked_at: tx.fn.now(),
      ...(incidentIds ? { incident_ids: incidentIds, attempts: tx.raw('attempts + 1') } : {}),
    });
}

async function cancel(
  engine: BatchHost,
  tx: Knex.Transaction,
  operationId: string,
  instanceId: string,
): Promise<{ verdict: Verdict; incidentIds: string[] }> {
  const instance = await lockInstance(tx, instanceId);
  if (!instance) return { verdict: { state: 'skipped', result: 'instance no longer exists' }, incidentIds: [] };
  if (instance.state !== 'active')
    return { verdict: { state: 'skipped', result: `instance is already ${instance.state}` }, incidentIds: [] };
  const result = await cancelInstanceIn(
    tx,
    { graphs: engine.graphs, now: () => engine.clock.now() },
    instanceId,
    batchActor(operationId),
    instance,
  );
  // Canceling task listeners may hold the termination: the instance ends once their jobs completed.
  const held = result.state === 'active';
  return {
    verdict: {
      state: 'done',
      result: held ? 'instance cancelling: canceling task listeners run first' : 'instance cancelled',
    },
    incidentIds: [],
  };
}

async function migrate(
  engine: BatchHost,
  tx: Knex.Transaction,
  operationId: string,
  instanceId: string,
  request: Extract<BatchRequest, { kind: 'migrate' }>,
): Promise<{ verdict: Verdict; incidentIds: string[] }> {
  const target = { id: request.targetDefinitionId, bpmn_process_id: request.bpmnProcessId, version: request.version };
  const outcome = await migrateInstance(tx, engine.graphs, instanceId, target, request.mappings, {
    now: engine.clock.now(),
    dryRun: false,
    actor: batchActor(operationId),
  });
  return { verdict: migrationVerdict(outcome), incidentIds: [] };
}

/** An item's end for a migration outcome; a dry run reports the same. */
export function migrationVerdict(outcome: MigrationOutcome): NonNullable<Verdict> {
  if (outcome.ok)
    return {
      state: 'done',
      result: `migrated from version ${outcome.from.version} to ${outcome.to.version}`,
      details: { elements: outcome.elements },
    };
  if (outcome.code !== 'OPERON_ERR_MIGRATION_REFUSED') return { state: 'skipped', result: outcome.reason };
  return {
    state: 'failed',
    error: `refused: ${outcome.reason}`,
    details: {
      ...(outcome.elementId !== undefined ? { elementId: outcome.elementId } : {}),
      ...(outcome.elementInstanceKey !== undefined ? { elementInstanceKey: outcome.elementInstanceKey } : {}),
    },
  };
}

/** The element instance keys of the instance's active elements among `elementIds`, from its snapshot. */
export function activeKeysOf(snapshot: unknown, elementIds: string[]): string[] {
  const elements = (snapshot as { elements?: Record<string, { key: string; elementId: string }> }).elements ?? {};
  return Object.values(elements)
    .filter((ei) => ei.key !== '0' && elementIds.includes(ei.elementId))
    .map((ei) => ei.key);
}

async function modify(
  engine: BatchHost,
  tx: Knex.Transaction,
  operationId: string,
  instanceId: string,
  request: Extract<BatchRequest, { kind: 'modify' }>,
): Promise<{ verdict: Verdict; incidentIds: string[] }> {
  const instance = await lockInstance(tx, instanceId);
  if (!instance) return { verdict: { state: 'skipped', result: 'instance no longer exists' }, incidentIds: [] };
  if (instance.state !== 'active')
    return { verdict: { state: 'skipped', result: `instance is already ${instance.state}` }, incidentIds: [] };
  const terminate = activeKeysOf(instance.snapshot, request.terminateElementIds);
  if (request.terminateElementIds.length > 0 && terminate.length === 0)
    return {
      verdict: { state: 'skipped', result: `not active in ${request.terminateElementIds.join(', ')}` },
      incidentIds: [],
    };
  const event = { type: 'instance.modify' as const, activate: request.activate, terminate };
  const { result } = await stepInstance(tx, engine.graphs, instanceId, event, engine.clock.now(), instance);
  // Throwing rolls the savepoint back: a refused modification leaves no trace.
  if (result.ignored) throw new ItemRefused(`refused: ${result.ignored}`, { activate: request.activate, terminate });
  await appendAudit(tx, [
    {
      actor: batchActor(operationId),
      action: 'instance.modify',
      target: { kind: 'instance', id: instanceId },
      instanceId,
      change: { activate: request.activate, terminate },
    },
  ]);
  return {
    verdict: {
      state: 'done',
      result: `activated ${request.activate.length} element(s), terminated ${terminate.length} element instance(s)`,
      details: { activate: request.activate, terminate },
    },
    incidentIds: [],
  };
}

async function retry(
  engine: BatchHost,
  tx: Knex.Transaction,
  operationId: string,
  instanceId: string,
  filter: BatchFilter,
): Promise<{ verdict: Verdict; incidentIds: string[] }> {
  const instance = await lockInstance(tx, instanceId);
  if (!instance) return { verdict: { state: 'skipped', result: 'instance no longer exists' }, incidentIds: [] };
  if (instance.state !== 'active')
    return { verdict: { state: 'skipped', result: `instance is already ${instance.state}` }, incidentIds: [] };
  const open = tx('incidents').where({ process_instance_id: instanceId, state: 'open' }).orderBy('created_at');
  if (filter.elementId !== undefined) open.where({ element_id: filter.elementId });
  if (filter.incidentType !== undefined) open.where({ code: filter.incidentType });
  const incidents = (await open.select('id')) as { id: string }[];
  if (incidents.length === 0)
    return { verdict: { state: 'skipped', result: 'no open incident matching the filter' }, incidentIds: [] };
  const incidentIds = incidents.map((incident) => incident.id);
  for (const id of incidentIds) await engine.resolveIncident(id, { actor: batchActor(operationId) }, tx);
  // A retried step without a job ran above: it may already have cleared or failed again.
  return { verdict: await verifyRetry(tx, instanceId, incidentIds), incidentIds };
}

/** Whether the work behind resolved incidents got past the failure (see the file comment); undefined: not yet. */
async function verifyRetry(tx: Knex.Transaction, instanceId: string, incidentIds: string[]): Promise<Verdict> {
  const resolved = (await tx('incidents').whereIn('id', incidentIds).select('id', 'element_id', 'job_id')) as {
    id: string;
    element_id: string;
    job_id: string | null;
  }[];
  const again = await tx('incidents')
    .where({ process_instance_id: instanceId, state: 'open' })
    .whereIn(
      'element_id',
      resolved.map((incident) => incident.element_id),
    )
    .whereNotIn('id', incidentIds)
    .orderBy('created_at')
    .first('code', 'message');
  if (again) return { state: 'failed', error: `incident raised again: ${again.code}: ${again.message}` };
  const jobIds = resolved.map((incident) => incident.job_id).filter((id): id is string => id !== null);
  const jobs =
    jobIds.length > 0 ? ((await tx('jobs').whereIn('id', jobIds).select('state')) as { state: string }[]) : [];
  if (jobs.some((job) => job.state === 'ready' || job.state === 'leased')) return undefined;
  if (jobs.some((job) => job.state === 'cancelled'))
    return {
      state: 'skipped',
      result: 'the retried job was cancelled before it completed (instance ended or moved on)',
    };
  if (jobs.some((job) => job.state === 'failed')) return { state: 'failed', error: 'the retried job failed again' };
  return {
    state: 'done',
    result:
      jobIds.length > 0
        ? `incident cleared: the retried job completed (${incidentIds.length} incident(s))`
        : `incident cleared: the retried step ran (${incidentIds.length} incident(s))`,
  };
}

/** Marks the operation finished, with its final counts, once no item is pending or retried. */
async function finishIfDone(db: Knex, operationId: string): Promise<void> {
  await db.raw(
    `UPDATE batch_operations o SET state = 'finished', finished_at = now(),
       done_count = (SELECT count(*) FROM batch_operation_items WHERE operation_id = o.id AND state = 'done'),
       failed_count = (SELECT count(*) FROM batch_operation_items WHERE operation_id = o.id AND state = 'failed'),
       skipped_count = (SELECT count(*) FROM batch_operation_items WHERE operation_id = o.id AND state = 'skipped')
     WHERE o.id = ? AND o.state = 'running'
       AND NOT EXISTS (SELECT 1 FROM batch_operation_items WHERE operation_id = o.id AND state IN ('pending', 'retried'))`,
    [operationId],
  );
}
