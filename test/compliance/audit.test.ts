/**
 * The audit trail over HTTP: every operator action leaves a chained row with its actor; the chain
 * stays linear under concurrent writers; the table refuses updates and deletes; tampering (with the
 * trigger out of the way, as a superuser could) is found by `operon audit verify`, which names the row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTestApi, type TestApi } from '../http/support/api.ts';
import { verifyAuditChain } from '../../engine/store/audit-log.ts';
import { reviewProcess } from './support.ts';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => api?.close());

const json = (response: { body: string }) => JSON.parse(response.body);

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers = {}) {
  const response = await api.app.inject({
    method,
    url,
    headers: { ...api.auth, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
  return { status: response.statusCode, body: response.body ? json(response) : undefined };
}

describe('audit trail', () => {
  test('deploy, start, complete, cancel, modify, webhook config: each a chained row with actor and change', async () => {
    const deployed = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: reviewProcess('audited'),
    });
    assert.equal(deployed.statusCode, 201, deployed.body);
    const started = await call('POST', '/api/instances', { bpmnProcessId: 'audited', businessKey: 'case-1' });
    assert.equal(started.status, 201);
    const { instanceId } = started.body;
    const tasks = await call('GET', `/api/tasks?instanceId=${instanceId}`);
    const taskId = tasks.body.tasks[0].id;
    assert.equal((await call('POST', `/api/tasks/${taskId}/complete`, { variables: { ok: true } })).status, 200);
    const second = (await call('POST', '/api/instances', { bpmnProcessId: 'audited' })).body.instanceId;
    assert.equal((await call('POST', `/api/instances/${second}/modify`, { activate: ['end'] })).status, 200);
    const third = (await call('POST', '/api/instances', { bpmnProcessId: 'audited' })).body.instanceId;
    assert.equal((await call('POST', `/api/instances/${third}/cancel`)).status, 200);
    assert.equal((await call('PUT', '/api/processes/audited/webhook', { open: true })).status, 200);

    const rows = await api.db.knex('audit_log').orderBy('seq');
    const actions = rows.map((row) => row.action);
    for (const action of [
      'apiToken.create',
      'deployment.create',
      'instance.start',
      'task.complete',
      'instance.modify',
      'instance.cancel',
      'webhook.configure',
    ])
      assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
    const complete = rows.find((row) => row.action === 'task.complete');
    assert.deepEqual([complete.actor_kind, complete.actor_id], ['dev', 'dev']);
    assert.equal(complete.process_instance_id, instanceId);
    assert.deepEqual(complete.change.variables, { ok: true });
    const cancel = rows.find((row) => row.action === 'instance.cancel');
    assert.equal(cancel.target_id, third);
    // Secrets never enter the trail; the start names the business key.
    assert.deepEqual(rows.find((row) => row.action === 'webhook.configure').change, { mode: 'open', secretCount: 0 });
    assert.equal(
      rows.find((row) => row.action === 'instance.start' && row.target_id === instanceId).change.businessKey,
      'case-1',
    );
    rows.forEach((row, index) => assert.equal(Number(row.seq), index + 1));
    assert.deepEqual(await verifyAuditChain(api.db.knex), {
      ok: true,
      rows: rows.length,
      headSeq: String(rows.length),
      headHash: rows.at(-1).hash,
    });
  });

  test('an identity set by the authentication layer is the actor', async () => {
    const { instanceId } = (await call('POST', '/api/instances', { bpmnProcessId: 'audited' })).body;
    // request.identity is what the identity layer sets; simulate it on a request object directly.
    const { actorOf } = await import('../../engine/http/actor.ts');
    assert.deepEqual(actorOf({ identity: { kind: 'user', id: 'alice', roles: [] } } as never), {
      kind: 'user',
      id: 'alice',
    });
    assert.deepEqual(actorOf({} as never), { kind: 'token', id: 'api-token' });
    await api.engine.cancelInstance(instanceId, { actor: { kind: 'user', id: 'alice' } });
    const row = await api.db.knex('audit_log').where({ action: 'instance.cancel', target_id: instanceId }).first();
    assert.deepEqual([row.actor_kind, row.actor_id], ['user', 'alice']);
  });

  test('concurrent starts and cancels from many connections keep one linear chain', async () => {
    const ids = await Promise.all(
      Array.from(
        { length: 40 },
        async () => (await call('POST', '/api/instances', { bpmnProcessId: 'audited' })).body.instanceId,
      ),
    );
    await Promise.all(ids.map((id) => call('POST', `/api/instances/${id}/cancel`)));
    const verdict = await verifyAuditChain(api.db.knex);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    const cancels = await api.db.knex('audit_log').whereIn('target_id', ids).where({ action: 'instance.cancel' });
    assert.equal(cancels.length, 40);
  });

  test('a batch of plain starts appends its audit rows in its one statement; the chain verifies, whatever the actor ids hold', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="audited-plain" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;
    await api.engine.deploy([{ name: 'audited-plain.bpmn', xml }]);
    const actorIds = ['ü\u0001"\\\n/ ключ', '\u2028x', 'plain', '😀\t'];
    const started = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        api.engine.startInstance(
          'audited-plain',
          { n: i },
          { actor: { kind: 'user', id: actorIds[i % actorIds.length]! }, businessKey: `key "${i}"` },
        ),
      ),
    );
    const rows = await api.db.knex('audit_log').whereIn(
      'target_id',
      started.map(({ instanceId }) => instanceId),
    );
    assert.equal(rows.length, 24);
    assert.deepEqual(new Set(rows.map((row) => row.actor_id)), new Set(actorIds));
    const verdict = await verifyAuditChain(api.db.knex);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });

  test('the table refuses updates, deletes and truncation; a redaction of change is the one update allowed', async () => {
    const knex = api.db.knex;
    await assert.rejects(knex('audit_log').where({ seq: 2 }).update({ actor_id: 'mallory' }), /append-only/);
    await assert.rejects(knex('audit_log').where({ seq: 2 }).delete(), /append-only/);
    await assert.rejects(knex.raw('TRUNCATE audit_log'), /append-only/);
    await assert.rejects(
      knex('audit_log')
        .where({ seq: 2 })
        .update({ change: JSON.stringify({ forged: true }) }),
      /append-only/,
    );
    await knex('audit_log').where({ seq: 2 }).update({ change: null, change_salt: null, redacted_at: knex.fn.now() });
    assert.equal((await verifyAuditChain(knex)).ok, true);
  });

  test('tampering is detected and `operon audit verify` names the first broken row', async () => {
    const knex = api.db.knex;
    const bin = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
    const env = { ...process.env, DATABASE_URL: api.db.url, LOG_LEVEL: 'error' };
    const ok = await promisify(execFile)(process.execPath, [bin, 'audit', 'verify'], { env });
    assert.match(ok.stdout, /audit chain intact/);

    const target = await knex('audit_log').where({ action: 'task.complete' }).first();
    await knex.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await knex('audit_log')
      .where({ seq: target.seq })
      .update({ change: JSON.stringify({ ...target.change, variables: { ok: false } }) });
    await knex.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    const verdict = await verifyAuditChain(knex);
    assert.deepEqual(verdict.ok ? verdict : { seq: verdict.seq, reason: verdict.reason }, {
      seq: String(target.seq),
      reason: 'change does not match change_digest',
    });
    const failed = await promisify(execFile)(process.execPath, [bin, 'audit', 'verify'], { env }).then(
      () => assert.fail('verify must fail'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, new RegExp(`broken at seq ${target.seq}\\b`));

    // A re-hashed row (the attacker recomputes its own hash) still breaks its successor's prev_hash;
    // a deleted row leaves a gap.
    await knex.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await knex('audit_log')
      .where({ seq: target.seq })
      .update({ change: JSON.stringify(target.change) });
    assert.equal((await verifyAuditChain(knex)).ok, true);
    const original = (await knex('audit_log').where({ seq: 3 }).first()).actor_id;
    await knex('audit_log').where({ seq: 3 }).update({ actor_id: 'mallory' });
    const forged = await verifyAuditChain(knex);
    assert.equal(!forged.ok && forged.seq, '3');
    await knex('audit_log').where({ seq: 3 }).update({ actor_id: original });
    await knex('audit_log').where({ seq: 4 }).delete();
    await knex.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    const gap = await verifyAuditChain(knex);
    assert.deepEqual(gap.ok ? gap : { seq: gap.seq, reason: gap.reason }, { seq: '4', reason: 'missing' });
  });
});
