/**
 * Erasure of a data subject over HTTP: a unique marker goes in through a webhook (business key,
 * variables, Idempotency-Key), a worker's result, a failed job (incident), a person's task answer,
 * a decision's prompt and a bot run's error and artifacts; after POST /api/erasures and the
 * maintenance loop, no text or JSON column of any table, no artifact file and no log line holds it.
 * Another subject's data stays; the skeleton (model version, scores, reviewer, audit chain) stays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { verifyAuditChain } from '../../engine/store/audit-log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eventually } from '../http/support/api.ts';
import { checkProcess, columnsHolding } from './support.ts';

const MARKER = `subject${randomBytes(6).toString('hex')}`;
const OTHER = `other${randomBytes(6).toString('hex')}`;
const TOKEN = `test_${randomBytes(8).toString('hex')}`;
const auth = { authorization: `Bearer ${TOKEN}` };

let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let artifactsDir: string;
const logLines: string[] = [];

before(async () => {
  db = await createTestDatabase({ poolMax: 10 });
  artifactsDir = await mkdtemp(join(tmpdir(), 'operon-erasure-'));
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );
  engine = createEngine({ db: db.knex, logger });
  engine.startWorker({ erasurePollMs: 50, artifactsDir, pollIntervalMs: 100 });
  app = await buildApp({ engine, db: db.knex, apiToken: TOKEN, defaultMetrics: false, logger });
});
after(async () => {
  await app?.close();
  await engine?.close();
  await db?.drop();
  if (artifactsDir) await rm(artifactsDir, { recursive: true, force: true });
});

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers = {}) {
  const response = await app.inject({
    method,
    url,
    headers: { ...auth, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return JSON.parse(response.body);
}

async function activate(type: string) {
  const { jobs } = await call('POST', '/api/jobs/activate', {
    type,
    worker: 'erasure-test',
    maxJobs: 1,
    lockMs: 30_000,
    requestTimeoutMs: 2_000,
  });
  assert.equal(jobs.length, 1);
  return jobs[0];
}

/** One subject's case: webhook start, worker result, task answer, a decision and a bot run with artifacts. */
async function completedCase(key: string): Promise<string> {
  const { instanceId } = await call(
    'POST',
    `/webhooks/erase-check?businessKey=${key}`,
    { applicant: { name: `${key} Jones`, story: `I, ${key}, need a loan` } },
    { 'idempotency-key': `delivery-${key}` },
  );
  const job = await activate('erase-check');
  await call('POST', `/api/jobs/${job.id}/complete`, {
    worker: 'erasure-test',
    attempt: job.attempt,
    variables: { bureauNote: `file of ${key}` },
  });
  const [task] = await eventually(async () => {
    const { tasks } = await call('GET', `/api/tasks?state=open&instanceId=${instanceId}`);
    return tasks.length ? tasks : undefined;
  });
  const decisionId = randomUUID();
  // What a decision: node writes (nodes/decision) and what a failed bot run leaves (nodes/bot).
  await db.knex('decisions').insert({
    id: decisionId,
    process_instance_id: instanceId,
    element_id: 'check',
    model_name: 'loan',
    model_version: 'test-1',
    model_file_hash: 'f'.repeat(64),
    prompt: `applicant ${key} writes: I, ${key}, need a loan`,
    inputs: JSON.stringify({ name: key }),
    scores: JSON.stringify({ approve: 0.4, reject: 0.1, review: 0.5 }),
    label: 'review',
    confidence: 0.5,
    threshold: 0.8,
    needs_review: true,
    review_reasons: JSON.stringify([`purpose mentions '${key}', which may be a forbidden purpose`]),
    latency_ms: 12,
  });
  const runId = randomUUID();
  const runDir = join(artifactsDir, 'bot-runs', runId);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'failure.png'), `screenshot showing ${key}`);
  await writeFile(join(runDir, 'trace.zip'), `trace typing ${key}`);
  await db.knex('bot_runs').insert({
    id: runId,
    process_instance_id: instanceId,
    element_id: 'check',
    bot: 'credit-bureau',
    outcome: 'failed',
    error_message: `no record for ${key}`,
    screenshot_path: join(runDir, 'failure.png'),
    trace_path: join(runDir, 'trace.zip'),
    blocked_requests: JSON.stringify([{ url: `https://evil.example/?q=${key}`, reason: 'host', navigation: true }]),
  });
  await call('POST', `/api/tasks/${task.id}/complete`, {
    variables: { reviewedLabel: 'approve', comment: `${key} looks fine`, decisionId },
    completedBy: 'reviewer-ann',
  });
  return instanceId;
}

/** A second instance of the subject: its job fails for good (incident naming the subject), then it is cancelled. */
async function failedCase(key: string): Promise<string> {
  const { instanceId } = await call('POST', '/api/instances', {
    bpmnProcessId: 'erase-check',
    businessKey: key,
    variables: { applicant: { name: key } },
  });
  const job = await activate('erase-check');
  await call('POST', `/api/jobs/${job.id}/fail`, {
    worker: 'erasure-test',
    attempt: job.attempt,
    errorMessage: `bureau rejected ${key}`,
    retries: 0,
  });
  await call('POST', `/api/instances/${instanceId}/cancel`);
  return instanceId;
}

test('erasing a business key leaves no trace of the subject in any table, artifact or log line', async () => {
  const deployed = await app.inject({
    method: 'POST',
    url: '/api/deployments',
    headers: { ...auth, 'content-type': 'application/xml' },
    payload: checkProcess('erase-check', 'erase-check'),
  });
  assert.equal(deployed.statusCode, 201, deployed.body);
  await call('PUT', '/api/processes/erase-check/webhook', { open: true });
  const subject = await completedCase(MARKER);
  const failed = await failedCase(MARKER);
  const other = await completedCase(OTHER);

  const before = await columnsHolding(db.knex, MARKER);
  for (const column of [
    'process_instances.business_key',
    'process_instances.variables',
    'jobs.variables',
    'user_tasks.result',
    'incidents.message',
    'decisions.prompt',
    'decisions.review_reasons',
    'bot_runs.error_message',
    'idempotency_keys.key',
    'audit_log.change',
  ])
    assert.ok(before.includes(column), `${column} should hold the marker before erasure: ${before.join(', ')}`);

  const requested = await call('POST', '/api/erasures', { businessKey: MARKER });
  assert.equal(requested.state, 'pending');
  const done = await eventually(async () => {
    const erasure = await call('GET', `/api/erasures/${requested.erasureId}`);
    return erasure.state === 'done' || erasure.state === 'failed' ? erasure : undefined;
  });
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.equal(done.erasedInstances, 2);
  assert.equal(done.deletedArtifacts, 2);
  assert.deepEqual([done.skippedActive, done.skippedHeld], [0, 0]);

  assert.deepEqual(await columnsHolding(db.knex, MARKER), []);
  const files = await readdir(artifactsDir, { recursive: true });
  assert.ok(!files.some((file) => file.includes(MARKER)));
  for (const file of files.filter((name) => name.endsWith('.png') || name.endsWith('.zip'))) {
    const { readFile } = await import('node:fs/promises');
    assert.ok(!(await readFile(join(artifactsDir, file), 'utf8')).includes(MARKER), file);
  }
  assert.ok(logLines.length > 0);
  assert.deepEqual(
    logLines.filter((line) => line.includes(MARKER)),
    [],
  );

  // The other subject is untouched; the skeleton of the erased case stays and the chain verifies.
  const kept = await columnsHolding(db.knex, OTHER);
  assert.ok(kept.includes('process_instances.variables') && kept.includes('decisions.prompt'), kept.join(', '));
  assert.equal((await readdir(join(artifactsDir, 'bot-runs'))).length, 1);
  const evidence = await call('GET', `/api/instances/${subject}/evidence`);
  assert.equal(evidence.instance.state, 'completed');
  assert.equal(evidence.instance.businessKey, undefined);
  assert.deepEqual(evidence.decisions[0].scores, { approve: 0.4, reject: 0.1, review: 0.5 });
  assert.equal(evidence.decisions[0].modelVersion, 'test-1');
  assert.deepEqual(evidence.decisions[0].review.by, 'reviewer-ann');
  assert.ok(evidence.audit.some((row: { action: string }) => row.action === 'instance.erase'));
  assert.ok(
    evidence.audit
      .filter((row: { action: string }) => row.action === 'task.complete')
      .every((row: { redactedAt?: string }) => row.redactedAt),
  );
  assert.equal((await call('GET', `/api/instances/${failed}`)).state, 'terminated');
  assert.ok((await call('GET', `/api/instances/${other}`)).variables.applicant.name.includes(OTHER));
  assert.equal((await verifyAuditChain(db.knex)).ok, true);
});

test('erasure refuses a missing business key with the field', async () => {
  const response = await app.inject({
    method: 'POST',
    url: '/api/erasures',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: '{}',
  });
  assert.equal(response.statusCode, 400);
  assert.equal(JSON.parse(response.body).error.code, 'OPERON_ERR_VALIDATION');
  assert.match(response.body, /businessKey/);
});
