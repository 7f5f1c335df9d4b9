/**
 * `npm run bench:engine` — completed process instances per second on PostgreSQL, against
 * `pgbench -N` on the same database in the same run, and against bpmn-engine in memory.
 *
 * The reference process is start -> service task (noop) -> exclusive gateway -> end. The bench
 * process starts instances (engine.startInstance, `in-flight / 2` at a time) while worker processes
 * (bench/worker-process.ts) run the jobs; an instance counts when its row says `completed`.
 * Also reported: scaling with 1, 2 and 4 worker processes, and process sizes 5, 20 and 50.
 *
 * `--in-flight` (default 128) is the number of jobs in flight across the worker pool (worker
 * concurrency; half as many concurrent starters): the engine gathers concurrent completions and
 * starts into shared transactions (group commit), so it needs work in flight. A job holds its slot
 * until its result committed, so about half of them wait for the batch being written.
 * `--clients` (default 64) is pgbench's client count; pgbench runs with it and with half of it and
 * the better tps is the baseline (its tps is flat from about 16 clients on here).
 * One worker process by default: on 2 cores it beats two (see the scaling lines).
 *
 * Usage: tsx bench/engine.ts [--count N] [--in-flight J] [--clients C] [--workers W] [--quick] [--only-main] [--json FILE]
 * (`--only-main` skips the scaling and size runs.)
 * Also printed: `cpu_ms_per_instance`, the CPU time the run cost per instance in this process, the
 * worker processes and the PostgreSQL backends the run opened (from /proc, Linux only). Unlike
 * instances/s it barely moves when other work shares the cores, so it compares two builds measured
 * on a busy machine.
 * Last line: `instances_per_s=<x> pgbench_tps=<y> ratio=<x/y>`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { createEngine } from '../engine/engine.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import { parseDefinitions } from '../engine/model/index.ts';
import { runInMemory } from '../engine/runtime/memory.ts';
import {
  backendPids,
  createBenchDatabase,
  processCpuMs,
  processXml,
  round,
  runPgbench,
  startWorkerProcesses,
  stopProcesses,
  tasksIn,
} from './lib.ts';
import { runBpmnEngine } from './peer.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    clients: { type: 'string' },
    'in-flight': { type: 'string' },
    workers: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
    'only-main': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const quick = values.quick;
const count = Number(values.count ?? (quick ? 20 : 3000));
// --quick (the smoke test, run beside other suites) stays well under max_connections.
const clients = Number(values.clients ?? (quick ? 8 : 64));
const mainWorkers = Number(values.workers);
const inFlight = Number(values['in-flight'] ?? (quick ? 8 : 128));

interface EngineRun {
  workers: number;
  size: number;
  instances: number;
  seconds: number;
  instancesPerSecond: number;
  jobsPerSecond: number;
  /** CPU milliseconds per instance: this process, the worker processes, the PostgreSQL backends. */
  cpuMsPerInstance?: { node: number; postgres: number; total: number };
}

let runs = 0;

/** Starts `instances` instances of a deployed process and waits until all are completed. */
async function runOnPostgres(
  db: Knex,
  url: string,
  options: { workers: number; size: number; instances: number },
): Promise<EngineRun> {
  const { workers, size, instances } = options;
  const openedAfter = new Date(Date.now() - 1);
  const engine = createEngine({ db, nodes: await createNodeRegistry() });
  // A process id of its own per run: completions are counted (and timed) by process id.
  const bpmnProcessId = `bench-${size}-${workers}w-${++runs}`;
  await engine.deploy([{ name: `${bpmnProcessId}.bpmn`, xml: processXml(size, bpmnProcessId) }]);
  // Worker concurrency totals `inFlight` across the pool.
  const children = await startWorkerProcesses(workers, url, Math.max(1, Math.ceil(inFlight / workers)));
  try {
    const startedAt = Date.now();
    const ownCpuAtStart = process.cpuUsage();
    const childCpuAtStart = children.map((child) => processCpuMs(child.pid) ?? 0);
    let next = 0;
    const starters = Array.from({ length: Math.max(1, inFlight / 2) }, async () => {
      while (next < instances) {
        next++;
        await engine.startInstance(bpmnProcessId, { big: true, n: next });
      }
    });
    // Polling only notices the end; the time is the last instance's ended_at, so the count query
    // (which grows with the table) runs rarely and its PostgreSQL time stays out of the result.
    let done = 0;
    const poll = (async () => {
      while (done < instances) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const row = await db('process_instances')
          .where({ bpmn_process_id: bpmnProcessId, state: 'completed' })
          .count({ n: '*' })
          .first();
        done = Number(row?.n ?? 0);
        if (Date.now() - startedAt > 600_000) throw new Error('engine run did not finish in 10 minutes');
      }
    })();
    await Promise.all([...starters, poll]);
    const last = await db('process_instances')
      .where({ bpmn_process_id: bpmnProcessId })
      .max({ at: 'ended_at' })
      .first();
    const seconds = (new Date(last!.at as string | Date).getTime() - startedAt) / 1000;
    const ownCpu = process.cpuUsage(ownCpuAtStart);
    const childCpu = children.map((child, index) => (processCpuMs(child.pid) ?? 0) - childCpuAtStart[index]!);
    // Backends count from their start: their share before `startedAt` is the deploy and the
    // workers' first polls, small beside thousands of instances.
    const backendCpu = (await backendPids(db, openedAfter)).map((pid) => processCpuMs(pid) ?? 0);
    const nodeMs = (ownCpu.user + ownCpu.system) / 1000 + childCpu.reduce((a, b) => a + b, 0);
    const postgresMs = backendCpu.reduce((a, b) => a + b, 0);
    return {
      workers,
      size,
      instances,
      seconds: round(seconds, 2),
      instancesPerSecond: round(instances / seconds),
      jobsPerSecond: round((instances * tasksIn(size)) / seconds),
      cpuMsPerInstance: {
        node: round(nodeMs / instances, 3),
        postgres: round(postgresMs / instances, 3),
        total: round((nodeMs + postgresMs) / instances, 3),
      },
    };
  } finally {
    await stopProcesses(children);
    await engine.close();
  }
}

/** Operon's pure runtime driven by the in-memory driver (engine/runtime/memory.ts), graph parsed once. */
async function runOperonInMemory(size: number, instances: number): Promise<number> {
  const [graph] = await parseDefinitions(processXml(size), 'bench.bpmn');
  const handlers = { noop: () => ({}) };
  for (let i = 0; i < 20; i++) await runInMemory(graph!, { handlers, variables: { big: true } });
  const started = performance.now();
  for (let i = 0; i < instances; i++) {
    const instance = await runInMemory(graph!, { handlers, variables: { big: true, n: i }, instanceId: `i${i}` });
    if (instance.state !== 'completed') throw new Error(`in-memory instance ended ${instance.state}`);
  }
  return instances / ((performance.now() - started) / 1000);
}

const database = await createBenchDatabase(Math.max(4, clients));
const report: Record<string, unknown> = { date: new Date().toISOString(), count, clients, inFlight };
try {
  const log = (line: string) => console.log(line);
  // Warm-up: JIT, graph cache, table files.
  if (!quick) await runOnPostgres(database.knex, database.url, { workers: 1, size: 4, instances: 200 });

  const main = await runOnPostgres(database.knex, database.url, {
    workers: quick ? 1 : mainWorkers,
    size: 4,
    instances: count,
  });
  log(
    `engine size=4 workers=${mainWorkers} in_flight=${inFlight} instances=${count} seconds=${main.seconds} instances_per_s=${main.instancesPerSecond}`,
  );
  const cpu = main.cpuMsPerInstance!;
  log(`cpu_ms_per_instance node=${cpu.node} postgres=${cpu.postgres} total=${cpu.total}`);
  const pgbenchSeconds = Math.max(quick ? 1 : 5, Math.round(main.seconds));
  const pgbenchRuns = [];
  for (const c of quick ? [clients] : [clients, Math.max(1, clients / 2)])
    pgbenchRuns.push({ clients: c, tps: await runPgbench(database.url, c, pgbenchSeconds) });
  const pgbenchTps = Math.max(...pgbenchRuns.map((run) => run.tps));
  log(
    `pgbench -N seconds=${pgbenchSeconds} ${pgbenchRuns.map((run) => `clients=${run.clients} tps=${round(run.tps)}`).join(' ')} best_tps=${round(pgbenchTps)}`,
  );
  report.main = { ...main, inFlight, pgbenchRuns, pgbenchTps, ratio: main.instancesPerSecond / pgbenchTps };

  const scaling: EngineRun[] = [];
  for (const workers of values['only-main'] ? [] : [1, 2, 4]) {
    const result = await runOnPostgres(database.knex, database.url, {
      workers,
      size: 4,
      instances: quick ? 20 : Math.round(count / 2),
    });
    scaling.push(result);
    log(`scaling workers=${workers} instances_per_s=${result.instancesPerSecond}`);
  }
  report.scaling = scaling;

  const sizes: EngineRun[] = [];
  for (const size of values['only-main'] ? [] : [5, 20, 50]) {
    const instances = quick ? 5 : Math.max(50, Math.round(count / (tasksIn(size) * 2)));
    const result = await runOnPostgres(database.knex, database.url, { workers: mainWorkers, size, instances });
    sizes.push(result);
    log(
      `size elements=${size} jobs_per_instance=${tasksIn(size)} instances_per_s=${result.instancesPerSecond} jobs_per_s=${result.jobsPerSecond}`,
    );
  }
  report.sizes = sizes;

  const peerCount = quick ? 10 : 1000;
  const bpmnEnginePerSecond = await runBpmnEngine(processXml(4, 'bench-4', 'bpmn-engine'), peerCount);
  const memoryPerSecond = await runOperonInMemory(4, quick ? 50 : 5000);
  report.peer = {
    bpmnEnginePerSecond,
    operonMemoryPerSecond: memoryPerSecond,
    operonPostgresPerSecond: main.instancesPerSecond,
    memoryVsBpmnEngine: memoryPerSecond / bpmnEnginePerSecond,
    postgresVsBpmnEngine: main.instancesPerSecond / bpmnEnginePerSecond,
  };
  log(
    `peer bpmn_engine_per_s=${round(bpmnEnginePerSecond)} operon_memory_per_s=${round(memoryPerSecond)} operon_postgres_per_s=${main.instancesPerSecond} ` +
      `memory_vs_bpmn_engine=${round(memoryPerSecond / bpmnEnginePerSecond, 2)} postgres_vs_bpmn_engine=${round(main.instancesPerSecond / bpmnEnginePerSecond, 2)}`,
  );
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  log(
    `instances_per_s=${main.instancesPerSecond} pgbench_tps=${round(pgbenchTps)} ratio=${round(main.instancesPerSecond / pgbenchTps, 3)}`,
  );
} finally {
  await database.drop();
}
