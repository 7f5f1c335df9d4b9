/**
 * Given random JSON bodies (fast-check), raw strings and prototype-polluting keys, when they are
 * sent to the API's write routes, then every answer is a 2xx or a 4xx with `{ error: { code } }`:
 * never a 500, never a crash, and Object.prototype stays clean.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deployFixtures, startTestApi, type TestApi } from '../http/support/api.ts';

let api: TestApi;

before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-ping.bpmn');
  await api.app.inject({ method: 'PUT', url: '/api/processes/http-ping/webhook', headers: api.auth, payload: { open: true } });
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
  fc.constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"a":' + '['.repeat(5000), '\u0000', '{"name":"\ud800","correlationKey":"k"}'),
  fc.record({ name: fc.string(), correlationKey: fc.string(), variables: fc.jsonValue(), timeToLiveMs: fc.integer() }).map((value) => JSON.stringify(value)),
);

it('answers every random body with 2xx or a 4xx error document, never 500', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), body, async (route, payload) => {
      const response = await api.app.inject({ method: route.method, url: route.url, headers: { ...api.auth, 'content-type': 'application/json' }, payload });
      assert.ok(response.statusCode < 500, `${route.method} ${route.url} ${JSON.stringify(payload).slice(0, 120)} -> ${response.statusCode} ${response.body.slice(0, 200)}`);
      if (response.statusCode >= 400) assert.equal(typeof response.json().error.code, 'string');
    }),
    { numRuns: 100, seed: 6 },
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
