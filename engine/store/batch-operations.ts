/**
 * Batch operations (docs/engine.md "Batch operations"): creating one resolves its filter once, in
 * the creating transaction, into one `batch_operation_items` row per matching instance; the worker
 * loops then apply it item by item (batch-process.ts). Progress is counted from the items.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit, SYSTEM_ACTOR, type Actor } from './audit-log.ts';
import type { ElementMapping } from '../runtime/migration.ts';

export type BatchKind = 'retry' | 'cancel' | 'migrate' | 'modify';

/** What every item of a migrate or modify applies (`batch_operations.request`). */
export type BatchRequest =
  | {
      kind: 'migrate';
      targetDefinitionId: string;
      bpmnProcessId: string;
      version: number;
      mappings: ElementMapping[];
    }
  | { kind: 'modify'; activate: string[]; terminateElementIds: string[] };
export type BatchItemState = 'pending' | 'retried' | 'done' | 'failed' | 'skipped';

export interface BatchFilter {
  bpmnProcessId?: string;
  version?: number;
  /** retry: the open incident's element; cancel, migrate, modify: an element the instance is active in. */
  elementId?: string;
  /** The open incident's code (e.g. OPERON_ERR_JOB_FAILED). */
  incidentType?: string;
  businessKey?: string;
}

export interface BatchOperationView {
  id: string;
  kind: BatchKind;
  filter: BatchFilter;
  request: BatchRequest | null;
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
  details: Record<string, unknown> | null;
  doneAt: string | null;
}

/** Creates the operation and its items in one transaction; an operation matching nothing is finished at once. */
export async function createBatchOperation(
  db: Knex,
  input: { kind: BatchKind; filter: BatchFilter; request?: BatchRequest; createdBy?: string; actor?: Actor },
): Promise<{ id: string; total: number }> {
  const id = randomUUID();
  const { kind, filter } = input;
  return db.transaction(async (tx) => {
    await tx('batch_operations').insert({
      id,
      kind,
      filter: JSON.stringify(filter),
      request: input.request ? JSON.stringify(input.request) : null,
      state: 'running',
      total_count: 0,
      created_by: input.createdBy ?? null,
    });
    const instances = matchingInstances(tx, kind, filter, input.request);
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
        change: { kind, filter, ...(input.request ? { request: input.request } : {}), total },
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

/**
 * The active instances a filter matches now, as `process_instances as p` (the caller selects). A
 * migration never matches the instances that already run its target.
 */
export function matchingInstances(
  tx: Knex,
  kind: BatchKind,
  filter: BatchFilter,
  request?: BatchRequest,
): Knex.QueryBuilder {
  const instances = tx('process_instances as p').where('p.state', 'active');
  if (request?.kind === 'migrate') instances.whereNot('p.definition_id', request.targetDefinitionId);
  if (filter.bpmnProcessId !== undefined) instances.where('p.bpmn_process_id', filter.bpmnProcessId);
  if (filter.version !== undefined) instances.where('p.version', filter.version);
  if (filter.businessKey !== undefined) instances.where('p.business_key', filter.businessKey);
  const incidentFilter = kind === 'retry' || filter.incidentType !== undefined;
  if (incidentFilter)
    instances.whereExists(function () {
      this.select(tx.raw('1')).from('incidents as i').whereRaw('i.process_instance_id = p.id').where('i.state', 'open');
      if (filter.incidentType !== undefined) this.where('i.code', filter.incidentType);
      if (kind === 'retry' && filter.elementId !== undefined) this.where('i.element_id', filter.elementId);
    });
  if (kind !== 'retry' && filter.elementId !== undefined)
    instances.whereExists(function () {
      this.select(tx.raw('1'))
        .from('element_instances as e')
        .whereRaw('e.process_instance_id = p.id')
        .where({ 'e.state': 'active', 'e.element_id': filter.elementId });
    });
  return instances;
}

export async function getBatchOperation(db: Knex, id: string): Promise<BatchOperationView | undefined> {
  const row = await db('batch_operations').where({ id }).first();
  if (!row) return undefined;
  return (await withProgress(db, [row]))[0];
}

/** Operations, newest first, with their progress; `limit`/`offset` as every list route. */
export async function listBatchOperations(
  db: Knex,
  page: { limit: number; offset: number },
): Promise<BatchOperationView[]> {
  const rows = await db('batch_operations')
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(page.limit)
    .offset(page.offset);
  return withProgress(db, rows);
}

// biome-ignore lint/suspicious/noExplicitAny: a batch_operations row as read
async function withProgress(db: Knex, rows: any[]): Promise<BatchOperationView[]> {
  if (rows.length === 0) return [];
  const counts = (await db('batch_operation_items')
    .whereIn(
      'operation_id',
      rows.map((row) => row.id),
    )
    .groupBy('operation_id', 'state')
    .select('operation_id', 'state', db.raw('count(*)::int as n'))) as {
    operation_id: string;
    state: string;
    n: number;
  }[];
  return rows.map((row) =>
    toView(
      row,
      counts.filter((c) => c.operation_id === row.id),
    ),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: a batch_operations row as read
function toView(row: any, counts: { state: string; n: number }[]): BatchOperationView {
  const by = Object.fromEntries(counts.map((c) => [c.state, c.n]));
  return {
    id: row.id,
    kind: row.kind,
    filter: row.filter,
    request: row.request ?? null,
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
    details: row.details ?? null,
    doneAt: row.done_at ? new Date(row.done_at).toISOString() : null,
  }));
}
