/**
 * Given random JSON bodies (fast-check), raw strings and prototype-polluting keys, when they are
 * sent to the API's write routes, then every answer is a 2xx or a 4xx with `{ error: { code } }`:
 * never a 500, never a crash, and Object.prototype stays clean. The second test walks every
 * operation in the app's own OpenAPI document (so a new route is fuzzed without editing this file)
 * with path parameters, query strings, headers and bodies drawn from the schemas that validate them,
 * mutated into near-misses and junk.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deployFixtures, startTestApi, type TestApi } from '../http/support/api.ts';
import { operationsOf, requestFor, type Operation } from './support/openapi-arbitraries.ts';

let api: TestApi;
/** Ids that exist, so some requests reach past the not-found checks. */
const known: string[] = [];

before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-ping.bpmn');
  await api.app.inject({
    method: 'PUT',
    url: '/api/processes/http-ping/webhook',
    headers: api.auth,
    payload: { open: true },
  });
  known.push((await api.engine.startInstance('http-ping', { n: 1 })).instanceId, 'http-ping');
  const definitions = await api.db.knex('process_definitions').select('id');
  known.push(...definitions.map((row) => row.id as string));
});
after(async () => api?.close());

const ROUTES: { method: 'POST' | 'PUT'; url: string }[] = [
  { method: 'POST', url: '/api/messages' },
  { method: 'POST', url: '/webhooks/http-ping' },
  { method: 'POST', url: '/api/jobs/activate' },
  { method: 'POST', url: '/api/tasks/00000000-0000-0000-0000-000000000000/complete' },
  { method: 'POST', url: '/api/incidents/not-a-uuid/resolve' },
  { method: 'PUT', url: '/api/processes/http-ping/webhook' },
];

const body = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string(),
  fc.constantFrom(
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    `{"a":${'['.repeat(5000)}`,
    '\u0000',
    '{"name":"\ud800","correlationKey":"k"}',
  ),
  fc
    .record({ name: fc.string(), correlationKey: fc.string(), variables: fc.jsonValue(), timeToLiveMs: fc.integer() })
    .map((value) => JSON.stringify(value)),
);

it('answers every random body with 2xx or a 4xx error document, never 500', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), body, async (route, payload) => {
      const response = await api.app.inject({
        method: route.method,
        url: route.url,
        headers: { ...api.auth, 'content-type': 'application/json' },
        payload,
      });
      assert.ok(
        response.statusCode < 500,
        `${route.method} ${route.url} ${JSON.stringify(payload).slice(0, 120)} -> ${response.statusCode} ${response.body.slice(0, 200)}`,
      );
      if (response.statusCode >= 400) assert.equal(typeof response.json().error.code, 'string');
    }),
    { numRuns: 100, seed: 6 },
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

it('answers every operation of the OpenAPI document, with schema-shaped and mutated requests, with 2xx/3xx or a 4xx error document', async () => {
  const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const operations: Operation[] = operationsOf(document);
  assert.ok(operations.length >= 30, `the document lists the routes (${operations.length})`);
  const seen: string[] = [];
  for (const operation of operations) {
    await fc.assert(
      fc.asyncProperty(requestFor(operation, document, known), async (request) => {
        const response = await api.app.inject({
          method: operation.method,
          url: request.url,
          headers: { ...api.auth, ...request.headers },
          payload: request.payload,
        });
        const where = `${operation.method} ${request.url} ${JSON.stringify(request.headers)} ${String(request.payload ?? '').slice(0, 160)}`;
        assert.ok(response.statusCode < 500, `${where} -> ${response.statusCode} ${response.body.slice(0, 300)}`);
        if (response.statusCode >= 400)
          assert.equal(
            typeof response.json().error?.code,
            'string',
            `${where} -> ${response.statusCode} without an error code`,
          );
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 25), seed: Number(process.env.FUZZ_SEED ?? 6) },
    );
    seen.push(`${operation.method} ${operation.path}`);
  }
  assert.equal(seen.length, operations.length);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
