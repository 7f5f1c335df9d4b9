/**
 * Batch operations over HTTP: a batch retry of incidents applied by a worker process that is
 * SIGKILLed midway and replaced; every item ends exactly once, `done` only after the retried job
 * really completed, `failed` when it failed again. Also: a batch cancel, a filter that matches
 * nothing, and bad filters (400 naming the field).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { deployFixtures, eventually, startTestApi, type TestApi } from './support/api.ts';
import { spawnWorker, stopWorker } from '../reliability/support/spawn.ts';

const INSTANCES = 12;
/** Items the first worker may take before it is killed; the rest are row-locked by the test meanwhile. */
const BEFORE_KILL = 4;
let api: TestApi;
let base: string;
const workers: ChildProcess[] = [];

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...api.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const response = await http(method, path, body);
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function activate(count: number): Promise<{ id: string; instanceId: string; attempt: number }[]> {
  const jobs: { id: string; instanceId: string; attempt: number }[] = [];
  while (jobs.length < count) {
    const body = await ok('POST', '/api/jobs/activate', {
      type: 'http-test-pack',
      worker: 'batch-test',
      maxJobs: count - jobs.length,
      lockMs: 60_000,
      requestTimeoutMs: 2_000,
    });
    jobs.push(...body.jobs);
  }
  return jobs;
}

before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-order.bpmn');
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const worker of workers) await stopWorker(worker, 'SIGKILL');
  await api?.close();
});

test('bad filters are refused with the offending field; nothing is written', async () => {
  const cases: [unknown, string][] = [
    [{ kind: 'retry', filter: { bpmnProcessId: 'http-order', version: 'one' } }, 'body.filter.version'],
    [{ kind: 'retry', filter: { version: 2 } }, 'body.filter.version'],
    [{ kind: 'retry', filter: { bpmnProcessId: 'http-order', version: 2 ** 53 - 1 } }, 'body.filter.version'],
    [{ kind: 'retry', filter: { bpmnProcessId: 'http-order', colour: 'red' } }, 'body.filter'],
    [{ kind: 'retry', filter: {} }, 'body.filter'],
    [{ kind: 'explode', filter: { bpmnProcessId: 'http-order' } }, 'body.kind'],
    [{ kind: 'migrate', filter: { bpmnProcessId: 'http-order' } }, 'body.migration'],
    [{ kind: 'modify', filter: { bpmnProcessId: 'http-order' }, modification: {} }, 'body.modification'],
  ];
  for (const [body, field] of cases) {
    const response = await http('POST', '/api/batch-operations', body);
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.error.code, 'OPERON_ERR_VALIDATION');
    assert.equal(response.body.error.details.field, field, JSON.stringify(response.body));
  }
  assert.equal(Number((await api.db.knex('batch_operations').count('* as n'))[0]!.n), 0);
  const missing = await http('GET', '/api/batch-operations/00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status, 404);
});

test('a filter matching nothing gives a finished operation with 0 items', async () => {
  const created = await ok('POST', '/api/batch-operations', { kind: 'retry', filter: { bpmnProcessId: 'no-such' } });
  assert.equal(created.total, 0);
  const operation = await ok('GET', `/api/batch-operations/${created.id}`);
  assert.equal(operation.state, 'finished');
  assert.deepEqual(operation.progress, { total: 0, pending: 0, retried: 0, done: 0, failed: 0, skipped: 0 });
  assert.deepEqual((await ok('GET', `/api/batch-operations/${created.id}/items`)).items, []);
});

test('batch retry survives a SIGKILLed worker: every item ends once, done only after the job completed', async () => {
  const ids: string[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const { instanceId: id } = await ok('POST', '/api/instances', {
      bpmnProcessId: 'http-order',
      businessKey: `order-${i}`,
      variables: { orderId: `B-${i}` },
    });
    ids.push(id);
  }
  // The bureau is down: every pack job fails without retries left, one incident per instance.
  for (const job of await activate(INSTANCES))
    await ok('POST', `/api/jobs/${job.id}/fail`, {
      worker: 'batch-test',
      attempt: job.attempt,
      errorMessage: 'credit bureau unreachable',
      retries: 0,
    });
  const open = await api.db.knex('incidents').whereIn('process_instance_id', ids).where({ state: 'open' });
  assert.equal(open.length, INSTANCES);

  const created = await ok('POST', '/api/batch-operations', {
    kind: 'retry',
    filter: { bpmnProcessId: 'http-order', version: 1, elementId: 'pack', incidentType: open[0].code },
  });
  assert.equal(created.total, INSTANCES);
  assert.equal((await ok('GET', `/api/batch-operations/${created.id}`)).progress.pending, INSTANCES);

  // Hold the later items so that the first worker can only take the first BEFORE_KILL, then kill it.
  const holder = new pg.Client({ connectionString: api.db.url });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM batch_operation_items WHERE operation_id = $1 AND seq > $2 FOR UPDATE', [
    created.id,
    BEFORE_KILL,
  ]);
  const doomed = await spawnWorker(api.db.url, 'doomed', { POLL_MS: '100' });
  workers.push(doomed);
  await eventually(async () => {
    const { progress } = await ok('GET', `/api/batch-operations/${created.id}`);
    return progress.retried === BEFORE_KILL ? true : undefined;
  }, 30_000);
  doomed.kill('SIGKILL');
  await new Promise((resolve) => doomed.once('exit', resolve));
  const midway = await ok('GET', `/api/batch-operations/${created.id}`);
  assert.equal(midway.state, 'running');
  assert.equal(midway.progress.pending, INSTANCES - BEFORE_KILL);
  await holder.query('COMMIT');
  await holder.end();

  workers.push(await spawnWorker(api.db.url, 'survivor', { POLL_MS: '100' }));
  await eventually(async () => {
    const { progress } = await ok('GET', `/api/batch-operations/${created.id}`);
    return progress.retried === INSTANCES ? true : undefined;
  }, 30_000);
  // Resolved but not yet re-run: nothing is done yet (no false success).
  assert.equal((await ok('GET', `/api/batch-operations/${created.id}`)).state, 'running');

  // The bureau is back, except for one order, whose job fails again.
  const jobs = await activate(INSTANCES);
  const unlucky = jobs[0]!;
  for (const job of jobs.slice(1))
    await ok('POST', `/api/jobs/${job.id}/complete`, { worker: 'batch-test', attempt: job.attempt, variables: {} });
  await ok('POST', `/api/jobs/${unlucky.id}/fail`, {
    worker: 'batch-test',
    attempt: unlucky.attempt,
    errorMessage: 'customer unknown to bureau',
    retries: 0,
  });

  const finished = await eventually(async () => {
    const operation = await ok('GET', `/api/batch-operations/${created.id}`);
    return operation.state === 'finished' ? operation : undefined;
  }, 30_000);
  assert.deepEqual(finished.progress, {
    total: INSTANCES,
    pending: 0,
    retried: 0,
    done: INSTANCES - 1,
    failed: 1,
    skipped: 0,
  });

  // Per-instance results in SQL: each item applied exactly once.
  const items = await api.db.knex('batch_operation_items').where({ operation_id: created.id }).orderBy('seq');
  assert.equal(items.length, INSTANCES);
  for (const item of items) {
    assert.equal(item.attempts, 1, `item ${item.seq} applied ${item.attempts} times`);
    assert.ok(item.done_at);
    assert.equal(item.incident_ids.length, 1);
    if (item.process_instance_id === unlucky.instanceId) {
      assert.equal(item.state, 'failed');
      assert.match(item.error, /customer unknown to bureau/);
    } else {
      assert.equal(item.state, 'done');
      assert.match(item.result, /retried job completed/);
    }
  }
  const resolvedPerInstance = await api.db
    .knex('history')
    .whereIn('process_instance_id', ids)
    .where({ event_type: 'incident.resolved' })
    .groupBy('process_instance_id')
    .select('process_instance_id', api.db.knex.raw('count(*)::int as n'));
  assert.equal(resolvedPerInstance.length, INSTANCES);
  for (const row of resolvedPerInstance) assert.equal(row.n, 1, `instance ${row.process_instance_id} resolved twice`);
  const row = await api.db.knex('batch_operations').where({ id: created.id }).first();
  assert.deepEqual([row.done_count, row.failed_count, row.skipped_count], [INSTANCES - 1, 1, 0]);

  const page = await ok('GET', `/api/batch-operations/${created.id}/items?state=failed&limit=5`);
  assert.deepEqual(
    page.items.map((item: { instanceId: string }) => item.instanceId),
    [unlucky.instanceId],
  );
  const first = await ok('GET', `/api/batch-operations/${created.id}/items?limit=5`);
  assert.equal(first.items.length, 5);
  assert.equal(first.page.nextOffset, 5);

  // Batch cancel of the orders now waiting for approval; the one with an incident is not matched.
  const cancel = await ok('POST', '/api/batch-operations', {
    kind: 'cancel',
    filter: { bpmnProcessId: 'http-order', elementId: 'approve' },
  });
  assert.equal(cancel.total, INSTANCES - 1);
  const cancelled = await eventually(async () => {
    const operation = await ok('GET', `/api/batch-operations/${cancel.id}`);
    return operation.state === 'finished' ? operation : undefined;
  }, 30_000);
  assert.equal(cancelled.progress.done, INSTANCES - 1);
  const states = await api.db.knex('process_instances').whereIn('id', ids).select('id', 'state');
  for (const instance of states)
    assert.equal(instance.state, instance.id === unlucky.instanceId ? 'active' : 'terminated');
});
