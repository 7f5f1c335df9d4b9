/**
 * Deploys new versions of a timer-started process while engines fire its start timer in a loop,
 * and reports every instance an earlier version started after its successor's deployment committed.
 */
import type { Knex } from 'knex';
import type { PostgresEngine } from '../../../engine/engine.ts';
import { waitFor } from '../../engine/support/harness.ts';
import { startTimerProcess } from './timer-processes.ts';

export interface DeployRaceResult {
  /** Instances per version counted right after the next version's deployment returned. */
  frozen: Map<number, number>;
  /** The same versions counted at the end (must equal `frozen`). */
  final: Map<number, number>;
  /** Scheduled start timer rows at the end, by version. */
  scheduledTimers: { version: number; count: number }[];
}

async function instancesByVersion(knex: Knex, processId: string): Promise<Map<number, number>> {
  const rows = await knex('process_instances')
    .where({ bpmn_process_id: processId })
    .select('version')
    .count('* as n')
    .groupBy('version');
  return new Map(rows.map((row) => [Number(row.version), Number(row.n)]));
}

export interface DeployRaceOptions {
  processId: string;
  cycle: string;
  versions: number;
  firstVersion?: number;
  warmUp?: number;
  settle?: number;
  timeoutMs?: number;
}

/**
 * Deploys versions `firstVersion`..`firstVersion + versions - 1` of `processId` through `deployer`,
 * each once the previous one has started at least `warmUp` instances, then waits until the last one has
 * started `settle` more instances (time for a leaked timer of an earlier version to show).
 */
export async function deployRace(
  deployer: PostgresEngine,
  knex: Knex,
  options: DeployRaceOptions,
): Promise<DeployRaceResult> {
  const { processId, cycle, versions } = options;
  const first = options.firstVersion ?? 1;
  const warmUp = options.warmUp ?? 3;
  const settle = options.settle ?? 10;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const frozen = new Map<number, number>();
  const countOf = async (version: number) => (await instancesByVersion(knex, processId)).get(version) ?? 0;
  for (let version = first; version < first + versions; version++) {
    const xml = startTimerProcess(processId, cycle, `${processId} v${version}`);
    const result = await deployer.deploy([{ name: `${processId}.bpmn`, xml }]);
    if (result.processes[0]!.version !== version)
      throw new Error(`expected version ${version}, got ${result.processes[0]!.version}`);
    // The deployment has committed: from here on the previous version must not start anything.
    if (version > first || first > 1)
      frozen.set(version - 1, (await instancesByVersion(knex, processId)).get(version - 1) ?? 0);
    await waitFor(async () => (await countOf(version)) >= warmUp, timeoutMs, `version ${version} to fire`);
  }
  const last = first + versions - 1;
  const lastCount = await countOf(last);
  await waitFor(async () => (await countOf(last)) >= lastCount + settle, timeoutMs, `version ${last} to keep firing`);
  const counts = await instancesByVersion(knex, processId);
  const final = new Map([...frozen.keys()].map((version) => [version, counts.get(version) ?? 0]));
  const timers = await knex('timers as t')
    .join('process_definitions as d', 'd.id', 't.definition_id')
    .where({ 'd.bpmn_process_id': processId, 't.state': 'scheduled' })
    .whereNull('t.process_instance_id')
    .select('d.version')
    .count('* as n')
    .groupBy('d.version');
  return {
    frozen,
    final,
    scheduledTimers: timers.map((row) => ({ version: Number(row.version), count: Number(row.n) })),
  };
}
