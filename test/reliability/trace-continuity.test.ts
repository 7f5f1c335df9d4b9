/**
 * Given an instance started with a caller's trace context, when the worker process holding its
 * jobs is SIGKILLed and another worker process takes them over after the lease expires, then the
 * new process's job spans continue the same trace, each a child of the step that created its job:
 * the context travels in the job rows (jobs.trace_parent), not in any process's memory. Spans go
 * over OTLP/HTTP to a receiver started here.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { fixture, openEngine, waitFor, type TestEngine } from '../engine/support/harness.ts';
import { startTracing, type Tracing } from '../../engine/telemetry/setup.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';

/** The worker's span of a job run (OTLP kind 5, consumer), not its result's step. */
const isRunOf = (span: ReceivedSpan, jobId: string) => span.kind === 5 && span.attributes['operon.job.id'] === jobId;

let db: TestDatabase;
let receiver: OtlpReceiver;
let tracing: Tracing | undefined;
let client: TestEngine;
const workers: ChildProcess[] = [];

before(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, scheduleDelayMs: 100 });
  db = await createTestDatabase();
  client = await openEngine(db.url, { worker: false });
  await client.engine.deploy([fixture('work-fork-join.bpmn')]);
});
after(async () => {
  for (const worker of workers) await stopWorker(worker, 'SIGKILL');
  await client?.close();
  await tracing?.shutdown();
  await receiver?.close();
  await db?.drop();
});

it("a job taken over from a killed worker process continues the instance's trace in the new process", async () => {
  const traceId = randomBytes(16).toString('hex');
  const { instanceId } = await client.engine.startInstance(
    'work-fork-join',
    { n: 1 },
    { trace: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
  );
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'operon-worker' };
  const doomed = await spawnWorker(db.url, 'doomed', { ...otel, WORK_MS: '600000', LOCK_MS: '1500' });
  workers.push(doomed);
  const leased = await waitFor(
    async () => {
      const rows = await client
        .knex('jobs')
        .where({ process_instance_id: instanceId, owner: 'doomed', state: 'leased' })
        .select('id', 'trace_parent');
      return rows.length > 0 ? rows : undefined;
    },
    15_000,
    'the doomed worker to lease the first jobs',
  );
  doomed.kill('SIGKILL');
  await new Promise((resolve) => doomed.once('exit', resolve));

  const survivor = await spawnWorker(db.url, 'survivor', { ...otel, WORK_MS: '5', LOCK_MS: '1500' });
  workers.push(survivor);
  await waitFor(
    async () =>
      (await client.knex('process_instances').where({ id: instanceId }).first('state'))?.state === 'completed',
    60_000,
    'the instance to complete',
  );
  await stopWorker(survivor, 'SIGTERM'); // exports what it buffered

  const instance = await client.knex('process_instances').where({ id: instanceId }).first('trace_parent');
  const startSpanId = String(instance.trace_parent).split('-')[2];
  const spans = await waitFor(
    async () => {
      await tracing?.flush();
      const found = receiver.spans.filter((span) => span.traceId === traceId);
      return leased.every((job) => found.some((span) => span.attributes['operon.job.id'] === job.id))
        ? found
        : undefined;
    },
    30_000,
    'the survivor spans of the taken-over jobs',
  );
  for (const job of leased) {
    const span = spans.find((s) => isRunOf(s, job.id))!;
    assert.match(span.name, /^job test:/);
    assert.equal(span.resource['service.name'], 'operon-worker');
    assert.equal(span.attributes['operon.worker'], 'survivor');
    assert.equal(span.attributes['operon.job.attempt'], 2, 'the second attempt, after the lease expired');
    assert.equal(span.parentSpanId, String(job.trace_parent).split('-')[2], 'a child of the step that created it');
    assert.equal(span.parentSpanId, startSpanId, 'the fork jobs were created by the start');
  }
  const start = spans.find((s) => s.name === 'start work-fork-join');
  assert.equal(start?.spanId, startSpanId);
});
