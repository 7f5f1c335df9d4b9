import type { Page, ProcessDefinitionSummary } from '../api.ts';
import { withPage } from './page.ts';
import type { Db, DefinitionRow } from './rows.ts';

/** Every deployed version, newest first per process. */
export async function listDefinitions(db: Db, page: Page = {}): Promise<ProcessDefinitionSummary[]> {
  const query = db<DefinitionRow>('process_definitions')
    .select('id', 'bpmn_process_id', 'version', 'name', 'resource_name', 'xml_hash', 'version_tag', 'deployed_at')
    .orderBy([{ column: 'bpmn_process_id' }, { column: 'version', order: 'desc' }]);
  const rows: Omit<DefinitionRow, 'xml'>[] = await withPage(query, page);
  return rows.map((row) => ({
    definitionId: row.id,
    bpmnProcessId: row.bpmn_process_id,
    version: row.version,
    ...(row.name ? { name: row.name } : {}),
    deployedAt: row.deployed_at.toISOString(),
  }));
}
