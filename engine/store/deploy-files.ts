/**
 * A deployment from its files (the engine's `deploy`): parse them (BPMN through the safe parser,
 * DMN), check them against this engine (every `bot:` or `decision:` task names a registered node,
 * bound nodes validate their elements, timer cycles are not shorter than the engine allows), then
 * write them in one transaction (`deployDefinitions`) and put the new graphs in the cache. Nothing
 * is written when a file fails to parse or a check fails.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { DeployFile, DeploymentResult } from '../api.ts';
import { isDmnFile, parseDmn, type DmnModel } from '../dmn/index.ts';
import { OperonError } from '../errors.ts';
import type { ProcessGraph } from '../model/index.ts';
import { parseDefinitionsSafely, prescanBpmn } from '../model/safe-parse.ts';
import { NodeRegistry } from '../nodes/registry.ts';
import { checkTimerCycles } from '../timers/timer-policy.ts';
import type { Actor } from './audit-log.ts';
import { deployDefinitions } from './deploy-definitions.ts';
import type { GraphCache } from './graph-cache.ts';

/** What deploying needs from the engine. */
export interface DeployContext {
  graphs: GraphCache;
  /** The node types this engine runs: a bound task is validated by its node. */
  nodes: NodeRegistry;
  /** Engine time (engine/clock.ts), read once the files are parsed and checked. */
  now: () => Date;
  /** The engine's shortest timer cycle: a shorter one fails the deployment, start timers are scheduled no closer. */
  minCycleIntervalMs: number;
}

/** Task type prefixes Operon's own nodes provide: an element naming one that is not registered fails deployment. */
const RESERVED_PREFIXES = {
  bot: { code: 'OPERON_ERR_UNKNOWN_BOT', noun: 'bot' },
  decision: { code: 'OPERON_ERR_UNKNOWN_MODEL', noun: 'model' },
} as const;

/** Parses, checks and writes `files` as one deployment by `actor`; the warnings name task types no node handles. */
export async function deployFiles(
  db: Knex,
  context: DeployContext,
  files: DeployFile[],
  actor: Actor,
): Promise<DeploymentResult> {
  const parsed: { file: DeployFile; hash: string; graphs: ProcessGraph[] }[] = [];
  const dmn: { file: DeployFile; hash: string; model: DmnModel }[] = [];
  for (const file of files) {
    if (isDmnFile(file)) {
      prescanBpmn(file.xml, file.name);
      dmn.push({
        file,
        hash: createHash('sha256').update(file.xml).digest('hex'),
        model: await parseDmn(file.xml, file.name),
      });
      continue;
    }
    const graphs = await parseDefinitionsSafely(file.xml, file.name);
    parsed.push({ file, hash: createHash('sha256').update(file.xml).digest('hex'), graphs });
  }
  const warnings = await validateTaskTypes(
    context.nodes,
    parsed.flatMap((entry) => entry.graphs),
  );
  const now = context.now();
  for (const graph of parsed.flatMap((entry) => entry.graphs)) checkTimerCycles(graph, context.minCycleIntervalMs, now);
  const { deployed, decisions } = await deployDefinitions(db, {
    bpmn: parsed,
    dmn,
    now,
    minCycleIntervalMs: context.minCycleIntervalMs,
    actor,
    deploymentId: files.map((file) => file.name).join(','),
  });
  for (const { process, graph } of deployed) context.graphs.set(process.definitionId, graph);
  return { processes: deployed.map((d) => d.process), decisions, warnings };
}

/** Validates bound node types (an unknown bot or model fails the deployment) and lists unhandled task types. */
async function validateTaskTypes(nodes: NodeRegistry, graphs: ProcessGraph[]): Promise<string[]> {
  const unhandled = new Map<string, string[]>();
  for (const graph of graphs) {
    for (const task of graph.serviceTasks) {
      const node = nodes.resolve(task.taskType);
      const prefix = task.taskType.split(':')[0]!;
      if (!node && task.taskType.includes(':') && prefix in RESERVED_PREFIXES) {
        // bot: and decision: name something Operon itself must provide; with no such node nothing ever could run them.
        const { code, noun } = RESERVED_PREFIXES[prefix as keyof typeof RESERVED_PREFIXES];
        const name = task.taskType.slice(prefix.length + 1);
        throw new OperonError(
          code,
          `${graph.bpmnProcessId}: task '${task.elementId}' names ${noun} '${name}', but no ${noun}s are registered`,
          {
            details: {
              elementId: task.elementId,
              bpmnProcessId: graph.bpmnProcessId,
              taskType: task.taskType,
              [noun]: name,
            },
          },
        );
      }
      if (!node) {
        unhandled.set(task.taskType, [
          ...(unhandled.get(task.taskType) ?? []),
          `${graph.bpmnProcessId}/${task.elementId}`,
        ]);
        continue;
      }
      await node.validate?.(NodeRegistry.binding(task.elementId, task.taskType, task.headers));
    }
  }
  return [...unhandled].map(
    ([type, elements]) =>
      `Task type '${type}' (${elements.join(', ')}) has no registered node: its jobs wait for an external worker`,
  );
}
