/**
 * Retention: ended instances past their process's time to live are deleted in batches with
 * everything hanging off them, while the engine keeps starting, cancelling and completing
 * instances; legal holds and the default time to live; a bad `operon:retention` fails deployment.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../http/support/api.ts';
import { sweepExpiredInstances } from '../../engine/store/retention.ts';
import { verifyAuditChain } from '../../engine/store/audit-log.ts';
import { instantProcess, reviewProcess } from './support.ts';

let api: TestApi;
let artifactsDir: string;
before(async () => {
  api = await startTestApi({ poolMax: 12 });
  artifactsDir = await mkdtemp(join(tmpdir(), 'operon-retention-'));
});
after(async () => {
  await api?.close();
  if (artifactsDir) await rm(artifactsDir, { recursive: true, force: true });
});

async function inject(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) {
  const response = await api.app.inject({
    method,
    url,
    headers: { ...api.auth, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

async function deploy(xml: string) {
  return api.app.inject({
    method: 'POST',
    url: '/api/deployments',
    headers: { ...api.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
}

async function startMany(bpmnProcessId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; offset < count; offset += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - offset) }, () => api.engine.startInstance(bpmnProcessId, { n: 1 })),
    );
    ids.push(...batch.map((started) => started.instanceId));
  }
  return ids;
}

async function existing(ids: string[]): Promise<number> {
  const [row] = await api.db.knex('process_instances').whereIn('id', ids).count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

test('a retention that is not a positive ISO 8601 duration fails deployment with the process id', async () => {
  for (const bad of ['soon', 'P-1D', 'PT0S', 'P1.5D']) {
    const response = await deploy(instantProcess('ttl-bad', bad));
    assert.equal(response.statusCode, 400, `${bad}: ${response.body}`);
    const { error } = JSON.parse(response.body);
    assert.equal(error.code, 'OPERON_ERR_BPMN_INVALID');
    assert.equal(error.details.elementId, 'ttl-bad');
  }
  // Camunda 7's historyTimeToLive (days) is read too.
  const camunda = instantProcess('ttl-camunda')
    .replace('<bpmn:definitions ', '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ')
    .replace('isExecutable="true"', 'isExecutable="true" camunda:historyTimeToLive="30"');
  assert.equal((await deploy(camunda)).statusCode, 201);
  const [row] = await api.db
    .knex('process_definitions')
    .where({ bpmn_process_id: 'ttl-camunda' })
    .select(api.db.knex.raw('retention::text AS retention'));
  assert.equal(row.retention, '30 days');
});

test('expired instances go in batches under load; young, active and held ones stay', async () => {
  for (const xml of [
    instantProcess('ttl-short', 'PT1H'),
    instantProcess('ttl-none'),
    reviewProcess('ttl-review', 'PT1H'),
  ])
    assert.equal((await deploy(xml)).statusCode, 201);
  const knex = api.db.knex;
  const [{ retention }] = await knex('process_definitions')
    .where({ bpmn_process_id: 'ttl-short' })
    .select(knex.raw('retention::text AS retention'));
  assert.equal(retention, '01:00:00');

  const expired = await startMany('ttl-short', 800);
  const young = await startMany('ttl-short', 50);
  const untimed = await startMany('ttl-none', 50);
  const waiting = await startMany('ttl-review', 20);
  await knex('process_instances')
    .whereIn('id', [...expired, ...untimed])
    .update({ ended_at: knex.raw(`now() - interval '2 hours'`) });

  // Side records of a few expired instances: a decision, a bot run with artifacts, an idempotency key.
  const runIds: string[] = [];
  for (const instanceId of expired.slice(0, 5)) {
    const runId = randomUUID();
    runIds.push(runId);
    await mkdir(join(artifactsDir, 'bot-runs', runId), { recursive: true });
    await writeFile(join(artifactsDir, 'bot-runs', runId, 'failure.png'), 'png');
    await knex('bot_runs').insert({ id: runId, process_instance_id: instanceId, bot: 'b', outcome: 'failed' });
    await knex('decisions').insert({
      process_instance_id: instanceId,
      model_name: 'loan',
      model_version: '1',
      model_file_hash: 'h',
      prompt: 'p',
      inputs: '{}',
      scores: '{}',
      label: 'approve',
      confidence: 0.9,
      threshold: 0.5,
      needs_review: false,
      latency_ms: 1,
    });
    await knex('idempotency_keys').insert({
      scope: 'start',
      key: instanceId,
      request_hash: 'x',
      state: 'completed',
      instance_id: instanceId,
    });
  }
  const held = expired.slice(-3);
  for (const id of held) {
    const hold = await inject('PUT', `/api/instances/${id}/legal-hold`, { reason: 'claim 2026-17' });
    assert.equal(hold.status, 200, JSON.stringify(hold.body));
    assert.equal(hold.body.placedBy, 'dev:dev');
  }
  assert.equal((await inject('PUT', `/api/instances/${randomUUID()}/legal-hold`, { reason: 'x' })).status, 404);
  assert.equal((await inject('PUT', `/api/instances/${held[0]}/legal-hold`, {})).status, 400);

  // The load: starts, task completions and cancels while three sweepers (three engines) run.
  const load = (async () => {
    const started = await startMany('ttl-review', 200);
    const tasks = await api.engine.listUserTasks({ state: 'open' });
    await Promise.all(tasks.slice(0, 100).map((task) => api.engine.completeUserTask(task.id, { ok: true })));
    await Promise.all(started.slice(-50).map((id) => api.engine.cancelInstance(id)));
    return started;
  })();
  const sweeps = await Promise.all(
    [1, 2, 3].map(() => sweepExpiredInstances(knex, { artifactsDir, batchSize: 200, maxBatches: 20 })),
  );
  await load;
  assert.equal(
    sweeps.reduce((sum, sweep) => sum + sweep.instances, 0),
    expired.length - held.length,
  );
  assert.equal(
    sweeps.reduce((sum, sweep) => sum + sweep.artifacts, 0),
    5,
  );

  assert.equal(await existing(expired), held.length);
  assert.equal(await existing(young), young.length);
  assert.equal(await existing(untimed), untimed.length);
  assert.equal(await existing(waiting), waiting.length);
  const gone = expired.slice(0, 5);
  for (const table of ['history', 'decisions', 'bot_runs', 'element_instances']) {
    const [row] = await knex(table).whereIn('process_instance_id', gone).count<{ count: string }[]>('* as count');
    assert.equal(Number(row!.count), 0, table);
  }
  assert.equal((await knex('idempotency_keys').whereIn('instance_id', gone)).length, 0);
  assert.deepEqual(await readdir(join(artifactsDir, 'bot-runs')), []);
  // The audit skeleton stays: who started the deleted instances, without the change.
  const starts = await knex('audit_log').whereIn('process_instance_id', gone).where({ action: 'instance.start' });
  assert.equal(starts.length, 5);
  assert.ok(starts.every((row) => row.redacted_at && row.change === null));
  assert.ok((await knex('audit_log').where({ action: 'retention.delete' })).length >= 4);
  assert.equal((await verifyAuditChain(knex)).ok, true);

  // The default time to live reaches processes without one; a lifted hold lets retention go on.
  const withDefault = await sweepExpiredInstances(knex, { artifactsDir, defaultRetention: 'PT1H' });
  assert.equal(withDefault.instances, untimed.length);
  const lifted = await inject('DELETE', `/api/instances/${held[0]}/legal-hold`);
  assert.deepEqual([lifted.status, lifted.body.released], [200, 1]);
  assert.equal((await inject('DELETE', `/api/instances/${held[0]}/legal-hold`)).status, 404);
  assert.equal((await sweepExpiredInstances(knex, { artifactsDir })).instances, 1);
  assert.equal(await existing(held), 2);
  const actions = (await knex('audit_log').whereIn('action', ['legalHold.place', 'legalHold.lift'])).map(
    (row) => row.action,
  );
  assert.deepEqual(actions.sort(), ['legalHold.lift', 'legalHold.place', 'legalHold.place', 'legalHold.place']);
});
