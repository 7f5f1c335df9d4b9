/**
 * Backpressure when PostgreSQL goes away for real: a private PostgreSQL (its own data directory and
 * port; the shared server is never touched) is shut down immediately under webhook load with
 * Idempotency-Keys, over real HTTP against a listening server. While it is down, webhooks and the
 * API answer 503 with Retry-After (never a 500, never a long wait); once it is back they answer 202
 * again by themselves, and every delivery that got a 2xx exists.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createKnex } from '../../engine/store/knex.ts';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';

interface Delivery {
  key: string;
  status: number;
  retryAfter: string | null;
  code?: string;
  instanceId?: string;
  ms: number;
}

/** The server is down on purpose: knex's console warnings about refused connections are expected noise. */
function quiet(knex: Knex): void {
  Object.assign((knex.client as { logger: object }).logger, { _warn: () => undefined, _error: () => undefined });
}

async function until<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, label: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('PostgreSQL down: webhooks and the API answer 503 + Retry-After at once; every 2xx delivery exists once it is back', { timeout: 240_000 }, async () => {
  let server: PrivatePostgres | undefined;
  let knex: Knex | undefined;
  let engine: PostgresEngine | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let sending = true;
  const senders: Promise<void>[] = [];
  try {
    server = await startPrivatePostgres();
    knex = createKnex(server.url, { poolMax: 10, applicationName: 'operon-test-backpressure' });
    quiet(knex);
    engine = createEngine({ db: knex });
    const token = `test_${randomBytes(16).toString('hex')}`;
    app = await buildApp({ engine, db: knex, apiToken: token, defaultMetrics: false });
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await engine.deploy([{ name: 'http-wait.bpmn', xml: readFileSync(new URL('../http/fixtures/http-wait.bpmn', import.meta.url), 'utf8') }]);
    const configured = await fetch(`${baseUrl}/api/processes/http-wait/webhook`, { method: 'PUT', headers: auth, body: JSON.stringify({ open: true }) });
    assert.equal(configured.status, 200);

    const deliveries: Delivery[] = [];
    let serial = 0;
    const deliver = async (): Promise<Delivery> => {
      const key = `delivery-${serial++}`;
      const startedAt = performance.now();
      const response = await fetch(`${baseUrl}/webhooks/http-wait`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ key }) });
      const body = (await response.json()) as { instanceId?: string; error?: { code: string } };
      const delivery = { key, status: response.status, retryAfter: response.headers.get('retry-after'), code: body.error?.code, instanceId: body.instanceId, ms: performance.now() - startedAt };
      deliveries.push(delivery);
      return delivery;
    };
    // Four senders, one delivery at a time each (a sender would retry a refused one with its key; here every refusal is counted instead).
    for (let n = 0; n < 4; n++) {
      senders.push((async () => {
        while (sending) {
          await deliver().catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })());
    }
    await until(() => (deliveries.filter((d) => d.status === 202).length >= 20 ? true : undefined), 60_000, '20 accepted deliveries');

    await server.crash();
    const outageFrom = deliveries.length;
    await until(() => (deliveries.slice(outageFrom).some((d) => d.status === 503) ? true : undefined), 60_000, 'a 503 while PostgreSQL is down');

    // Now it is known to be down: each request is refused at once, without waiting on the database.
    for (let n = 0; n < 5; n++) {
      const refused = await deliver();
      assert.equal(refused.status, 503, JSON.stringify(refused));
      assert.equal(refused.code, 'OPERON_ERR_DATABASE_UNAVAILABLE');
      assert.equal(refused.retryAfter, '1');
      assert.ok(refused.ms < 5_000, `answered after ${Math.round(refused.ms)} ms`);
    }
    for (const [method, path, body] of [['POST', '/api/messages', { name: 'm', correlationKey: 'k' }], ['GET', '/api/instances', undefined], ['POST', '/api/instances', { bpmnProcessId: 'http-wait' }]] as const) {
      const startedAt = performance.now();
      const response = await fetch(`${baseUrl}${path}`, { method, headers: auth, body: body ? JSON.stringify(body) : undefined });
      assert.equal(response.status, 503, `${method} ${path}`);
      assert.equal(response.headers.get('retry-after'), '1');
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'OPERON_ERR_DATABASE_UNAVAILABLE');
      assert.ok(performance.now() - startedAt < 5_000);
    }
    const health = await fetch(`${baseUrl}/healthz`);
    assert.equal(health.status, 503, '/healthz says the database is away');
    await health.arrayBuffer();

    await server.start();
    const backFrom = deliveries.length;
    await until(() => (deliveries.slice(backFrom).filter((d) => d.status === 202).length >= 10 ? true : undefined), 120_000, 'deliveries accepted again');
    sending = false;
    await Promise.all(senders);

    // Every answer was a 202 or a 503 with Retry-After: no 500, no other error.
    const others = deliveries.filter((d) => d.status !== 202 && !(d.status === 503 && d.retryAfter !== null));
    assert.deepEqual(others, [], 'only 202 and 503 + Retry-After');
    const accepted = deliveries.filter((d) => d.status === 202);
    const refused = deliveries.filter((d) => d.status === 503);
    const rows = await knex('process_instances').whereIn('id', accepted.map((d) => d.instanceId!)).select('id', 'variables');
    assert.equal(rows.length, accepted.length, 'every delivery that got a 202 has its instance');
    for (const row of rows) assert.equal(row.variables.key, accepted.find((d) => d.instanceId === row.id)!.key);
    const slowest503 = Math.max(...refused.map((d) => d.ms));
    console.log(`backpressure: ${JSON.stringify({ deliveries: deliveries.length, accepted: accepted.length, refused503: refused.length, slowest503Ms: Math.round(slowest503), codes: [...new Set(refused.map((d) => d.code))] })}`);
  } finally {
    sending = false;
    await Promise.allSettled(senders);
    await app?.close().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    await knex?.destroy().catch(() => undefined);
    await server?.destroy();
  }
});
