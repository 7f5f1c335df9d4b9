/**
 * Backpressure when PostgreSQL goes away for real, over real HTTP against a listening server with
 * webhook deliveries arriving all the time (each with its Idempotency-Key, about 20 a second):
 * - a private PostgreSQL (its own data directory and port; the shared server is never touched)
 *   shut down immediately and started again: connections are refused;
 * - a TCP proxy in front of the shared server goes silent and comes back: nothing is refused, the
 *   database just stops answering (a firewall drop, a partition).
 * While it is away, webhooks and the API answer 503 with Retry-After (never a 500), each request
 * sent after the outage was noticed within 5 s; once it is back they answer 202 by themselves, and
 * every delivery that got a 2xx has its instance.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { createEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createKnex } from '../../engine/store/knex.ts';
import { ADMIN_URL, createTestDatabase } from '../support/db.ts';
import { startPrivatePostgres } from './support/private-postgres.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';

interface Delivery {
  key: string;
  status: number;
  retryAfter: string | null;
  code?: string;
  instanceId?: string;
  ms: number;
}

/** The database is away on purpose: knex's console warnings about it are expected noise. */
function quiet(knex: Knex): void {
  Object.assign((knex.client as { logger: object }).logger, { _warn: () => undefined, _error: () => undefined });
}

async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  label: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Serves the API on `url`, sends deliveries without waiting for earlier answers, takes the database
 * away and brings it back; checks the answers and that every 202 has its instance (read through
 * `observer`, which the outage does not touch, or which is back by then).
 */
async function deliverThroughOutage(
  url: string,
  observer: () => Knex,
  outage: { takeAway(): Promise<void>; bringBack(): Promise<void> },
): Promise<Record<string, unknown>> {
  const knex = createKnex(url, { poolMax: 10, applicationName: 'operon-test-backpressure' });
  quiet(knex);
  const engine = createEngine({ db: knex });
  const token = `test_${randomBytes(16).toString('hex')}`;
  const app = await buildApp({ engine, db: knex, apiToken: token, defaultMetrics: false });
  const inFlight = new Set<Promise<unknown>>();
  let sender: NodeJS.Timeout | undefined;
  try {
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await engine.deploy([
      {
        name: 'http-wait.bpmn',
        xml: readFileSync(new URL('../http/fixtures/http-wait.bpmn', import.meta.url), 'utf8'),
      },
    ]);
    const configured = await fetch(`${baseUrl}/api/processes/http-wait/webhook`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ open: true }),
    });
    assert.equal(configured.status, 200);

    const deliveries: Delivery[] = [];
    let serial = 0;
    const deliver = async (): Promise<Delivery> => {
      const key = `delivery-${serial++}`;
      const startedAt = performance.now();
      const response = await fetch(`${baseUrl}/webhooks/http-wait`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ key }),
      });
      const body = (await response.json()) as { instanceId?: string; error?: { code: string } };
      const delivery = {
        key,
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        code: body.error?.code,
        instanceId: body.instanceId,
        ms: performance.now() - startedAt,
      };
      deliveries.push(delivery);
      return delivery;
    };
    // A sender does not wait for one delivery's answer before the next is due.
    sender = setInterval(() => {
      const delivery = deliver().catch((error: Error) =>
        deliveries.push({ key: 'failed', status: 0, retryAfter: null, code: error.message, ms: 0 }),
      );
      inFlight.add(delivery);
      void delivery.finally(() => inFlight.delete(delivery));
    }, 50);
    await until(
      () => (deliveries.filter((d) => d.status === 202).length >= 20 ? true : undefined),
      60_000,
      '20 accepted deliveries',
    );

    await outage.takeAway();
    const outageFrom = deliveries.length;
    await until(
      () => (deliveries.slice(outageFrom).some((d) => d.status === 503) ? true : undefined),
      60_000,
      'a 503 while the database is away',
    );

    // Now the outage is known: each request is refused at once, without waiting on the database.
    for (let n = 0; n < 5; n++) {
      const refused = await deliver();
      assert.equal(refused.status, 503, JSON.stringify(refused));
      assert.equal(refused.code, 'OPERON_ERR_DATABASE_UNAVAILABLE');
      assert.equal(refused.retryAfter, '1');
      assert.ok(refused.ms < 5_000, `answered after ${Math.round(refused.ms)} ms`);
    }
    for (const [method, path, body] of [
      ['POST', '/api/messages', { name: 'm', correlationKey: 'k' }],
      ['GET', '/api/instances', undefined],
      ['POST', '/api/instances', { bpmnProcessId: 'http-wait' }],
    ] as const) {
      const startedAt = performance.now();
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: auth,
        body: body ? JSON.stringify(body) : undefined,
      });
      assert.equal(response.status, 503, `${method} ${path}`);
      assert.equal(response.headers.get('retry-after'), '1');
      assert.equal(
        ((await response.json()) as { error: { code: string } }).error.code,
        'OPERON_ERR_DATABASE_UNAVAILABLE',
      );
      assert.ok(performance.now() - startedAt < 5_000);
    }

    await outage.bringBack();
    const backFrom = deliveries.length;
    await until(
      () => (deliveries.slice(backFrom).filter((d) => d.status === 202).length >= 10 ? true : undefined),
      120_000,
      'deliveries accepted again',
    );
    clearInterval(sender);
    await Promise.all(inFlight);

    // Every answer was a 202 or a 503 with Retry-After: no 500, no other error.
    const others = deliveries.filter((d) => d.status !== 202 && !(d.status === 503 && d.retryAfter !== null));
    assert.deepEqual(others, [], 'only 202 and 503 + Retry-After');
    const accepted = deliveries.filter((d) => d.status === 202);
    const refused = deliveries.filter((d) => d.status === 503);
    const rows = await observer()('process_instances')
      .whereIn(
        'id',
        accepted.map((d) => d.instanceId!),
      )
      .select('id', 'variables');
    assert.equal(rows.length, accepted.length, 'every delivery that got a 202 has its instance');
    for (const row of rows) assert.equal(row.variables.key, accepted.find((d) => d.instanceId === row.id)!.key);
    return {
      deliveries: deliveries.length,
      accepted: accepted.length,
      refused503: refused.length,
      slowest503Ms: Math.round(Math.max(...refused.map((d) => d.ms))),
      slowest202Ms: Math.round(Math.max(...accepted.map((d) => d.ms))),
      codes: [...new Set(refused.map((d) => d.code))],
    };
  } finally {
    clearInterval(sender);
    await Promise.allSettled(inFlight);
    await app.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    await knex.destroy().catch(() => undefined);
  }
}

it('PostgreSQL stopped (connections refused): 503 + Retry-After at once; every 2xx delivery exists once it is back', {
  timeout: 240_000,
}, async () => {
  const server = await startPrivatePostgres();
  const observer = createKnex(server.url, { poolMax: 2, applicationName: 'operon-test-observer' });
  quiet(observer);
  try {
    const result = await deliverThroughOutage(server.url, () => observer, {
      takeAway: () => server.crash(),
      bringBack: () => server.start(),
    });
    console.log(`backpressure, server stopped: ${JSON.stringify(result)}`);
  } finally {
    await observer.destroy();
    await server.destroy();
  }
});

it('the network to PostgreSQL goes silent (nothing refused): 503 + Retry-After once noticed; every 2xx delivery exists once it is back', {
  timeout: 240_000,
}, async () => {
  const db = await createTestDatabase({ poolMax: 2 });
  const admin = new URL(ADMIN_URL);
  const proxy = await startTcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  try {
    const result = await deliverThroughOutage(viaProxy.toString(), () => db.knex, {
      takeAway: async () => proxy.cut(),
      bringBack: async () => proxy.heal(),
    });
    console.log(`backpressure, network silent: ${JSON.stringify(result)}`);
  } finally {
    await proxy.close();
    await db.drop();
  }
});
