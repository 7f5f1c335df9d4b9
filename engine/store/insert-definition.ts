import { randomUUID } from 'node:crypto';
import type { Db, DefinitionRow } from './rows.ts';
import { lockDeployment } from './lock-deployment.ts';

export interface NewDefinition {
  bpmnProcessId: string;
  name?: string;
  resourceName: string;
  xml: string;
  xmlHash: string;
  versionTag?: string;
  /** ISO 8601 duration: how long ended instances are kept (process_definitions.retention). */
  retention?: string;
}

/**
 * Inserts the next version of a process unless the latest version has the same XML hash.
 * Holds the deployment lock of the process id (lock-deployment.ts) until the transaction ends, so
 * concurrent deployments number versions without gaps or duplicates and no start timer of an
 * earlier version fires while this one takes over. Must run inside a transaction.
 */
export async function insertDefinition(
  tx: Db,
  definition: NewDefinition,
): Promise<{ row: DefinitionRow; created: boolean }> {
  await lockDeployment(tx, definition.bpmnProcessId);
  const latest = await tx<DefinitionRow>('process_definitions')
    .where({ bpmn_process_id: definition.bpmnProcessId })
    .orderBy('version', 'desc')
    .first();
  if (latest && latest.xml_hash === definition.xmlHash) return { row: latest, created: false };
  const [row] = await tx<DefinitionRow>('process_definitions')
    .insert({
      id: randomUUID(),
      bpmn_process_id: definition.bpmnProcessId,
      version: (latest?.version ?? 0) + 1,
      name: definition.name ?? null,
      resource_name: definition.resourceName,
      xml: definition.xml,
      xml_hash: definition.xmlHash,
      version_tag: definition.versionTag ?? null,
      retention: definition.retention ?? null,
    })
    .returning('*');
  return { row: row as DefinitionRow, created: true };
}
