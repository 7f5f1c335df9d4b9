import type { Db, DefinitionRow } from './rows.ts';

/** A definition by id. */
export async function findDefinition(db: Db, definitionId: string): Promise<DefinitionRow | undefined> {
  return db<DefinitionRow>('process_definitions').where({ id: definitionId }).first();
}

/** The latest version of a process, or the given version. */
export async function findDefinitionByProcessId(db: Db, bpmnProcessId: string, version?: number): Promise<DefinitionRow | undefined> {
  const query = db<DefinitionRow>('process_definitions').where({ bpmn_process_id: bpmnProcessId });
  if (version !== undefined) return query.andWhere({ version }).first();
  return query.orderBy('version', 'desc').first();
}
