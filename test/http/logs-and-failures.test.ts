/**
 * What the logs say (instance ids, never tokens, secrets or signatures) and how unexpected
 * failures look to a client (500 OPERON_ERR_INTERNAL without internals).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { toOperonError } from '../../engine/http/http-errors.ts';
import { OperonError } from '../../engine/errors.ts';
import { generateWebhookSecret, signWebhook } from '../../engine/http/signature.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture } from './support/api.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('logs carry instance ids and never the token, the webhook secret or the signature', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const engine = createEngine({ db: db.knex });
  const token = 'log-test-token-0123456789abcdef';
  const app = await buildApp({ engine, db: db.knex, logger, apiToken: token, defaultMetrics: false });
  try {
    const auth = { authorization: `Bearer ${token}` };
    await app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...auth, 'content-type': 'application/xml' },
      payload: fixture('http-ping.bpmn'),
    });
    const secret = generateWebhookSecret();
    await app.inject({ method: 'PUT', url: '/api/processes/http-ping/webhook', headers: auth, payload: { secret } });
    const body = '{"customer":"Ada"}';
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook(secret, 'msg_log_1', timestamp, body);
    const response = await app.inject({
      method: 'POST',
      url: '/webhooks/http-ping',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_log_1',
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      },
      payload: body,
    });
    assert.equal(response.statusCode, 202);
    const { instanceId } = JSON.parse(response.body);
    await app.inject({ method: 'GET', url: '/api/processes', headers: { authorization: 'Bearer not-the-token' } });

    const log = lines.join('');
    assert.ok(log.includes(instanceId), 'the start is logged with its instance id');
    for (const forbidden of [token, secret, secret.slice(6), signature.slice(3), 'not-the-token']) {
      assert.ok(!log.includes(forbidden), `log leaks ${forbidden.slice(0, 8)}…`);
    }
  } finally {
    await app.close();
    await engine.close();
  }
});

test('an unexpected failure answers 500 OPERON_ERR_INTERNAL without internals', async () => {
  const other = await createTestDatabase();
  const engine = createEngine({ db: other.knex });
  const app = await buildApp({ engine, db: other.knex, defaultMetrics: false });
  try {
    // A table disappears under the running app.
    await other.knex.raw('DROP TABLE process_definitions CASCADE');
    const broken = await app.inject({
      method: 'POST',
      url: '/webhooks/anything',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    assert.equal(broken.statusCode, 500);
    const { error } = JSON.parse(broken.body);
    assert.equal(error.code, 'OPERON_ERR_INTERNAL');
    assert.ok(!/process_definitions|relation/.test(error.message), error.message);
  } finally {
    await app.close();
    await engine.close();
    await other.drop();
  }
});

test('error mapping keeps OperonErrors and hides unknown ones', () => {
  const known = new OperonError('OPERON_ERR_LEASE_LOST');
  assert.equal(toOperonError(known), known);
  assert.equal(toOperonError(new Error('secret internals')).code, 'OPERON_ERR_INTERNAL');
  assert.equal(toOperonError(new Error('secret internals')).message, 'Internal error');
  assert.equal(
    toOperonError(Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })).code,
    'OPERON_ERR_PAYLOAD_TOO_LARGE',
  );
  assert.equal(
    toOperonError(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 })).code,
    'OPERON_ERR_UNSUPPORTED_MEDIA_TYPE',
  );
});
