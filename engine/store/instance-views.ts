import type { Knex } from 'knex';
import type { IncidentFilter, IncidentView, InstanceFilter, InstanceView } from '../api.ts';
import type { Db, ElementInstanceRow, IncidentRow, InstanceRow } from './rows.ts';
import { withPage } from './page.ts';

export function toIncidentView(row: IncidentRow): IncidentView {
  return {
    id: row.id,
    instanceId: row.process_instance_id,
    elementId: row.element_id,
    elementInstanceKey: row.element_instance_key,
    ...(row.job_id ? { jobId: row.job_id } : {}),
    code: row.code,
    message: row.message,
    ...(row.details ? { details: row.details } : {}),
    state: row.state,
    createdAt: row.created_at.toISOString(),
    ...(row.resolved_at ? { resolvedAt: row.resolved_at.toISOString() } : {}),
  };
}

function toView(row: InstanceRow, elements: ElementInstanceRow[], incidents: IncidentRow[]): InstanceView {
  return {
    instanceId: row.id,
    bpmnProcessId: row.bpmn_process_id,
    version: row.version,
    definitionId: row.definition_id,
    ...(row.business_key ? { businessKey: row.business_key } : {}),
    state: row.state,
    variables: row.variables,
    startedAt: row.started_at.toISOString(),
    ...(row.ended_at ? { endedAt: row.ended_at.toISOString() } : {}),
    elements: elements.map((element) => ({
      elementInstanceKey: element.element_instance_key,
      elementId: element.element_id,
      elementType: element.element_type,
      ...(element.element_name ? { elementName: element.element_name } : {}),
      state: element.state,
      startedAt: element.started_at.toISOString(),
      ...(element.ended_at ? { endedAt: element.ended_at.toISOString() } : {}),
    })),
    incidents: incidents.map(toIncidentView),
  };
}

const INSTANCE_COLUMNS = [
  'id',
  'definition_id',
  'bpmn_process_id',
  'version',
  'business_key',
  'state',
  'variables',
  'row_version',
  'started_at',
  'updated_at',
  'ended_at',
];

/** One instance with its element instances (activation order) and incidents. */
export async function getInstanceView(db: Db, instanceId: string): Promise<InstanceView | undefined> {
  // One snapshot for the three reads, so a step committing in between cannot pair old variables with new elements.
  if (!db.isTransaction)
    return (db as Knex).transaction((tx) => getInstanceView(tx, instanceId), {
      isolationLevel: 'repeatable read',
      readOnly: true,
    });
  const row = await db<InstanceRow>('process_instances').select(INSTANCE_COLUMNS).where({ id: instanceId }).first();
  if (!row) return undefined;
  const [elements, incidents] = await Promise.all([
    db<ElementInstanceRow>('element_instances').where({ process_instance_id: instanceId }).orderBy('seq'),
    db<IncidentRow>('incidents').where({ process_instance_id: instanceId }).orderBy('created_at'),
  ]);
  return toView(row as unknown as InstanceRow, elements, incidents);
}

/** Instances matching a filter, newest first, each with its elements and incidents. */
export async function listInstanceViews(db: Db, filter: InstanceFilter): Promise<InstanceView[]> {
  if (!db.isTransaction)
    return (db as Knex).transaction((tx) => listInstanceViews(tx, filter), {
      isolationLevel: 'repeatable read',
      readOnly: true,
    });
  const query = db<InstanceRow>('process_instances').select(INSTANCE_COLUMNS).orderBy('started_at', 'desc');
  if (filter.bpmnProcessId) query.where({ bpmn_process_id: filter.bpmnProcessId });
  if (filter.state) query.where({ state: filter.state });
  if (filter.businessKey) query.where({ business_key: filter.businessKey });
  if (filter.startedAfter) query.where('started_at', '>=', filter.startedAfter);
  if (filter.startedBefore) query.where('started_at', '<', filter.startedBefore);
  query.limit(filter.limit ?? 100).offset(filter.offset ?? 0);
  const rows = (await query) as unknown as InstanceRow[];
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const [elements, incidents] = await Promise.all([
    db<ElementInstanceRow>('element_instances').whereIn('process_instance_id', ids).orderBy('seq'),
    db<IncidentRow>('incidents').whereIn('process_instance_id', ids).orderBy('created_at'),
  ]);
  return rows.map((row) =>
    toView(
      row,
      elements.filter((element) => element.process_instance_id === row.id),
      incidents.filter((incident) => incident.process_instance_id === row.id),
    ),
  );
}

/** The incidents `filter` selects, in creation order, one page. */
export async function listIncidentViews(db: Knex, filter: IncidentFilter): Promise<IncidentView[]> {
  const query = db<IncidentRow>('incidents').orderBy([{ column: 'created_at' }, { column: 'id' }]);
  if (filter.state) query.where({ state: filter.state });
  if (filter.instanceId) query.where({ process_instance_id: filter.instanceId });
  return ((await withPage(query, filter)) as IncidentRow[]).map(toIncidentView);
}
