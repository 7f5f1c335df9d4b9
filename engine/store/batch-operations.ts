/**
 * Batch operations (docs/engine.md "Batch operations"): creating one resolves its filter once, in
 * the creating transaction, into one `batch_operation_items` row per matching instance; the worker
 * loops then apply it item by item (batch-process.ts). Progress is counted from the items.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit, SYSTEM_ACTOR, type Actor } from './audit-log.ts';

export type BatchKind = 'retry' | 'cancel';
export type BatchItemState = 'pending' | 'retried' | 'done' | 'failed' | 'skipped';

export interface BatchFilter {
  bpmnProcessId?: string;
  version?: number;
  /** retry: the open incident's element; cancel: an element the instance is active in. */
  elementId?: string;
  /** The open incident's code (e.g. OPERON_ERR_JOB_FAILED). */
  incidentType?: string;
  businessKey?: string;
}

export interface BatchOperationView {
  id: string;
  kind: BatchKind;
  filter: BatchFilter;
  state: 'running' | 'finished';
  createdBy: string | null;
  createdAt: string;
  finishedAt: string | null;
  progress: { total: number; pending: number; retried: number; done: number; failed: number; skipped: number };
}

export interface BatchItemView {
  instanceId: string;
  seq: number;
  state: BatchItemState;
  incidentIds: string[];
  result: string | null;
  error: string | null;
  doneAt: string | null;
}

/** Creates the operation and its items in one transaction; an operation matching nothing is finished at once. */
export async function createBatchOperation(
  db: Knex,
  input: { kind: BatchKind; filter: BatchFilter; createdBy?: string; actor?: Actor },
): Promise<{ id: string; total: number }> {
  const id = randomUUID();
  const { kind, filter } = input;
  return db.transaction(async (tx) => {
    await tx('batch_operations').insert({
      id,
      kind,
      filter: JSON.stringify(filter),
      state: 'running',
      total_count: 0,
      created_by: input.createdBy ?? null,
    });
    const instances = tx('process_instances as p').where('p.state', 'active');
    if (filter.bpmnProcessId !== undefined) instances.where('p.bpmn_process_id', filter.bpmnProcessId);
    if (filter.version !== undefined) instances.where('p.version', filter.version);
    if (filter.businessKey !== undefined) instances.where('p.business_key', filter.businessKey);
    const incidentFilter = kind === 'retry' || filter.incidentType !== undefined;
    if (incidentFilter)
      instances.whereExists(function () {
        this.select(tx.raw('1'))
          .from('incidents as i')
          .whereRaw('i.process_instance_id = p.id')
          .where('i.state', 'open');
        if (filter.incidentType !== undefined) this.where('i.code', filter.incidentType);
        if (kind === 'retry' && filter.elementId !== undefined) this.where('i.element_id', filter.elementId);
      });
    if (kind === 'cancel' && filter.elementId !== undefined)
      instances.whereExists(function () {
        this.select(tx.raw('1'))
          .from('element_instances as e')
          .whereRaw('e.process_instance_id = p.id')
          .where({ 'e.state': 'active', 'e.element_id': filter.elementId });
      });
    instances.select(
      tx.raw('? as operation_id', [id]),
      'p.id as process_instance_id',
      tx.raw('row_number() over (order by p.started_at, p.id) as seq'),
    );
    const inserted = await tx.raw('INSERT INTO batch_operation_items (operation_id, process_instance_id, seq) ?', [
      instances,
    ]);
    const total = (inserted as { rowCount: number | null }).rowCount ?? 0;
    await appendAudit(tx, [
      {
        actor: input.actor ?? SYSTEM_ACTOR,
        action: 'batch.create',
        target: { kind: 'batchOperation', id },
        change: { kind, filter, total },
      },
    ]);
    await tx('batch_operations')
      .where({ id })
      .update(
        total === 0
          ? {
              total_count: 0,
              state: 'finished',
              finished_at: tx.fn.now(),
              done_count: 0,
              failed_count: 0,
              skipped_count: 0,
            }
          : { total_count: total },
      );
    return { id, total };
  });
}

export async function getBatchOperation(db: Knex, id: string): Promise<BatchOperationView | undefined> {
  const row = await db('batch_operations').where({ id }).first();
  if (!row) return undefined;
  const counts = await db('batch_operation_items')
    .where({ operation_id: id })
    .groupBy('state')
    .select('state', db.raw('count(*)::int as n'));
  const by = Object.fromEntries(counts.map((c: { state: string; n: number }) => [c.state, c.n]));
  return {
    id: row.id,
    kind: row.kind,
    filter: row.filter,
    state: row.state,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
    progress: {
      total: row.total_count,
      pending: by.pending ?? 0,
      retried: by.retried ?? 0,
      done: by.done ?? 0,
      failed: by.failed ?? 0,
      skipped: by.skipped ?? 0,
    },
  };
}

/** Items in `seq` order; `limit`/`offset` as every list route (read one more to know a next page follows). */
export async function listBatchItems(
  db: Knex,
  id: string,
  page: { limit: number; offset: number; state?: BatchItemState },
): Promise<BatchItemView[]> {
  const query = db('batch_operation_items')
    .where({ operation_id: id })
    .orderBy('seq')
    .limit(page.limit)
    .offset(page.offset);
  if (page.state) query.where({ state: page.state });
  const rows = await query;
  return rows.map((row) => ({
    instanceId: row.process_instance_id,
    seq: row.seq,
    state: row.state,
    incidentIds: row.incident_ids ?? [],
    result: row.result,
    error: row.error,
    doneAt: row.done_at ? new Date(row.done_at).toISOString() : null,
  }));
}
