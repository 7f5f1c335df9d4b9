/**
 * Shared pieces of the benchmarks: a fresh database per run, process definitions of a given size,
 * worker child processes, pgbench as the PostgreSQL baseline, and percentiles.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../engine/store/knex.ts';

const run = promisify(execFile);

/** The server the benchmarks create their databases on: DATABASE_URL, else the local PostgreSQL. */
export const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  knex: Knex;
  drop(): Promise<void>;
}

function urlFor(database: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, migrated database on SERVER_URL; `drop()` removes it. */
export async function createBenchDatabase(poolMax = 10): Promise<BenchDatabase> {
  const name = `operon_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = urlFor(name);
  const knex = createKnex(url, { poolMax, applicationName: 'operon-bench' });
  await migrateLatest(knex);
  return {
    name,
    url,
    knex,
    async drop() {
      await knex.destroy();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * A process with `size` flow nodes: start, then service tasks (`noop`) and exclusive gateways in
 * turn, then end. Size 4 is the reference process start -> task -> gateway -> end. Each gateway
 * has a conditional flow (`=big`) to the next node and a default flow to the same node, so every
 * instance takes the whole chain. `dialect: 'bpmn-engine'` writes the same graph for bpmn-engine
 * (expression `${environment.variables.big}`, service implementation from `services.noop`).
 */
export function processXml(size: number, id = `bench-${size}`, dialect: 'operon' | 'bpmn-engine' = 'operon'): string {
  if (size < 4) throw new Error('size must be at least 4');
  const middle = size - 2;
  const ids = ['start', ...Array.from({ length: middle }, (_, i) => (i % 2 === 0 ? `task${i}` : `gateway${i}`)), 'end'];
  const nodes: string[] = [`<bpmn:startEvent id="start" />`];
  for (const nodeId of ids.slice(1, -1)) {
    if (nodeId.startsWith('task')) {
      nodes.push(
        dialect === 'operon'
          ? `<bpmn:serviceTask id="${nodeId}"><bpmn:extensionElements><zeebe:taskDefinition type="noop" /></bpmn:extensionElements></bpmn:serviceTask>`
          : `<bpmn:serviceTask id="${nodeId}" implementation="\${environment.services.noop}" />`,
      );
    } else {
      nodes.push(`<bpmn:exclusiveGateway id="${nodeId}" default="${nodeId}_default" />`);
    }
  }
  nodes.push(`<bpmn:endEvent id="end" />`);
  const flows: string[] = [];
  for (let i = 0; i < ids.length - 1; i++) {
    const from = ids[i]!;
    const to = ids[i + 1]!;
    if (from.startsWith('gateway')) {
      const condition = dialect === 'operon' ? '=big' : '${environment.variables.big}';
      flows.push(
        `<bpmn:sequenceFlow id="${from}_yes" sourceRef="${from}" targetRef="${to}"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${condition}</bpmn:conditionExpression></bpmn:sequenceFlow>`,
      );
      flows.push(`<bpmn:sequenceFlow id="${from}_default" sourceRef="${from}" targetRef="${to}" />`);
    } else {
      flows.push(`<bpmn:sequenceFlow id="${from}_to_${to}" sourceRef="${from}" targetRef="${to}" />`);
    }
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs-${id}" targetNamespace="http://operon/bench">
  <bpmn:process id="${id}" isExecutable="true">
    ${nodes.join('\n    ')}
    ${flows.join('\n    ')}
  </bpmn:process>
</bpmn:definitions>`;
}

/** Number of service tasks (jobs) one instance of `processXml(size)` runs. */
export const tasksIn = (size: number) => Math.ceil((size - 2) / 2);

/** Extra node flags for a spawned benchmark process from an environment variable (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
export function nodeArgs(variable: string): string[] {
  return process.env[variable]?.split(' ').filter(Boolean) ?? [];
}

/** Starts `bench/worker-process.ts` children on `url`; resolves once each printed `ready`. */
export async function startWorkerProcesses(
  count: number,
  url: string,
  concurrency: number,
  extraEnv: Record<string, string> = {},
): Promise<ChildProcess[]> {
  const children = Array.from({ length: count }, () =>
    spawn(
      process.execPath,
      [...nodeArgs('BENCH_WORKER_NODE_ARGS'), '--expose-gc', '--import', 'tsx', 'bench/worker-process.ts'],
      {
        env: { ...process.env, DATABASE_URL: url, BENCH_CONCURRENCY: String(concurrency), ...extraEnv },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      },
    ),
  );
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('ready')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
        }),
    ),
  );
  return children;
}

/** Resident set size of a worker process (after a full GC), in bytes. */
export function workerRss(child: ChildProcess): Promise<{ rss: number; heapUsed: number }> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as { rss: number; heapUsed: number }));
    child.send('rss');
  });
}

/** SIGTERM, then wait for exit. */
export async function stopProcesses(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** Path of pgbench: PGBENCH, then PATH, then Debian's versioned directory. */
export async function findPgbench(): Promise<string> {
  if (process.env.PGBENCH) return process.env.PGBENCH;
  try {
    return (await run('sh', ['-c', 'command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1'])).stdout
      .trim()
      .split('\n')[0]!;
  } catch {
    throw new Error('pgbench not found: apt-get install postgresql-contrib (or set PGBENCH)');
  }
}

/**
 * `pgbench -N` (TPC-B without the two contended updates) on the bench database, same client count
 * and duration as the engine run: the commit rate PostgreSQL reaches on this machine right now.
 */
export async function runPgbench(url: string, clients: number, seconds: number): Promise<number> {
  const pgbench = await findPgbench();
  await run(pgbench, ['-i', '-q', '-s', '1', url]);
  const { stdout } = await run(pgbench, [
    '-N',
    '-n',
    '-c',
    String(clients),
    '-j',
    String(Math.min(clients, 2)),
    '-T',
    String(Math.max(1, Math.round(seconds))),
    url,
  ]);
  const match = /tps = ([\d.]+) \((?:without|excluding)/.exec(stdout) ?? /tps = ([\d.]+)/.exec(stdout);
  if (!match) throw new Error(`could not read pgbench output:\n${stdout}`);
  return Number(match[1]);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Milliseconds that `work` takes to settle. */
export async function elapsed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Waits until `check()` is true, polling every `everyMs`; throws after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process in milliseconds, or undefined where /proc can't tell (not Linux, gone). */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // The command name (field 2) may hold spaces; the fields after it start after its ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The PostgreSQL backends of this database opened since `since` (the run's own connections). */
export async function backendPids(db: Knex, since: Date): Promise<number[]> {
  const rows: Array<{ pid: number }> = (
    await db.raw('select pid from pg_stat_activity where datname = current_database() and backend_start >= ?', [since])
  ).rows;
  return rows.map((row) => row.pid);
}

/** CPU milliseconds of a process and of the database's backends, as a point to measure from. */
export async function cpuMark(
  db: Knex,
  pid: number | undefined,
): Promise<{ process: number; backends: Map<number, number> }> {
  const backends = new Map<number, number>();
  for (const backend of await backendPids(db, new Date(0))) backends.set(backend, processCpuMs(backend) ?? 0);
  return { process: processCpuMs(pid) ?? 0, backends };
}

/** CPU milliseconds spent since `mark` by the process and by the database's backends (new ones from their start). */
export async function cpuSince(
  db: Knex,
  pid: number | undefined,
  mark: { process: number; backends: Map<number, number> },
): Promise<{ process: number; postgres: number }> {
  let postgres = 0;
  for (const backend of await backendPids(db, new Date(0)))
    postgres += (processCpuMs(backend) ?? 0) - (mark.backends.get(backend) ?? 0);
  return { process: (processCpuMs(pid) ?? 0) - mark.process, postgres };
}
