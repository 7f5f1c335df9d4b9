/**
 * Deployed DMN decisions (table decision_definitions) and the loader that hands them to a step.
 *
 * The runtime is synchronous and does no I/O, so a business rule task cannot read a decision from
 * the database while it runs. `DecisionLoader` works like the FEEL session (feel/session.ts): the
 * first pass of a step asks for the decision, finds it missing and is abandoned; the driver loads
 * the latest version (`settle`) and runs the step again, which now finds it. Parsed models are kept
 * by definition id: a deployed version never changes.
 */
import { randomUUID } from 'node:crypto';
import { parseDmn, type DmnModel } from '../dmn/index.ts';
import type { DecisionSource, LoadedDecision } from '../runtime/contract.ts';
import { lockDeployment } from './lock-deployment.ts';
import type { Db } from './rows.ts';

export interface DecisionDefinitionRow {
  id: string;
  decision_id: string;
  version: number;
  name: string | null;
  drg_id: string;
  resource_name: string;
  xml: string;
  xml_hash: string;
  version_tag: string | null;
  deployed_at: Date;
}

export interface NewDecisionDefinition {
  decisionId: string;
  name?: string;
  drgId: string;
  resourceName: string;
  xml: string;
  xmlHash: string;
  versionTag?: string;
}

/**
 * Inserts the next version of a decision unless the latest version has the same XML hash. Holds
 * the deployment lock of `dmn:<decisionId>` until the transaction ends, so concurrent deployments
 * number versions without gaps or duplicates. Must run inside a transaction.
 */
export async function insertDecisionDefinition(
  tx: Db,
  decision: NewDecisionDefinition,
): Promise<{ row: DecisionDefinitionRow; created: boolean }> {
  await lockDeployment(tx, `dmn:${decision.decisionId}`);
  const latest = await latestDecision(tx, decision.decisionId);
  if (latest && latest.xml_hash === decision.xmlHash) return { row: latest, created: false };
  const [row] = await tx<DecisionDefinitionRow>('decision_definitions')
    .insert({
      id: randomUUID(),
      decision_id: decision.decisionId,
      version: (latest?.version ?? 0) + 1,
      name: decision.name ?? null,
      drg_id: decision.drgId,
      resource_name: decision.resourceName,
      xml: decision.xml,
      xml_hash: decision.xmlHash,
      version_tag: decision.versionTag ?? null,
    })
    .returning('*');
  return { row: row as DecisionDefinitionRow, created: true };
}

/** The newest version of a decision, or the newest one carrying `versionTag`. */
export async function latestDecision(
  db: Db,
  decisionId: string,
  versionTag?: string,
): Promise<DecisionDefinitionRow | undefined> {
  return db<DecisionDefinitionRow>('decision_definitions')
    .where({ decision_id: decisionId, ...(versionTag !== undefined ? { version_tag: versionTag } : {}) })
    .orderBy('version', 'desc')
    .first();
}

/** Parsed models by decision definition id, shared by every step of this engine process. */
export class DmnModelCache {
  readonly #models = new Map<string, Promise<DmnModel>>();

  model(row: Pick<DecisionDefinitionRow, 'id' | 'xml' | 'resource_name'>): Promise<DmnModel> {
    let model = this.#models.get(row.id);
    if (!model) {
      model = parseDmn(row.xml, row.resource_name);
      model.catch(() => this.#models.delete(row.id));
      this.#models.set(row.id, model);
    }
    return model;
  }
}

/** One step's view of the deployed decisions: the latest version of each, read through the step's transaction. */
export class DecisionLoader implements DecisionSource {
  readonly #found = new Map<string, LoadedDecision | null>();
  /** Wanted decisions by lookup key, with their version tag. */
  readonly #wanted = new Map<string, { decisionId: string; versionTag?: string }>();

  constructor(
    private readonly db: Db,
    private readonly cache: DmnModelCache,
  ) {}

  get pending(): boolean {
    return this.#wanted.size > 0;
  }

  find(decisionId: string, versionTag?: string): LoadedDecision | null | undefined {
    const key = versionTag === undefined ? decisionId : `${decisionId}\u0000${versionTag}`;
    if (this.#found.has(key)) return this.#found.get(key);
    this.#wanted.set(key, { decisionId, ...(versionTag !== undefined ? { versionTag } : {}) });
    return undefined;
  }

  async settle(): Promise<void> {
    const wanted = [...this.#wanted];
    this.#wanted.clear();
    for (const [key, { decisionId, versionTag }] of wanted) {
      const row = await latestDecision(this.db, decisionId, versionTag);
      if (!row) {
        this.#found.set(key, null);
        continue;
      }
      const model = await this.cache.model(row);
      this.#found.set(key, { decisionDefinitionId: row.id, decisionId, version: row.version, model });
    }
  }
}
