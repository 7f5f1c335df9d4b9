/**
 * Runs every ```sql block of docs/sql.md against a database holding finished, waiting, failed and
 * decided instances made through the API; each query must run and return rows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { deployFixtures, startTestApi, type TestApi } from './support/api.ts';

let api: TestApi;
/** A plain client, as psql would be: no knex placeholders, so `?` is the JSONB operator. */
let psql: pg.Client;

function json(response: { body: string }): any {
  return JSON.parse(response.body);
}

async function call(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<any> {
  const response = await api.app.inject({
    method,
    url,
    headers: { ...api.auth, ...headers },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return json(response);
}

/** One order through pack (external job), approve (person) and payment (message). */
async function runOrder(orderId: string, outcome: 'complete' | 'fail' | 'wait'): Promise<string> {
  const { instanceId } = await call(
    'POST',
    '/webhooks/http-order',
    { orderId },
    { 'idempotency-key': `order-${orderId}` },
  );
  const { jobs } = await call('POST', '/api/jobs/activate', {
    type: 'http-test-pack',
    worker: 'sql-docs',
    maxJobs: 1,
    lockMs: 30_000,
    requestTimeoutMs: 2_000,
  });
  const [job] = jobs;
  assert.equal(job.instanceId, instanceId);
  if (outcome === 'fail') {
    await call('POST', `/api/jobs/${job.id}/fail`, {
      worker: 'sql-docs',
      attempt: job.attempt,
      errorMessage: 'label printer offline',
      retries: 0,
    });
    return instanceId;
  }
  await call('POST', `/api/jobs/${job.id}/complete`, {
    worker: 'sql-docs',
    attempt: job.attempt,
    variables: { parcels: 1 },
  });
  if (outcome === 'wait') return instanceId;
  const { tasks } = await call('GET', `/api/tasks?state=open&instanceId=${instanceId}`);
  await call('POST', `/api/tasks/${tasks[0].id}/complete`, { variables: { approved: true } });
  await call('POST', '/api/messages', { name: 'payment-received', correlationKey: orderId });
  return instanceId;
}

before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-order.bpmn', 'http-ping.bpmn', 'http-fee.dmn', 'http-fee.bpmn');
  await call('PUT', '/api/processes/http-order/webhook', { open: true });
  const done = [await runOrder('S-1', 'complete'), await runOrder('S-2', 'complete')];
  await runOrder('S-3', 'fail');
  await runOrder('S-4', 'wait');
  await call('POST', '/api/instances', { bpmnProcessId: 'http-ping' });
  await call('POST', '/api/instances', { bpmnProcessId: 'http-fee', variables: { weight: 3 } });
  // The audit rows a decision: task writes (the decision node itself is tested in test/decision).
  await api.db.knex('decisions').insert([
    {
      process_instance_id: done[0],
      element_id: 'pack',
      model_name: 'order',
      model_version: '1',
      model_file_hash: 'a'.repeat(64),
      prompt: 'order S-1',
      inputs: { orderId: 'S-1' },
      scores: { warehouse: 0.93, courier: 0.05, pickup: 0.02 },
      label: 'warehouse',
      confidence: 0.93,
      threshold: 0.8,
      needs_review: false,
      latency_ms: 4.2,
    },
    {
      process_instance_id: done[1],
      element_id: 'pack',
      model_name: 'order',
      model_version: '1',
      model_file_hash: 'a'.repeat(64),
      prompt: 'order S-2',
      inputs: { orderId: 'S-2' },
      scores: { warehouse: 0.41, courier: 0.52, pickup: 0.07 },
      label: 'courier',
      confidence: 0.52,
      threshold: 0.8,
      needs_review: true,
      review_reasons: JSON.stringify(['confidence 0.5200 is below the review threshold 0.8']),
      latency_ms: 3.9,
      reviewed_label: 'warehouse',
      reviewed_by: 'mia',
      reviewed_at: new Date(),
    },
  ]);
  psql = new pg.Client({ connectionString: api.db.url });
  await psql.connect();
});

after(async () => {
  await psql?.end();
  await api?.close();
});

const doc = readFileSync(new URL('../../docs/sql.md', import.meta.url), 'utf8');
const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((match) => match[1]!.trim());

test('docs/sql.md has at least five queries', () => {
  assert.ok(queries.length >= 5, `found ${queries.length}`);
});

for (const [index, query] of queries.entries()) {
  test(`docs/sql.md query ${index + 1} runs and returns rows: ${query.split('\n')[0]}`, async () => {
    const result = await psql.query(query);
    assert.ok(result.rows.length > 0, 'no rows');
  });
}

test('GET /api/instances/{id} shows the decisions of the instance', async () => {
  const [row] = await api.db.knex('decisions').where({ label: 'courier' }).select('process_instance_id');
  const instance = await call('GET', `/api/instances/${row.process_instance_id}`);
  assert.deepEqual(
    instance.decisions.map((d: { label: string; reviewedLabel: string; needsReview: boolean }) => [
      d.label,
      d.reviewedLabel,
      d.needsReview,
    ]),
    [['courier', 'warehouse', true]],
  );
});

test('the instance shows up where docs/sql.md says', async () => {
  const { rows } = (await api.db.knex.raw(
    `SELECT state, count(*)::int AS n FROM instance_overview WHERE bpmn_process_id = 'http-order' GROUP BY state ORDER BY state`,
  )) as { rows: { state: string; n: number }[] };
  assert.deepEqual(rows, [
    { state: 'active', n: 2 },
    { state: 'completed', n: 2 },
  ]);
  const { rows: waiting } = (await api.db.knex.raw(
    `SELECT element_id, job_state, user_task_id IS NOT NULL AS person, has_open_incident FROM active_elements WHERE bpmn_process_id = 'http-order' ORDER BY element_id`,
  )) as { rows: unknown[] };
  assert.deepEqual(waiting, [
    { element_id: 'approve', job_state: null, person: true, has_open_incident: false },
    { element_id: 'pack', job_state: 'failed', person: false, has_open_incident: true },
  ]);
  const { rows: log } = (await api.db.knex.raw(
    `SELECT business_key, label, overruled FROM decision_log ORDER BY decided_at, label`,
  )) as { rows: { overruled: boolean }[] };
  assert.deepEqual(log.map((row) => row.overruled).sort(), [false, true]);
  const { rows: answers } = (await api.db.knex.raw(
    `SELECT source, decided_by, count(*)::int AS n FROM decision_answers GROUP BY source, decided_by ORDER BY decided_by`,
  )) as { rows: unknown[] };
  assert.deepEqual(answers, [
    { source: 'model', decided_by: 'model:order@1', n: 2 },
    { source: 'rule', decided_by: 'rule:shipping-fee/feeHeavy', n: 1 },
  ]);
});
