/**
 * `npm run bench:webhooks` — autocannon against `POST /webhooks/{bpmnProcessId}` (open webhook) at
 * a fixed request rate; reports latency percentiles and checks that every accepted request (202)
 * left exactly one process instance. The same load against a bare fastify route on the same
 * machine, in the same run, is the baseline for the p99 ratio. Also printed: `cpu_ms_per_request`,
 * the CPU time the server process and its PostgreSQL backends spent per accepted request during the
 * measured load (from /proc, Linux only), which compares builds on a busy machine where p99 does not.
 *
 * Usage: tsx bench/webhooks.ts [--rate 500] [--seconds 10] [--connections 20] [--quick] [--json FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { saveWebhookConfig } from '../engine/http/webhook-config.ts';
import { createEngine } from '../engine/engine.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import { cpuMark, cpuSince, createBenchDatabase, nodeArgs, processXml, round, stopProcesses } from './lib.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string', default: '20' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const rate = Number(values.rate ?? (values.quick ? 100 : 500));
const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
const connections = Number(values.connections);

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [...nodeArgs('BENCH_SERVER_NODE_ARGS'), '--import', 'tsx', 'bench/server-process.ts'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /port=(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  return { child, port };
}

interface Load {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  accepted: number;
  rejected: number;
  errors: number;
  requestsPerSecond: number;
}

async function load(port: number, path: string): Promise<Load> {
  let n = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections,
    overallRate: rate,
    duration: seconds,
    setupClient: (client) => {
      client.setBody(JSON.stringify({ big: true, orderId: `o-${n++}` }));
    },
  });
  return {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    accepted: result['2xx'],
    rejected: result.non2xx,
    errors: result.errors + result.timeouts,
    requestsPerSecond: round(result.requests.average),
  };
}

const database = await createBenchDatabase(4);
const servers: ChildProcess[] = [];
try {
  const engine = createEngine({ db: database.knex, nodes: await createNodeRegistry() });
  await engine.deploy([{ name: 'order.bpmn', xml: processXml(4, 'order') }]);
  await saveWebhookConfig(database.knex, 'order', { mode: 'open' });
  await engine.close();

  const bare = await startServer({ BENCH_BARE: '1' });
  servers.push(bare.child);
  if (!values.quick) await load(bare.port, '/webhooks/order'); // warm-up of autocannon itself
  const baseline = await load(bare.port, '/webhooks/order');
  console.log(`bare fastify rate=${rate} p50_ms=${baseline.p50} p99_ms=${baseline.p99} accepted=${baseline.accepted}`);

  const operon = await startServer({ DATABASE_URL: database.url });
  servers.push(operon.child);
  // The same warm-up as the bare server gets: the first seconds of a fresh process (JIT, pool
  // connections, lazily loaded modules) are printed but not the result. Their instances count too.
  let warmUpAccepted = 0;
  if (!values.quick) {
    const cold = await load(operon.port, '/webhooks/order');
    warmUpAccepted = cold.accepted;
    console.log(
      `operon warm-up (first ${seconds} s of a fresh server) p50_ms=${cold.p50} p99_ms=${cold.p99} max_ms=${cold.max} accepted=${cold.accepted}`,
    );
  }
  const mark = await cpuMark(database.knex, operon.child.pid);
  const result = await load(operon.port, '/webhooks/order');
  const cpu = await cpuSince(database.knex, operon.child.pid, mark);
  const persisted =
    Number(
      (await database.knex('process_instances').where({ bpmn_process_id: 'order' }).count({ n: '*' }).first())?.n ?? 0,
    ) - warmUpAccepted;
  const report = {
    rate,
    seconds,
    connections,
    baseline,
    operon: result,
    persisted,
    p99Ratio: result.p99 / Math.max(baseline.p99, 1),
    cpuMsPerRequest: {
      server: cpu.process / Math.max(result.accepted, 1),
      postgres: cpu.postgres / Math.max(result.accepted, 1),
    },
  };
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  console.log(
    `operon webhooks rate=${rate} seconds=${seconds} p50_ms=${result.p50} p90_ms=${result.p90} p99_ms=${result.p99} max_ms=${result.max} accepted=${result.accepted} rejected=${result.rejected} errors=${result.errors}`,
  );
  const perRequest = (ms: number) => round(ms / Math.max(result.accepted, 1), 3);
  console.log(
    `cpu_ms_per_request server=${perRequest(cpu.process)} postgres=${perRequest(cpu.postgres)} total=${perRequest(cpu.process + cpu.postgres)}`,
  );
  // Requests still in flight when autocannon stops (at most one per connection, per load run) may
  // be persisted without their 202 being counted; none may be missing.
  const allPersisted =
    persisted >= result.accepted && persisted <= result.accepted + connections * (values.quick ? 1 : 2);
  console.log(
    `webhook_p99_ms=${result.p99} bare_p99_ms=${baseline.p99} ratio=${round(report.p99Ratio, 2)} accepted=${result.accepted} persisted=${persisted} all_persisted=${allPersisted}`,
  );
  if (!allPersisted) process.exitCode = 1;
} finally {
  await stopProcesses(servers);
  await database.drop();
}
