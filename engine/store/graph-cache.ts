import { OperonError } from '../errors.ts';
import { parseDefinitions, type ProcessGraph } from '../model/index.ts';
import { findDefinition } from './find-definition.ts';
import type { Db } from './rows.ts';
import type { StepContext } from '../runtime/contract.ts';
import { DecisionLoader, DmnModelCache } from './decision-definitions.ts';

/**
 * Parsed process graphs by definition id. Definitions never change after deployment, so an entry
 * stays valid forever; the graph is re-parsed from the stored XML, so a newer parser never reads a
 * stale serialized graph.
 *
 * It also carries the limits this engine's steps run under (`stepContext`), since every step
 * reaches its graph through it.
 */
export class GraphCache {
  readonly #graphs = new Map<string, Promise<ProcessGraph>>();

  constructor(readonly limits: Omit<StepContext, 'now'> = {}) {}

  /** Parsed DMN models of deployed decisions, by decision definition id. */
  readonly dmnModels = new DmnModelCache();

  /**
   * The context of a step at `now` under this engine's limits. With `db` (the step's transaction),
   * business rule tasks find their deployed decisions through it; call once per step.
   */
  stepContext(now: Date, db?: Db): StepContext {
    return { ...this.limits, now, ...(db ? { decisions: new DecisionLoader(db, this.dmnModels) } : {}) };
  }

  /** The graph of a definition, read through `db` (the caller's transaction) on a cache miss. */
  async get(db: Db, definitionId: string): Promise<ProcessGraph> {
    const shared = this.#graphs.get(definitionId);
    if (shared) {
      // Another caller's load runs on its own transaction; if that one failed, load on ours.
      try {
        return await shared;
      } catch {
        return this.get(db, definitionId);
      }
    }
    const graph = this.#load(db, definitionId);
    this.#graphs.set(definitionId, graph);
    graph.catch(() => {
      if (this.#graphs.get(definitionId) === graph) this.#graphs.delete(definitionId);
    });
    return graph;
  }

  /** Seeds the cache with graphs parsed during deployment. */
  set(definitionId: string, graph: ProcessGraph): void {
    this.#graphs.set(definitionId, Promise.resolve(graph));
  }

  async #load(db: Db, definitionId: string): Promise<ProcessGraph> {
    const row = await findDefinition(db, definitionId);
    if (!row)
      throw new OperonError('OPERON_ERR_NOT_FOUND', `Process definition ${definitionId} does not exist`, {
        details: { definitionId },
      });
    const graphs = await parseDefinitions(row.xml, row.resource_name);
    const graph = graphs.find((candidate) => candidate.bpmnProcessId === row.bpmn_process_id);
    if (!graph)
      throw new OperonError('OPERON_ERR_NOT_FOUND', `Process ${row.bpmn_process_id} is missing from its deployed XML`, {
        details: { definitionId },
      });
    return graph;
  }
}
