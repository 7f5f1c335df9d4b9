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

/** Which definition a start asks for: a process's latest version, or the given one. */
export interface DefinitionWanted {
  bpmnProcessId: string;
  /** A version other than the latest. */
  version?: number;
  /**
   * The latest definition, when the caller read it already (webhooks): no query for it. Used only
   * without `version` and when it is of `bpmnProcessId`.
   */
  latest?: DefinitionRef;
}

/**
 * The definition each of `wanted` asks for, in order (undefined where none is deployed): the latest
 * versions the callers did not read already in one query, each other version in its own.
 */
export async function findWantedDefinitions(
  db: Db,
  wanted: readonly DefinitionWanted[],
): Promise<(DefinitionRef | undefined)[]> {
  // Definitions never change once deployed: reading the latest outside the writing statement
  // at worst starts the version that was latest a moment ago.
  const hintOf = (item: DefinitionWanted) =>
    item.version === undefined && item.latest?.bpmn_process_id === item.bpmnProcessId ? item.latest : undefined;
  const unknown = [
    ...new Set(wanted.filter((item) => !hintOf(item) && item.version === undefined).map((item) => item.bpmnProcessId)),
  ];
  const latest = unknown.length > 0 ? await findLatestDefinitions(db, unknown) : new Map<string, DefinitionRef>();
  return Promise.all(
    wanted.map(async (item) =>
      item.version !== undefined
        ? await findDefinitionByProcessId(db, item.bpmnProcessId, item.version)
        : (hintOf(item) ?? latest.get(item.bpmnProcessId)),
    ),
  );
}
