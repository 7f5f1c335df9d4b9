/**
 * A deployment's writes, in one transaction: its decisions and processes as new versions (a file
 * deployed again unchanged creates none), the start events of each new process version scheduled
 * (timer start events; message start events subscribed), and the deployment's audit entry.
 * Parsing and validating the files comes before, outside the transaction (`deployFiles`, deploy-files.ts).
 */
import type { Knex } from 'knex';
import type { DeployedDecision, DeployedProcess, DeployFile } from '../api.ts';
import type { DmnModel } from '../dmn/index.ts';
import type { ProcessGraph } from '../model/index.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { insertDecisionDefinition } from './decision-definitions.ts';
import { insertDefinition } from './insert-definition.ts';
import { inTransaction } from './notify.ts';
import { scheduleStartEvents } from './schedule-start-events.ts';

/** A deployment's parsed files and who deploys them. */
export interface DeploymentWrite {
  bpmn: { file: DeployFile; hash: string; graphs: ProcessGraph[] }[];
  dmn: { file: DeployFile; hash: string; model: DmnModel }[];
  now: Date;
  /** The engine's shortest timer cycle: start timers are scheduled no closer. */
  minCycleIntervalMs: number;
  actor: Actor;
  /** The audit entry's target: the files' names. */
  deploymentId: string;
}

/** Writes a deployment; returns the processes (with their graphs) and decisions it deployed. */
export async function deployDefinitions(
  db: Knex,
  { bpmn: parsed, dmn, now, minCycleIntervalMs, actor, deploymentId }: DeploymentWrite,
): Promise<{ deployed: { process: DeployedProcess; graph: ProcessGraph }[]; decisions: DeployedDecision[] }> {
  const deployed: { process: DeployedProcess; graph: ProcessGraph }[] = [];
  const decisions: DeployedDecision[] = [];
  await inTransaction(db, async (tx) => {
    for (const { file, hash, model } of dmn) {
      for (const decision of model.decisions) {
        const { row, created } = await insertDecisionDefinition(tx, {
          decisionId: decision.id,
          name: decision.name,
          versionTag: decision.versionTag,
          drgId: model.id,
          resourceName: file.name,
          xml: file.xml,
          xmlHash: hash,
        });
        decisions.push({
          decisionId: row.decision_id,
          ...(row.name ? { name: row.name } : {}),
          ...(row.version_tag ? { versionTag: row.version_tag } : {}),
          version: row.version,
          decisionDefinitionId: row.id,
          created,
        });
      }
    }
    for (const { file, hash, graphs } of parsed) {
      for (const graph of graphs) {
        const { row, created } = await insertDefinition(tx, {
          bpmnProcessId: graph.bpmnProcessId,
          name: graph.name,
          resourceName: file.name,
          xml: file.xml,
          xmlHash: hash,
          versionTag: graph.versionTag,
          retention: graph.retention,
        });
        if (created) await scheduleStartEvents(tx, row, graph, now, minCycleIntervalMs);
        deployed.push({
          process: { bpmnProcessId: row.bpmn_process_id, version: row.version, definitionId: row.id, created },
          graph,
        });
      }
    }
    await appendAudit(tx, [
      {
        actor,
        action: 'deployment.create',
        target: { kind: 'deployment', id: deploymentId },
        change: {
          processes: deployed.map(({ process }) => ({
            bpmnProcessId: process.bpmnProcessId,
            version: process.version,
            definitionId: process.definitionId,
            created: process.created,
          })),
          decisions: decisions.map((d) => ({ decisionId: d.decisionId, version: d.version, created: d.created })),
        },
      },
    ]);
  });
  return { deployed, decisions };
}
