/**
 * The evidence export of one instance over HTTP and from the CLI: the webhook delivery and who
 * started it, the decision (model version, inputs, scores), the review (who) and the bot runs, with
 * the instance's audit rows and their hashes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventually, startTestApi, type TestApi } from '../http/support/api.ts';
import { checkProcess } from './support.ts';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => api?.close());

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers = {}) {
  const response = await api.app.inject({
    method,
    url,
    headers: { ...api.auth, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

test('GET /api/instances/:id/evidence ties webhook -> decision -> review -> bot runs', async () => {
  const deployed = await api.app.inject({
    method: 'POST',
    url: '/api/deployments',
    headers: { ...api.auth, 'content-type': 'application/xml' },
    payload: checkProcess('evidence-check', 'evidence-check'),
  });
  assert.equal(deployed.statusCode, 201, deployed.body);
  assert.equal((await call('PUT', '/api/processes/evidence-check/webhook', { open: true })).status, 200);
  const started = await call(
    'POST',
    '/webhooks/evidence-check?businessKey=loan-42',
    { income: 52_000 },
    { 'idempotency-key': 'delivery-42' },
  );
  assert.equal(started.status, 202);
  const { instanceId } = started.body;
  const { jobs } = (
    await call('POST', '/api/jobs/activate', {
      type: 'evidence-check',
      worker: 'w',
      maxJobs: 1,
      lockMs: 30_000,
      requestTimeoutMs: 2_000,
    })
  ).body;
  const decisionId = randomUUID();
  // What a decision: node and a bot run write (nodes/decision, nodes/bot).
  await api.db.knex('decisions').insert({
    id: decisionId,
    process_instance_id: instanceId,
    element_id: 'check',
    job_id: jobs[0].id,
    model_name: 'loan',
    model_version: '2026.11+head.3',
    model_file_hash: 'a'.repeat(64),
    prompt: 'income: 52000',
    inputs: JSON.stringify({ income: 52_000 }),
    scores: JSON.stringify({ approve: 0.55, reject: 0.05, review: 0.4 }),
    label: 'approve',
    confidence: 0.55,
    threshold: 0.8,
    needs_review: true,
    latency_ms: 9,
  });
  await api.db.knex('bot_runs').insert({
    process_instance_id: instanceId,
    element_id: 'check',
    job_id: jobs[0].id,
    bot: 'credit-bureau',
    outcome: 'succeeded',
    duration_ms: 800,
  });
  await call('POST', `/api/jobs/${jobs[0].id}/complete`, { worker: 'w', attempt: jobs[0].attempt, variables: {} });
  const task = await eventually(async () => {
    const { tasks } = (await call('GET', `/api/tasks?state=open&instanceId=${instanceId}`)).body;
    return tasks[0];
  });
  const completed = await call('POST', `/api/tasks/${task.id}/complete`, {
    variables: { reviewedLabel: 'reject', decisionId },
    completedBy: 'ann',
  });
  assert.equal(completed.status, 200, JSON.stringify(completed.body));

  const { status, body: evidence } = await call('GET', `/api/instances/${instanceId}/evidence`);
  assert.equal(status, 200);
  assert.equal(evidence.instance.businessKey, 'loan-42');
  assert.equal(evidence.instance.state, 'completed');
  assert.deepEqual(evidence.start.by, { kind: 'webhook', id: 'webhook:evidence-check' });
  assert.deepEqual(
    evidence.start.webhookDeliveries.map((d: { scope: string; key: string }) => [d.scope, d.key]),
    [['webhook:evidence-check', 'delivery-42']],
  );
  const [decision] = evidence.decisions;
  assert.equal(decision.modelVersion, '2026.11+head.3');
  assert.deepEqual(decision.inputs, { income: 52_000 });
  assert.deepEqual(decision.scores, { approve: 0.55, reject: 0.05, review: 0.4 });
  assert.deepEqual([decision.review.label, decision.review.by], ['reject', 'ann']);
  assert.deepEqual(
    evidence.humanTasks.map((t: { completedBy: string }) => t.completedBy),
    ['ann'],
  );
  assert.deepEqual(
    evidence.botRuns.map((run: { bot: string; outcome: string }) => [run.bot, run.outcome]),
    [['credit-bureau', 'succeeded']],
  );
  const actions = evidence.audit.map((row: { action: string }) => row.action);
  assert.deepEqual(actions, ['instance.start', 'task.complete', 'decision.review']);
  const review = evidence.audit.find((row: { action: string }) => row.action === 'decision.review');
  assert.deepEqual(review.actor, { kind: 'dev', id: 'dev' });
  assert.equal(review.target.id, decisionId);
  assert.match(evidence.auditHead.hash, /^[0-9a-f]{64}$/);

  assert.equal((await call('GET', `/api/instances/${randomUUID()}/evidence`)).status, 404);
  assert.equal((await call('GET', '/api/instances/not-a-uuid/evidence')).status, 400);

  // The CLI prints the same document.
  const bin = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'evidence', instanceId], {
    env: { ...process.env, DATABASE_URL: api.db.url, LOG_LEVEL: 'error' },
  });
  const printed = JSON.parse(stdout);
  assert.deepEqual(printed.decisions, evidence.decisions);
  assert.deepEqual(printed.audit, evidence.audit);
});
