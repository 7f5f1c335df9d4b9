/**
 * Shared body of the decision crash tests: fork/join instances whose two branches are real decision
 * nodes (`decision:loan` and `decision:order`, the shipped ONNX models), run by worker processes
 * that are SIGKILLed and replaced, `kills` times, while instances keep arriving: each kill comes a
 * random `pauseMs` after a batch of starts and hits a worker holding leases when there is one.
 *
 * Checked from the rows: every instance completes once, every join fires once, every job result is
 * applied once; each decision task's result variable names a `decisions` row of that instance,
 * element and job; and every job has exactly one `decisions` row, however many attempts it took:
 * the row is written by the decision package's record hook in the completion's transaction, so an
 * attempt killed or fenced before its result was applied leaves none.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createDecisionNode } from '../../nodes/decision/index.ts';
import { createTestDatabase } from '../support/db.ts';
import { openEngine } from '../engine/support/harness.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/decision-fork-join.bpmn', import.meta.url));
const EMPLOYMENT = ['permanent', 'contract', 'self-employed', 'unemployed'];
const TIERS = ['standard', 'gold', 'platinum'];

/** Start variables for both models, varied so the labels vary. */
export function caseVariables(n: number): Record<string, unknown> {
  return {
    n,
    income: 1_500 + ((n * 7_919) % 9_000),
    debts: (n * 3_571) % 4_000,
    creditScore: 420 + ((n * 131) % 420),
    amount: 1_000 + ((n * 2_749) % 40_000),
    termMonths: [12, 24, 36, 60][n % 4],
    employment: EMPLOYMENT[n % EMPLOYMENT.length],
    purpose: n % 3 === 0 ? 'new car for commuting' : 'kitchen renovation',
    weightKg: 1 + ((n * 17) % 60),
    distanceKm: 2 + ((n * 37) % 500),
    stock: { leeds: n % 5, bristol: (n * 3) % 4, glasgow: (n * 7) % 3 },
    deadlineHours: [4, 24, 48, 96][n % 4],
    customerTier: TIERS[n % TIERS.length],
    notes: n % 2 === 0 ? 'leave with the neighbour' : 'fragile, glassware',
  };
}

export interface DecisionKillResult {
  instances: number;
  kills: number;
  decisionJobs: number;
  jobsRunMoreThanOnce: number;
  decisionRows: number;
  /** Rows written by attempts whose result was never applied (killed between insert and completion). */
  unusedDecisionRows: number;
  seconds: number;
}

interface DecisionVariable {
  label: string;
  decisionId: string;
}

export async function killDecisionWorkersDuringRun(options: {
  instances: number;
  kills: number;
  batch: number;
  pauseMs: [number, number];
}): Promise<DecisionKillResult> {
  const startedAt = performance.now();
  const db = await createTestDatabase();
  const client = await openEngine(db.url, { worker: false, extraNodes: [createDecisionNode()] });
  const workers: ChildProcess[] = [];
  const env = { DECISION: '1', LOCK_MS: '1000', POLL_MS: '100', CONCURRENCY: '8' };
  try {
    await client.engine.deploy([{ name: 'decision-fork-join.bpmn', xml: readFileSync(FIXTURE, 'utf8') }]);
    const ids: string[] = [];
    const startBatch = async () => {
      for (let i = 0; i < options.batch && ids.length < options.instances; i++)
        ids.push((await client.engine.startInstance('decision-fork-join', caseVariables(ids.length))).instanceId);
    };
    const names = new Map<ChildProcess, string>();
    const spawn = async (name: string) => {
      const worker = await spawnWorker(db.url, name, env);
      names.set(worker, name);
      return worker;
    };
    workers.push(await spawn('d-0'), await spawn('d-1'));
    let generation = 2;
    let kills = 0;
    const remaining = async () => {
      const [row] = await client
        .knex('process_instances')
        .whereIn('id', ids)
        .whereNot({ state: 'completed' })
        .count<{ count: string }[]>('* as count');
      return Number(row!.count);
    };
    // Instances keep arriving while workers die, so kills land at every point of a job's life.
    while (kills < options.kills || ids.length < options.instances || (await remaining()) > 0) {
      await startBatch();
      const [low, high] = options.pauseMs;
      await new Promise((resolve) => setTimeout(resolve, low + Math.random() * (high - low)));
      if (kills < options.kills) {
        // Decisions take milliseconds: kill a worker that holds leases right now (a random one if none does),
        // so the kill lands inside a job rather than on an idle worker.
        const holders = (await client.knex('jobs').where({ state: 'leased' }).distinct('owner')).map(
          (row) => row.owner as string,
        );
        const busy = workers
          .map((worker, i) => ({ worker, i }))
          .filter(({ worker }) => holders.includes(names.get(worker)!));
        const pick =
          busy.length > 0
            ? busy[Math.floor(Math.random() * busy.length)]!.i
            : Math.floor(Math.random() * workers.length);
        const victim = workers.splice(pick, 1)[0]!;
        victim.kill('SIGKILL');
        kills++;
        workers.push(await spawn(`d-${generation++}`));
      }
      if (performance.now() - startedAt > 30 * 60_000)
        throw new Error(`not done after 30 minutes: ${await remaining()} instances left`);
    }
    await assertEachCompletedOnce(client.knex, ids);

    const jobs = await client
      .knex('jobs')
      .whereIn('process_instance_id', ids)
      .whereIn('element_id', ['left', 'right'])
      .select('id', 'process_instance_id', 'element_id', 'attempt');
    const rows = await client
      .knex('decisions')
      .whereIn('process_instance_id', ids)
      .select('id', 'process_instance_id', 'element_id', 'job_id', 'label', 'model_name');
    const instances = await client.knex('process_instances').whereIn('id', ids).select('id', 'variables');
    const rowById = new Map(rows.map((row) => [row.id as string, row]));
    const rowsPerJob = new Map<string, number>();
    for (const row of rows) rowsPerJob.set(row.job_id, (rowsPerJob.get(row.job_id) ?? 0) + 1);
    const jobOf = new Map(jobs.map((job) => [`${job.process_instance_id}/${job.element_id}`, job]));

    for (const instance of instances) {
      for (const [elementId, variable, model] of [
        ['left', 'loanDecision', 'loan'],
        ['right', 'orderDecision', 'order'],
      ] as const) {
        const decision = instance.variables[variable] as DecisionVariable | undefined;
        assert.ok(decision?.decisionId, `${instance.id}: ${variable} is set`);
        const row = rowById.get(decision.decisionId);
        const job = jobOf.get(`${instance.id}/${elementId}`)!;
        assert.ok(row, `${instance.id}: ${variable}.decisionId names a decisions row`);
        assert.equal(row.process_instance_id, instance.id);
        assert.equal(row.element_id, elementId);
        assert.equal(row.job_id, job.id, 'the decision used is one the job made');
        assert.equal(row.model_name, model);
        assert.equal(row.label, decision.label, 'the variable carries the label recorded');
      }
    }
    for (const job of jobs) {
      const count = rowsPerJob.get(job.id) ?? 0;
      // The row commits with the completion: a killed or fenced attempt leaves none.
      assert.equal(count, 1, `job ${job.id}: ${count} decision rows from ${job.attempt} attempts (exactly one)`);
    }
    assert.equal(
      rows.filter((row) => !jobOf.has(`${row.process_instance_id}/${row.element_id}`)).length,
      0,
      'no decision row outside a decision job',
    );

    return {
      instances: ids.length,
      kills,
      decisionJobs: jobs.length,
      jobsRunMoreThanOnce: jobs.filter((job) => job.attempt > 1).length,
      decisionRows: rows.length,
      unusedDecisionRows: rows.length - jobs.length,
      seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    };
  } finally {
    for (const worker of workers) await stopWorker(worker, 'SIGKILL');
    await client.close();
    await db.drop();
  }
}
