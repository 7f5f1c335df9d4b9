import type { Db, DefinitionRef, DefinitionRow } from './rows.ts';

/** A definition by id. */
export async function findDefinition(db: Db, definitionId: string): Promise<DefinitionRow | undefined> {
  return db<DefinitionRow>('process_definitions').where({ id: definitionId }).first();
}

/** The latest version of a process, or the given version. */
export async function findDefinitionByProcessId(
  db: Db,
  bpmnProcessId: string,
  version?: number,
): Promise<DefinitionRef | undefined> {
  if (version === undefined) return (await findLatestDefinitions(db, [bpmnProcessId])).get(bpmnProcessId);
  return db<DefinitionRow>('process_definitions')
    .select('id', 'bpmn_process_id', 'version')
    .where({ bpmn_process_id: bpmnProcessId, version })
    .first();
}

/** The latest version of each process (one query), by BPMN process id; missing ids are absent. */
export async function findLatestDefinitions(db: Db, bpmnProcessIds: string[]): Promise<Map<string, DefinitionRef>> {
  // Not the XML: every batch of starts asks, and the graph comes from the cache by id.
  const { rows } = await db.raw(
    `SELECT DISTINCT ON (bpmn_process_id) id, bpmn_process_id, version FROM process_definitions WHERE bpmn_process_id = ANY(?::text[]) ORDER BY bpmn_process_id, version DESC`,
    [bpmnProcessIds],
  );
  return new Map((rows as DefinitionRef[]).map((row) => [row.bpmn_process_id, row]));
}
