/**
 * `npm run bench:pickup` — job pickup latency: from the job row's creation to a worker starting
 * the node, with an idle worker woken by LISTEN/NOTIFY (polling 1 s as fallback). Instances of
 * start -> service task (`probe`, returns the time it started) -> end are started one at a time,
 * spaced out, so the number is latency, not queueing. Baseline in the same run: the latency of a
 * bare PostgreSQL NOTIFY to a LISTEN connection on the same server.
 *
 * Latency counts from the moment the creating transaction committed (startInstance returned);
 * the same figure from the row's `created_at` is printed too (it adds the commit's WAL flush).
 *
 * Usage: tsx bench/pickup.ts [--count 300] [--gap-ms 20] [--quick] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createEngine } from '../engine/engine.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import { createBenchDatabase, percentile, round, startWorkerProcesses, stopProcesses, waitFor } from './lib.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    'gap-ms': { type: 'string', default: '20' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const count = Number(values.count ?? (values.quick ? 20 : 300));
const gapMs = Number(values['gap-ms']);

const probeXml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-probe" targetNamespace="http://operon/bench">
  <bpmn:process id="probe" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pick" />
    <bpmn:serviceTask id="pick"><bpmn:extensionElements><zeebe:taskDefinition type="probe" /></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="pick" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** NOTIFY -> LISTEN delivery latency on the same server, p50/p99 in ms. */
async function notifyLatency(url: string, samples: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: url });
  const sender = new pg.Client({ connectionString: url });
  await listener.connect();
  await sender.connect();
  await listener.query('LISTEN bench_probe');
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const received = new Promise<void>((resolve) => listener.once('notification', () => resolve()));
    await sender.query(`SELECT pg_notify('bench_probe', '${i}')`);
    await received;
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await listener.end();
  await sender.end();
  return latencies;
}

/** When startInstance returned, i.e. the job row was committed and visible, by instance id. */
const committedAt = new Map<string, number>();
const database = await createBenchDatabase(4);
try {
  const engine = createEngine({
    db: database.knex,
    nodes: await createNodeRegistry({ extra: [{ name: 'probe', run: async () => ({}) }] }),
  });
  await engine.deploy([{ name: 'probe.bpmn', xml: probeXml }]);
  const workers = await startWorkerProcesses(1, database.url, 8);
  try {
    for (let i = 0; i < Math.min(20, count); i++) await engine.startInstance('probe', {}); // warm-up
    await waitFor(
      async () =>
        Number((await database.knex('process_instances').where({ state: 'active' }).count({ n: '*' }).first())?.n) ===
        0,
      60_000,
    );
    await database.knex('process_instances').del();
    for (let i = 0; i < count; i++) {
      const { instanceId } = await engine.startInstance('probe', { n: i });
      committedAt.set(instanceId, Date.now());
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    await waitFor(
      async () =>
        Number(
          (await database.knex('process_instances').where({ state: 'completed' }).count({ n: '*' }).first())?.n,
        ) === count,
      120_000,
    );
  } finally {
    await stopProcesses(workers);
    await engine.close();
  }
  const rows = (
    await database.knex.raw(
      `SELECT i.id, (i.variables->>'pickedAt')::bigint AS picked, (extract(epoch FROM j.created_at) * 1000)::bigint AS created
       FROM jobs j JOIN process_instances i ON i.id = j.process_instance_id WHERE j.type = 'probe'`,
    )
  ).rows as { id: string; picked: string; created: string }[];
  // From commit: the job exists for workers only once its transaction committed.
  const latencies = rows
    .filter((row) => committedAt.has(row.id))
    .map((row) => Math.max(0, Number(row.picked) - committedAt.get(row.id)!));
  // From the row's created_at (the start of the creating transaction): adds that transaction's commit (WAL flush) time.
  const fromCreatedAt = rows.map((row) => Number(row.picked) - Number(row.created));
  const baseline = await notifyLatency(database.url, values.quick ? 10 : 200);
  const report = {
    count,
    pickup: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: Math.max(...latencies),
    },
    fromCreatedAt: { p50: percentile(fromCreatedAt, 0.5), p99: percentile(fromCreatedAt, 0.99) },
    notify: { p50: round(percentile(baseline, 0.5), 2), p99: round(percentile(baseline, 0.99), 2) },
  };
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  console.log(
    `from job created_at (includes the creating transaction's commit) p50_ms=${report.fromCreatedAt.p50} p99_ms=${report.fromCreatedAt.p99}`,
  );
  console.log(`notify baseline p50_ms=${report.notify.p50} p99_ms=${report.notify.p99}`);
  console.log(
    `pickup_p50_ms=${report.pickup.p50} pickup_p99_ms=${report.pickup.p99} max_ms=${report.pickup.max} notify_p50_ms=${report.notify.p50} ratio=${round(report.pickup.p50 / Math.max(report.notify.p50, 0.01), 2)}`,
  );
} finally {
  await database.drop();
}
