/**
 * POST /webhooks/{bpmnProcessId}: configuration, Standard Webhooks signatures (valid, wrong secret,
 * stale timestamp, replayed id, rotation), idempotency keys (a repeat while the first commits, a key
 * whose owner died), and 200 concurrent identical requests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { generateWebhookSecret, signWebhook } from '../../engine/http/signature.ts';
import { deleteExpiredIdempotencyKeys } from '../../engine/http/idempotency.ts';
import { deployFixtures, fixture, startTestApi, type TestApi } from './support/api.ts';

let api: TestApi;
before(async () => {
  api = await startTestApi({ poolMax: 10 });
  await deployFixtures(api, 'http-ping.bpmn', 'http-wait.bpmn');
});
after(async () => {
  await api?.close();
});

function json(response: { body: string }): any {
  return JSON.parse(response.body);
}

async function instanceCount(bpmnProcessId: string): Promise<number> {
  const [row] = await api.db
    .knex('process_instances')
    .where({ bpmn_process_id: bpmnProcessId })
    .count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

function signed(secret: string | string[], body: string, options: { id?: string; timestamp?: number } = {}) {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = (Array.isArray(secret) ? secret : [secret])
    .map((s) => signWebhook(s, id, timestamp, body))
    .join(' ');
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
}

function post(process: string, body: string, headers: Record<string, string>) {
  return api.app.inject({ method: 'POST', url: `/webhooks/${process}`, headers, payload: body });
}

describe('configuration', () => {
  test('unknown and unconfigured processes get the same 401, nothing started', async () => {
    const unknown = await post('no-such-process', '{}', { 'content-type': 'application/json' });
    assert.equal(unknown.statusCode, 401);
    assert.equal(json(unknown).error.code, 'OPERON_ERR_WEBHOOK_NOT_CONFIGURED');
    const unconfigured = await post('http-ping', '{}', { 'content-type': 'application/json' });
    assert.equal(unconfigured.statusCode, 401);
    assert.equal(json(unconfigured).error.code, 'OPERON_ERR_WEBHOOK_NOT_CONFIGURED');
    assert.equal(await instanceCount('http-ping'), 0);
  });

  test('PUT webhook validates the secret and the process; needs the token; never echoes secrets', async () => {
    const url = '/api/processes/http-ping/webhook';
    assert.equal((await api.app.inject({ method: 'PUT', url, payload: { open: true } })).statusCode, 401);
    const badSecret = await api.app.inject({ method: 'PUT', url, headers: api.auth, payload: { secret: 'hunter2' } });
    assert.equal(badSecret.statusCode, 400);
    assert.equal(json(badSecret).error.code, 'OPERON_ERR_VALIDATION');
    assert.equal(
      (await api.app.inject({ method: 'PUT', url, headers: api.auth, payload: { open: false } })).statusCode,
      400,
    );
    assert.equal(
      (
        await api.app.inject({
          method: 'PUT',
          url: '/api/processes/no-such-process/webhook',
          headers: api.auth,
          payload: { open: true },
        })
      ).statusCode,
      404,
    );
    assert.equal(
      await api.db
        .knex('webhook_configs')
        .count('* as n')
        .first()
        .then((r) => Number(r!.n)),
      0,
    );

    const secret = generateWebhookSecret();
    const ok = await api.app.inject({ method: 'PUT', url, headers: api.auth, payload: { secret } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(json(ok), { bpmnProcessId: 'http-ping', mode: 'signed', secretCount: 1 });
    assert.ok(!ok.body.includes(secret.slice(6)));
  });
});

describe('signatures', () => {
  const oldSecret = generateWebhookSecret();
  const newSecret = generateWebhookSecret();
  before(async () => {
    await api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-ping/webhook',
      headers: api.auth,
      payload: { secret: oldSecret },
    });
  });

  test('valid signature -> 202 and an instance with the body as variables', async () => {
    const body = JSON.stringify({ orderId: 'W-1', total: 99.5 });
    const response = await post('http-ping', body, signed(oldSecret, body));
    assert.equal(response.statusCode, 202, response.body);
    const { instanceId } = json(response);
    const instance = await api.engine.getInstance(instanceId);
    assert.deepEqual(instance?.variables, { orderId: 'W-1', total: 99.5 });
  });

  test('wrong secret, missing signature, tampered body, stale and future timestamps -> 401, no instance', async () => {
    const before = await instanceCount('http-ping');
    const body = '{"orderId":"W-2"}';
    const cases = [
      signed(generateWebhookSecret(), body),
      { 'content-type': 'application/json' },
      { ...signed(oldSecret, body), 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` },
      signed(oldSecret, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }),
      signed(oldSecret, body, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }),
    ];
    for (const headers of cases) {
      const response = await post('http-ping', body, headers);
      assert.equal(response.statusCode, 401);
      assert.equal(json(response).error.code, 'OPERON_ERR_BAD_SIGNATURE');
    }
    const tampered = signed(oldSecret, body);
    assert.equal((await post('http-ping', '{"orderId":"W-3"}', tampered)).statusCode, 401);
    // A bad signature wins over a malformed body: nothing about the body is revealed unsigned.
    assert.equal((await post('http-ping', '{oops', signed(generateWebhookSecret(), '{oops'))).statusCode, 401);
    assert.equal(await instanceCount('http-ping'), before);
  });

  test('replayed webhook-id -> the first response again, no second instance', async () => {
    const body = '{"orderId":"W-4"}';
    const headers = signed(oldSecret, body, { id: 'msg_replay_1' });
    const first = await post('http-ping', body, headers);
    assert.equal(first.statusCode, 202);
    const before = await instanceCount('http-ping');
    const replay = await post('http-ping', body, headers);
    assert.equal(replay.statusCode, 202);
    assert.deepEqual(json(replay), json(first));
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(await instanceCount('http-ping'), before);
  });

  test('rotation: several secrets configured, several signatures sent', async () => {
    const rotate = await api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-ping/webhook',
      headers: api.auth,
      payload: { secrets: [newSecret, oldSecret] },
    });
    assert.equal(json(rotate).secretCount, 2);
    const body = '{"orderId":"W-5"}';
    assert.equal((await post('http-ping', body, signed(oldSecret, body))).statusCode, 202);
    assert.equal((await post('http-ping', body, signed(newSecret, body))).statusCode, 202);
    await api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-ping/webhook',
      headers: api.auth,
      payload: { secret: newSecret },
    });
    assert.equal((await post('http-ping', body, signed(oldSecret, body))).statusCode, 401);
    assert.equal((await post('http-ping', body, signed([oldSecret, newSecret], body))).statusCode, 202);
  });

  test('content type 415, malformed JSON 400, non-object 400, oversize 413 — no instance', async () => {
    const before = await instanceCount('http-ping');
    const form = await post('http-ping', 'a=1', {
      ...signed(newSecret, 'a=1'),
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(form.statusCode, 415);
    const malformed = await post('http-ping', '{oops', signed(newSecret, '{oops'));
    assert.equal(malformed.statusCode, 400);
    assert.equal(json(malformed).error.code, 'OPERON_ERR_MALFORMED_JSON');
    const array = await post('http-ping', '[1,2]', signed(newSecret, '[1,2]'));
    assert.equal(array.statusCode, 400);
    assert.equal(json(array).error.code, 'OPERON_ERR_VALIDATION');
    const big = JSON.stringify({ blob: 'x'.repeat(300 * 1024) });
    const tooLarge = await post('http-ping', big, signed(newSecret, big));
    assert.equal(tooLarge.statusCode, 413);
    assert.equal(await instanceCount('http-ping'), before);
  });
});

describe('open webhooks and idempotency keys', () => {
  before(async () => {
    await api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-wait/webhook',
      headers: api.auth,
      payload: { open: true },
    });
  });

  test('open webhook: no signature needed; empty body means no variables; ?businessKey= sets the key', async () => {
    const response = await api.app.inject({ method: 'POST', url: '/webhooks/http-wait' });
    assert.equal(response.statusCode, 202, response.body);
    assert.deepEqual((await api.engine.getInstance(json(response).instanceId))?.variables, {});
    const keyed = await api.app.inject({
      method: 'POST',
      url: '/webhooks/http-wait?businessKey=INV-9',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":1}',
    });
    assert.equal((await api.engine.getInstance(json(keyed).instanceId))?.businessKey, 'INV-9');
  });

  test('a webhook starts the newest version right after it was deployed', async () => {
    const redeploy = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: `${fixture('http-wait.bpmn')}\n<!-- changed -->\n`,
    });
    assert.equal(redeploy.statusCode, 201, redeploy.body);
    const newest = json(redeploy).processes.find((p: { bpmnProcessId: string }) => p.bpmnProcessId === 'http-wait');
    assert.ok(newest.version >= 2, 'a new version was deployed');
    const response = await api.app.inject({ method: 'POST', url: '/webhooks/http-wait' });
    assert.equal(response.statusCode, 202, response.body);
    const row = await api.db
      .knex('process_instances')
      .where({ id: json(response).instanceId })
      .first();
    assert.equal(row.version, newest.version);
    assert.equal(row.definition_id, newest.definitionId);
  });

  test('same key + same body -> same response; other body -> 422', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'order-9001' };
    const first = await post('http-wait', '{"orderId":9001}', headers);
    assert.equal(first.statusCode, 202);
    const before = await instanceCount('http-wait');
    const second = await post('http-wait', '{"orderId":9001}', headers);
    assert.equal(second.statusCode, 202);
    assert.equal(json(second).instanceId, json(first).instanceId);
    const other = await post('http-wait', '{"orderId":9002}', headers);
    assert.equal(other.statusCode, 422);
    assert.equal(json(other).error.code, 'OPERON_ERR_IDEMPOTENCY_MISMATCH');
    assert.equal(await instanceCount('http-wait'), before);
  });

  /** Waits until a query of the test database waits for a lock (a start blocked in its transaction). */
  async function someoneWaitsForALock(): Promise<void> {
    for (let i = 0; i < 2_400; i++) {
      const { rows } = await api.db.knex.raw(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0].n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('no start ever waited for the lock');
  }

  test('a duplicate while the first still commits waits for it and gets its response: one instance, no 409', async () => {
    // Hold a lock the instance insert needs, so the first request's transaction stays open.
    const blocker = await api.db.knex.transaction();
    await blocker.raw('LOCK TABLE process_instances IN SHARE ROW EXCLUSIVE MODE');
    const before = await instanceCount('http-wait');
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'slow-1' };
    const first = post('http-wait', '{"n":1}', headers);
    await someoneWaitsForALock();
    const duplicate = post('http-wait', '{"n":1}', headers);
    await blocker.commit();
    const [a, b] = await Promise.all([first, duplicate]);
    assert.equal(a.statusCode, 202, a.body);
    assert.equal(b.statusCode, 202, b.body);
    assert.equal(json(b).instanceId, json(a).instanceId);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal(await instanceCount('http-wait'), before + 1);
    const row = await api.db.knex('idempotency_keys').where({ key: 'slow-1' }).first();
    assert.equal(row.state, 'completed');
    assert.equal(row.instance_id, json(a).instanceId);
    assert.equal(row.status_code, 202);
  });

  test('a key whose owner died before committing is taken over by the retry', async () => {
    // Another server's start: its key row inserted in a transaction that never commits. The owner
    // has its own connection, outside the API's pool, so the connection killed below can never be
    // handed back to the API for a later request.
    const owner = new pg.Client({ connectionString: api.db.url });
    owner.on('error', () => undefined);
    await owner.connect();
    const { rows } = await owner.query('SELECT pg_backend_pid() AS pid');
    const scope = 'webhook:http-wait';
    await owner.query('BEGIN');
    await owner.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, state, status_code, instance_id)
       VALUES ($1, 'orphan-1', 'x', 'completed', 202, '00000000-0000-4000-8000-000000000001')`,
      [scope],
    );
    const before = await instanceCount('http-wait');
    const retry = post('http-wait', '{"n":2}', { 'content-type': 'application/json', 'idempotency-key': 'orphan-1' });
    await someoneWaitsForALock();
    // The owner dies (its server was SIGKILLed, its connection cut): PostgreSQL rolls it back.
    await api.db.knex.raw('SELECT pg_terminate_backend(?)', [rows[0].pid]);
    await owner.end().catch(() => undefined);
    const response = await retry;
    assert.equal(response.statusCode, 202, response.body);
    assert.equal(await instanceCount('http-wait'), before + 1);
    const row = await api.db.knex('idempotency_keys').where({ scope, key: 'orphan-1' }).first();
    assert.equal(row.instance_id, json(response).instanceId);
    const again = await post('http-wait', '{"n":2}', {
      'content-type': 'application/json',
      'idempotency-key': 'orphan-1',
    });
    assert.equal(again.statusCode, 202);
    assert.equal(json(again).instanceId, json(response).instanceId);
  });

  test('200 concurrent identical requests with one Idempotency-Key create exactly one instance, all answered 202', async () => {
    const before = await instanceCount('http-wait');
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'burst-1' };
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => post('http-wait', '{"burst":true}', headers)),
    );
    assert.deepEqual(
      [...new Set(responses.map((r) => r.statusCode))],
      [202],
      responses.find((r) => r.statusCode !== 202)?.body,
    );
    const instanceIds = new Set(responses.map((r) => json(r).instanceId));
    assert.equal(instanceIds.size, 1);
    assert.equal(await instanceCount('http-wait'), before + 1);
    const later = await post('http-wait', '{"burst":true}', headers);
    assert.equal(json(later).instanceId, [...instanceIds][0]);
  });

  test('POST /api/instances honours Idempotency-Key the same way', async () => {
    const headers = { ...api.auth, 'idempotency-key': 'start-1' };
    const body = { bpmnProcessId: 'http-wait', variables: { a: 1 } };
    const before = await instanceCount('http-wait');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.app.inject({ method: 'POST', url: '/api/instances', headers, payload: body }),
      ),
    );
    assert.deepEqual([...new Set(responses.map((r) => r.statusCode))], [201]);
    assert.equal(new Set(responses.map((r) => json(r).instanceId)).size, 1);
    assert.equal(await instanceCount('http-wait'), before + 1);
    const mismatch = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers,
      payload: { ...body, variables: { a: 2 } },
    });
    assert.equal(mismatch.statusCode, 422);
    // A start that fails leaves no key behind: the client may fix the request and retry with it.
    const failing = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: { ...api.auth, 'idempotency-key': 'start-2' },
      payload: { bpmnProcessId: 'no-such-process' },
    });
    assert.equal(failing.statusCode, 404);
    assert.equal(await api.db.knex('idempotency_keys').where({ key: 'start-2' }).first(), undefined);
    // A pinned version starts outside the group commit: the key commits with it all the same.
    const pinned = { ...api.auth, 'idempotency-key': 'start-3' };
    const first = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: pinned,
      payload: { bpmnProcessId: 'http-wait', version: 1 },
    });
    assert.equal(first.statusCode, 201, first.body);
    const second = await api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: pinned,
      payload: { bpmnProcessId: 'http-wait', version: 1 },
    });
    assert.equal(second.statusCode, 201);
    assert.equal(json(second).instanceId, json(first).instanceId);
    assert.equal(
      (await api.db.knex('idempotency_keys').where({ key: 'start-3' }).first()).instance_id,
      json(first).instanceId,
    );
  });

  test('keys older than the retention window are forgotten, stuck in-flight ones too', async () => {
    await api.db.knex('idempotency_keys').insert([
      {
        scope: 'start',
        key: 'old-done',
        request_hash: 'x',
        state: 'completed',
        status_code: 201,
        response: '{}',
        created_at: api.db.knex.raw(`now() - interval '2 days'`),
      },
      {
        scope: 'start',
        key: 'old-stuck',
        request_hash: 'x',
        state: 'in_flight',
        created_at: api.db.knex.raw(`now() - interval '2 days'`),
      },
    ]);
    const before = await api.db.knex('idempotency_keys').count<{ n: string }[]>('* as n');
    assert.equal(await deleteExpiredIdempotencyKeys(api.db.knex, 24 * 3600 * 1000), 2);
    const left = await api.db.knex('idempotency_keys').count<{ n: string }[]>('* as n');
    assert.equal(Number(left[0]!.n), Number(before[0]!.n) - 2);
    assert.ok(Number(left[0]!.n) > 0, 'recent keys stay');
  });

  test('webhook latency is measured per process', async () => {
    const metrics = await api.app.inject({ method: 'GET', url: '/metrics', headers: api.auth });
    assert.match(
      metrics.body,
      /operon_webhook_latency_seconds_count\{bpmn_process_id="http-wait",status="202"\} [1-9]/,
    );
    // Ids without a webhook (unknown or not configured) share one label.
    assert.match(metrics.body, /operon_webhook_latency_seconds_count\{bpmn_process_id="unknown",status="401"\} [1-9]/);
  });
});
