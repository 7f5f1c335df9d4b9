/**
 * Given small rate limits (OPERON_WEBHOOK_RATE / OPERON_API_RATE), when a client floods a process
 * webhook or the API with one token, then requests over the burst get 429 OPERON_ERR_RATE_LIMITED
 * with Retry-After, other webhooks and other tokens are not affected, and the bucket refills.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from '../../engine/http/rate-limit.ts';
import { deployFixtures, startTestApi, type TestApi } from '../http/support/api.ts';

// Refill rates so slow (one request per 100 s) that a loaded machine cannot refill a bucket mid-test.
const LIMITS = {
  OPERON_WEBHOOK_RATE: '0.01',
  OPERON_WEBHOOK_BURST: '5',
  OPERON_API_RATE: '0.01',
  OPERON_API_BURST: '10',
};
const saved: Record<string, string | undefined> = {};
let api: TestApi;

before(async () => {
  for (const [name, value] of Object.entries(LIMITS)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  api = await startTestApi();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await deployFixtures(api, 'http-ping.bpmn');
  const open = await api.app.inject({
    method: 'PUT',
    url: '/api/processes/http-ping/webhook',
    headers: api.auth,
    payload: { open: true },
  });
  assert.equal(open.statusCode, 200);
});

after(async () => api?.close());

it('answers 429 with Retry-After once a webhook has used its burst; other webhooks are not affected', async () => {
  const statuses: number[] = [];
  let limited: Awaited<ReturnType<TestApi['app']['inject']>> | undefined;
  for (let i = 0; i < 8; i++) {
    const response = await api.app.inject({ method: 'POST', url: '/webhooks/http-ping', payload: { n: i } });
    statuses.push(response.statusCode);
    if (response.statusCode === 429) limited ??= response;
  }
  assert.deepEqual(statuses.slice(0, 5), [202, 202, 202, 202, 202]);
  assert.ok(
    statuses.slice(5).every((s) => s === 429),
    statuses.join(','),
  );
  assert.ok(limited);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  const { error } = limited.json();
  assert.equal(error.code, 'OPERON_ERR_RATE_LIMITED');
  assert.equal(error.details.scope, 'webhook');
  // Another process's webhook has its own bucket (401: no webhook configured, but not limited).
  assert.equal((await api.app.inject({ method: 'POST', url: '/webhooks/other', payload: {} })).statusCode, 401);
  // Only the 202s started instances.
  const count = await api.db.knex('process_instances').count<{ count: string }[]>('* as count');
  assert.equal(Number(count[0]!.count), 5);
});

it('limits the API per token: a flood with one token does not lock out another', async () => {
  let first429 = -1;
  for (let i = 0; i < 15 && first429 < 0; i++) {
    const response = await api.app.inject({
      method: 'GET',
      url: '/api/processes',
      headers: { authorization: 'Bearer flood-token' },
    });
    if (response.statusCode === 429) {
      first429 = i;
      assert.ok(Number(response.headers['retry-after']) >= 1);
      assert.equal(response.json().error.code, 'OPERON_ERR_RATE_LIMITED');
    } else assert.equal(response.statusCode, 401);
  }
  assert.equal(first429, 10, `first 429 at request ${first429}`);
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/processes', headers: api.auth })).statusCode, 200);
  assert.equal(
    (await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode,
    200,
    'health checks are never limited',
  );
});

it('refills the bucket at the configured rate (token bucket arithmetic on a manual clock)', () => {
  let now = 0;
  const buckets = new TokenBuckets(() => now);
  const limit = { perSecond: 2, burst: 3 };
  assert.deepEqual(
    [0, 1, 2].map(() => buckets.take('k', limit)),
    [0, 0, 0],
  );
  assert.equal(buckets.take('k', limit), 1);
  now = 400;
  assert.equal(buckets.take('k', limit), 1, '0.8 tokens are not enough');
  now = 500;
  assert.equal(buckets.take('k', limit), 0, 'one token after 0.5 s at 2/s');
  assert.equal(buckets.take('other', limit), 0, 'another key has its own bucket');
  now = 60_000;
  assert.deepEqual(
    [0, 1, 2, 3].map(() => buckets.take('k', limit)),
    [0, 0, 0, 1],
    'never more than the burst',
  );
});
