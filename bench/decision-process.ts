/**
 * The decision node inside a process, on a real PostgreSQL (used by bench/decision.ts):
 * start -> service task `decision:<model>` -> end, deployed on a fresh database, its jobs run by one
 * worker child process (this file with `--worker`) with `concurrency` jobs at a time, so concurrent
 * decision jobs share the agent's inference batches. The same process with a `noop` task runs on
 * the same worker first: the engine's own cost per job, without a model.
 *
 * - latency: instances started one at a time (each waits for the previous to end); p50 of the job
 *   (`jobs.created_at` -> `ended_at`) and of the instance (`started_at` -> `ended_at`), server clock;
 * - throughput: `instances` started at once (`concurrency` starters); completed instances (= decisions)
 *   per second from the first instance's start to the last one's end, and p50 job latency under
 *   that load (queueing included: most jobs wait behind the running ones). The starters run in this
 *   process, on the same cores as the worker, the model and PostgreSQL;
 * - backlog: the worker stopped while `instances` are started, then started again: instances per
 *   second from the worker's start to the last end. What the worker itself (claim, node, completion,
 *   the instance's next step) sustains, without the starts competing for the cores.
 *
 * The worker reports how many inference calls its session made and over how many rows, so the run
 * shows the batch size the engine's concurrent jobs actually reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { createEngine } from '../engine/engine.ts';
import { createKnex } from '../engine/store/knex.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import { DecisionAgent } from '../nodes/decision/agent.ts';
import { createBenchDatabase, percentile, round, stopProcesses, waitFor } from './lib.ts';

export interface DecisionProcessResult extends Measured {
  model: string;
  concurrency: number;
  /** The same process with a `noop` task: what the engine costs without a model. */
  noop: Measured;
  /** Inference calls the worker's session made during the decision throughput and backlog runs, and rows per call. */
  batches: { throughput: BatchSummary; backlog: BatchSummary };
}

interface BatchSummary {
  calls: number;
  meanBatch: number;
  maxBatch: number;
}

/** start -> service task of `taskType` -> end. */
export const processXml = (bpmnProcessId: string, taskType: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${bpmnProcessId}" targetNamespace="http://operon/bench">
  <bpmn:process id="${bpmnProcessId}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:serviceTask id="decide" name="Decide">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="${taskType}" retries="3" />
        <zeebe:taskHeaders><zeebe:header key="resultVariable" value="decision" /></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

interface BatchStats {
  calls: number;
  rows: number;
  maxBatch: number;
}

/** Child process: an engine worker running decision nodes; answers `stats` / `reset` on IPC. */
async function runWorker(): Promise<void> {
  const model = process.env.BENCH_MODEL!;
  const concurrency = Number(process.env.BENCH_CONCURRENCY);
  const db = createKnex(process.env.DATABASE_URL!, {
    poolMax: Math.min(concurrency, 10),
    applicationName: 'operon-bench-decision-worker',
  });
  // Loaded before the worker starts (the decision node gets this same agent), so no job pays the cold load.
  const agent = await DecisionAgent.load(model);
  const stats: BatchStats = { calls: 0, rows: 0, maxBatch: 0 };
  const session = agent.model.session;
  const run = session.run.bind(session);
  session.run = (runs) => {
    const rows = runs.reduce((sum, feeds) => sum + feeds.input_ids!.dims[0]!, 0);
    stats.calls++, (stats.rows += rows), (stats.maxBatch = Math.max(stats.maxBatch, rows));
    return run(runs);
  };
  const engine = createEngine({ db, nodes: await createNodeRegistry({ decision: true }), worker: { concurrency } });
  process.on('message', (message) => {
    void (async () => {
      if (message === 'reset') Object.assign(stats, { calls: 0, rows: 0, maxBatch: 0 });
      if (message === 'pause') await engine.stopWorker();
      if (message === 'resume') engine.startWorker({ concurrency });
      process.send?.({ ...stats, at: Date.now() });
    })();
  });
  process.once('SIGTERM', () => {
    void engine
      .close()
      .then(() => db.destroy())
      .then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

function startWorker(url: string, model: string, concurrency: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker'], {
    env: { ...process.env, DATABASE_URL: url, BENCH_MODEL: model, BENCH_CONCURRENCY: String(concurrency) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`decision worker exited early (${code})`)));
  });
}

/** Sends a command to the worker child; it answers with its batch statistics and its clock once done. */
function ask(
  child: ChildProcess,
  message: 'stats' | 'reset' | 'pause' | 'resume',
): Promise<BatchStats & { at: number }> {
  return new Promise((resolve) => {
    child.once('message', (stats) => resolve(stats as BatchStats & { at: number }));
    child.send(message);
  });
}

function summary(stats: BatchStats): BatchSummary {
  return { calls: stats.calls, meanBatch: round(stats.rows / Math.max(1, stats.calls), 1), maxBatch: stats.maxBatch };
}

/** Job and instance latencies (ms, server clock) and the first start / last end of these instances. */
async function measured(db: Knex, ids: string[]) {
  const { rows } = (await db.raw(
    `SELECT extract(epoch FROM (j.ended_at - j.created_at)) * 1000 AS job_ms,
            extract(epoch FROM (i.ended_at - i.started_at)) * 1000 AS instance_ms,
            extract(epoch FROM i.started_at) * 1000 AS started, extract(epoch FROM i.ended_at) * 1000 AS ended,
            (SELECT max(d.latency_ms) FROM decisions d WHERE d.process_instance_id = i.id AND d.job_id = j.id) AS infer_ms
       FROM process_instances i JOIN jobs j ON j.process_instance_id = i.id
      WHERE i.id = ANY(?) AND i.state = 'completed' AND j.state = 'completed'`,
    [ids],
  )) as { rows: { job_ms: string; instance_ms: string; started: string; ended: string; infer_ms: string | null }[] };
  if (rows.length !== ids.length)
    throw new Error(`${ids.length - rows.length} of ${ids.length} decision instances did not complete`);
  const job = rows.map((r) => Number(r.job_ms));
  const infer = rows.filter((r) => r.infer_ms !== null).map((r) => Number(r.infer_ms));
  return {
    inferP50Ms: infer.length > 0 ? round(percentile(infer, 0.5), 2) : null,
    jobP50Ms: round(percentile(job, 0.5), 2),
    jobP95Ms: round(percentile(job, 0.95), 2),
    instanceP50Ms: round(
      percentile(
        rows.map((r) => Number(r.instance_ms)),
        0.5,
      ),
      2,
    ),
    seconds: (Math.max(...rows.map((r) => Number(r.ended))) - Math.min(...rows.map((r) => Number(r.started)))) / 1000,
    lastEndedMs: Math.max(...rows.map((r) => Number(r.ended))),
  };
}

/**
 * Whether no instance of the process is still active: one index probe, where counting 2,000 ids
 * every 50 ms competed with the run it waited for. The rates come from the rows' own timestamps,
 * not from when this noticed.
 */
async function noneActive(db: Knex, bpmnProcessId: string): Promise<boolean> {
  return !(await db('process_instances').where({ bpmn_process_id: bpmnProcessId, state: 'active' }).first('id'));
}

async function allCompleted(db: Knex, ids: string[]): Promise<boolean> {
  const row = (await db('process_instances')
    .whereIn('id', ids)
    .where({ state: 'completed' })
    .count({ n: '*' })
    .first()) as { n: string } | undefined;
  return Number(row?.n ?? 0) === ids.length;
}

interface Measured {
  /** `inferP50Ms`: the agent's own time per decision (`decisions.latency_ms`: batch wait + inference); null for noop. */
  latency: { instances: number; jobP50Ms: number; jobP95Ms: number; instanceP50Ms: number; inferP50Ms: number | null };
  throughput: {
    instances: number;
    seconds: number;
    instancesPerSecond: number;
    jobP50Ms: number;
    jobP95Ms: number;
    inferP50Ms: number | null;
  };
  backlog: { instances: number; seconds: number; instancesPerSecond: number; inferP50Ms: number | null };
}

/** Starts `instances` instances with `concurrency` starters; their ids. */
async function startAll(start: () => Promise<string>, instances: number, concurrency: number): Promise<string[]> {
  const ids: string[] = [];
  let starting = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (starting < instances) {
        starting++;
        ids.push(await start());
      }
    }),
  );
  return ids;
}

/**
 * Latency (one instance at a time), throughput (`instances` started by `concurrency` starters) and
 * the backlog rate of one process; the worker's batch statistics of the last two.
 */
async function measureProcess(
  db: Knex,
  worker: ChildProcess,
  bpmnProcessId: string,
  start: () => Promise<string>,
  options: { latencyInstances: number; instances: number; concurrency: number; warmup: number },
): Promise<Measured & { batches: { throughput: BatchSummary; backlog: BatchSummary } }> {
  const warmup = await Promise.all(Array.from({ length: options.warmup }, start));
  await waitFor(() => allCompleted(db, warmup), 120_000);

  const sequential: string[] = [];
  for (let i = 0; i < options.latencyInstances; i++) {
    const id = await start();
    sequential.push(id);
    await waitFor(() => allCompleted(db, [id]), 60_000, 5);
  }
  const latency = await measured(db, sequential);

  await ask(worker, 'reset');
  const concurrent = await startAll(start, options.instances, options.concurrency);
  await waitFor(() => noneActive(db, bpmnProcessId), 600_000, 100);
  const load = await measured(db, concurrent);
  const throughputBatches = summary(await ask(worker, 'stats'));

  await ask(worker, 'pause');
  const waiting = await startAll(start, options.instances, options.concurrency);
  await ask(worker, 'reset');
  const resumedAt = (await ask(worker, 'resume')).at;
  await waitFor(() => noneActive(db, bpmnProcessId), 600_000, 100);
  const drained = await measured(db, waiting);
  const backlogBatches = summary(await ask(worker, 'stats'));
  const backlogSeconds = (drained.lastEndedMs - resumedAt) / 1000;
  return {
    latency: {
      instances: sequential.length,
      jobP50Ms: latency.jobP50Ms,
      jobP95Ms: latency.jobP95Ms,
      instanceP50Ms: latency.instanceP50Ms,
      inferP50Ms: latency.inferP50Ms,
    },
    throughput: {
      instances: concurrent.length,
      seconds: round(load.seconds, 2),
      instancesPerSecond: round(concurrent.length / load.seconds),
      jobP50Ms: load.jobP50Ms,
      jobP95Ms: load.jobP95Ms,
      inferP50Ms: load.inferP50Ms,
    },
    backlog: {
      instances: waiting.length,
      seconds: round(backlogSeconds, 2),
      instancesPerSecond: round(waiting.length / backlogSeconds),
      inferP50Ms: drained.inferP50Ms,
    },
    batches: { throughput: throughputBatches, backlog: backlogBatches },
  };
}

/**
 * Deploys the decision process (and the same process with a `noop` task, the engine's own cost) on
 * a fresh database and measures both; `cases` are the start variables.
 */
export async function runDecisionProcess(options: {
  model: string;
  cases: Record<string, unknown>[];
  latencyInstances: number;
  instances: number;
  concurrency: number;
  warmup?: number;
}): Promise<DecisionProcessResult> {
  const { model, cases, concurrency } = options;
  const database = await createBenchDatabase(Math.max(4, concurrency));
  const engine = createEngine({ db: database.knex, nodes: await createNodeRegistry({ decision: true }) });
  const decisionProcess = `bench-decision-${model}`;
  let worker: ChildProcess | undefined;
  let n = 0;
  const starter = (bpmnProcessId: string) => async () =>
    (await engine.startInstance(bpmnProcessId, cases[n++ % cases.length]!)).instanceId;
  const measureOptions = { ...options, warmup: options.warmup ?? 20 };
  try {
    await engine.deploy([
      { name: `${decisionProcess}.bpmn`, xml: processXml(decisionProcess, `decision:${model}`) },
      { name: 'bench-noop.bpmn', xml: processXml('bench-noop', 'noop') },
    ]);
    // Deploying validated the model by loading it here too; this process only starts instances.
    await DecisionAgent.closeAll();
    worker = await startWorker(database.url, model, concurrency);

    const { batches: _noopBatches, ...noop } = await measureProcess(
      database.knex,
      worker,
      'bench-noop',
      starter('bench-noop'),
      measureOptions,
    );
    const decision = await measureProcess(
      database.knex,
      worker,
      decisionProcess,
      starter(decisionProcess),
      measureOptions,
    );
    return { model, concurrency, ...decision, noop };
  } finally {
    if (worker) await stopProcesses([worker]);
    await engine.close();
    await DecisionAgent.closeAll();
    await database.drop();
  }
}

if (process.argv[2] === '--worker') await runWorker();
