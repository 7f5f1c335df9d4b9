/**
 * The webhook route's cached lookup (engine/http/webhook-targets.ts) across two engine processes on
 * one database: the second keeps what it read, and drops it when the database's trigger says the
 * secret, the configuration or the deployed version changed, whoever changed it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { generateWebhookSecret, signWebhook } from '../../engine/http/signature.ts';
import { WebhookTargets } from '../../engine/http/webhook-targets.ts';
import { Notifications } from '../../engine/jobs/notifications.ts';
import { CHANNELS } from '../../engine/store/notify.ts';
import { createKnex } from '../../engine/store/knex.ts';
import { fixture, startTestApi, type TestApi } from './support/api.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent } as never;

/** A second engine process: its own pool, engine, LISTEN connection and app; counts its webhook lookups. */
interface Peer {
  knex: Knex;
  engine: PostgresEngine;
  app: FastifyInstance;
  lookups(): number;
  close(): Promise<void>;
}

async function startPeer(url: string, notificationsOf?: (knex: Knex) => Notifications): Promise<Peer> {
  const knex = createKnex(url, { poolMax: 4, applicationName: 'operon-test-peer' });
  let lookups = 0;
  knex.on('query', (query: { sql: string }) => {
    if (query.sql.includes('webhook_configs')) lookups++;
  });
  const engine = createEngine({ db: knex });
  const notifications = notificationsOf?.(knex) ?? engine.notifications;
  const app = await buildApp({ engine, db: knex, defaultMetrics: false, notifications });
  return {
    knex,
    engine,
    app,
    lookups: () => lookups,
    async close() {
      await app.close();
      await engine.close();
      await knex.destroy();
    },
  };
}

function signed(secret: string, body: string) {
  const id = `msg_${randomBytes(8).toString('hex')}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}

function post(
  app: FastifyInstance,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  body = '{}',
) {
  return app.inject({ method: 'POST', url: '/webhooks/http-ping', headers, payload: body });
}

/** Polls `check` until it holds (a notification travels between processes), failing after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once every notification committed before now has reached `notifications`: they arrive in
 * commit order, so hearing a marker sent now means the earlier ones (a deployment's, a PUT's) were
 * handled and cannot drop an entry read afterwards. Needs the LISTEN in place.
 */
async function drained(db: Knex, notifications: Notifications): Promise<void> {
  await eventually(async () => notifications.listening(CHANNELS.webhookTargets) !== undefined);
  const marker = `marker-${randomBytes(6).toString('hex')}`;
  const heard = new Promise<void>((resolve) => {
    const off = notifications.on(
      (_channel, payload) => {
        if (payload !== marker) return;
        off();
        resolve();
      },
      [CHANNELS.webhookTargets],
    );
  });
  await db.raw('SELECT pg_notify(?, ?)', [CHANNELS.webhookTargets, marker]);
  await heard;
}

/** Until the peer's LISTEN is in place nothing is kept: wait for it and for earlier changes to be heard, then fill the cache. */
async function warm(peer: Peer, headers?: Record<string, string>, body?: string): Promise<void> {
  await drained(peer.knex, peer.engine.notifications);
  assert.equal((await post(peer.app, headers, body)).statusCode, 202);
}

describe('cached webhook targets across engine processes', () => {
  let api: TestApi;
  let peer: Peer;
  const oldSecret = generateWebhookSecret();
  const newSecret = generateWebhookSecret();

  before(async () => {
    api = await startTestApi();
    await api.engine.deploy([{ name: 'http-ping.bpmn', xml: fixture('http-ping.bpmn') }]);
    peer = await startPeer(api.db.url);
  });
  after(async () => {
    await peer?.close();
    await api?.close();
  });

  test('a process keeps what it read: repeated webhooks make no lookup', async () => {
    assert.equal(
      (
        await api.app.inject({
          method: 'PUT',
          url: '/api/processes/http-ping/webhook',
          headers: api.auth,
          payload: { secret: oldSecret },
        })
      ).statusCode,
      200,
    );
    await warm(peer, signed(oldSecret, '{"n":1}'), '{"n":1}');
    const before = peer.lookups();
    for (let i = 0; i < 5; i++)
      assert.equal((await post(peer.app, signed(oldSecret, `{"n":${i}}`), `{"n":${i}}`)).statusCode, 202);
    assert.equal(peer.lookups(), before, 'served from the cache');
  });

  test('a secret rotated in another process stops working here once the notification arrives', async () => {
    assert.equal(
      (
        await api.app.inject({
          method: 'PUT',
          url: '/api/processes/http-ping/webhook',
          headers: api.auth,
          payload: { secret: newSecret },
        })
      ).statusCode,
      200,
    );
    await eventually(async () => (await post(peer.app, signed(oldSecret, '{}'))).statusCode === 401);
    const refused = await post(peer.app, signed(oldSecret, '{}'));
    assert.equal(refused.statusCode, 401);
    assert.equal(JSON.parse(refused.body).error.code, 'OPERON_ERR_BAD_SIGNATURE');
    assert.equal((await post(peer.app, signed(newSecret, '{}'))).statusCode, 202);
  });

  test('a change made by hand in SQL is heard too', async () => {
    await warm(peer, signed(newSecret, '{}'));
    await api.db.knex('webhook_configs').where({ bpmn_process_id: 'http-ping' }).update({ open: true, secrets: [] });
    await eventually(async () => (await post(peer.app)).statusCode === 202);
    await api.db.knex('webhook_configs').where({ bpmn_process_id: 'http-ping' }).delete();
    await eventually(async () => (await post(peer.app)).statusCode === 401);
    assert.equal(JSON.parse((await post(peer.app)).body).error.code, 'OPERON_ERR_WEBHOOK_NOT_CONFIGURED');
  });

  test('a version deployed by another process is the one its webhooks start', async () => {
    assert.equal(
      (
        await api.app.inject({
          method: 'PUT',
          url: '/api/processes/http-ping/webhook',
          headers: api.auth,
          payload: { open: true },
        })
      ).statusCode,
      200,
    );
    await eventually(async () => (await post(peer.app)).statusCode === 202);
    const { processes } = await api.engine.deploy([
      { name: 'http-ping.bpmn', xml: `${fixture('http-ping.bpmn')}\n<!-- v2 -->\n` },
    ]);
    const newest = processes.find((p) => p.bpmnProcessId === 'http-ping')!;
    await eventually(async () => {
      const response = await post(peer.app);
      const row = await api.db
        .knex('process_instances')
        .where({ id: JSON.parse(response.body).instanceId })
        .first('version');
      return row?.version === newest.version;
    });
  });
});

describe('without its LISTEN connection', () => {
  let api: TestApi;
  let peer: Peer;
  let notifications: Notifications;

  before(async () => {
    api = await startTestApi();
    await api.engine.deploy([{ name: 'http-ping.bpmn', xml: fixture('http-ping.bpmn') }]);
    await api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-ping/webhook',
      headers: api.auth,
      payload: { open: true },
    });
    peer = await startPeer(api.db.url, (knex) => (notifications = new Notifications(knex, silent)));
  });
  after(async () => {
    await peer?.close();
    await api?.close();
  });

  test('a process reads the configuration for every request, and a lost connection forgets what was kept', async () => {
    await drained(peer.knex, notifications);
    assert.equal((await post(peer.app)).statusCode, 202);
    const kept = peer.lookups();
    assert.equal((await post(peer.app)).statusCode, 202);
    assert.equal(peer.lookups(), kept, 'kept while listening');

    await notifications.close();
    assert.equal(notifications.listening(CHANNELS.webhookTargets), undefined);
    // No notification can reach this process now: a change must be seen by the very next request.
    await api.db.knex('webhook_configs').where({ bpmn_process_id: 'http-ping' }).delete();
    assert.equal((await post(peer.app)).statusCode, 401);
    const before = peer.lookups();
    await post(peer.app);
    await post(peer.app);
    assert.equal(peer.lookups(), before + 2, 'one lookup per request');
  });
});

describe('WebhookTargets', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
    await api.engine.deploy([{ name: 'http-ping.bpmn', xml: fixture('http-ping.bpmn') }]);
  });
  after(async () => {
    await api?.close();
  });

  test('a read that overlapped an invalidation is used but not kept; unknown processes are never kept', async () => {
    let lookups = 0;
    const count = (query: { sql: string }) => {
      if (query.sql.includes('webhook_configs')) lookups++;
    };
    api.db.knex.on('query', count);
    const targets = new WebhookTargets(api.db.knex, api.engine.notifications);
    try {
      await drained(api.db.knex, api.engine.notifications);
      const reading = targets.get('http-ping');
      targets.forget('http-ping');
      assert.ok((await reading).latest, 'the overlapping read is still answered');
      await targets.get('http-ping');
      assert.equal(lookups, 2, 'the overlapping read was not kept');
      await targets.get('http-ping');
      assert.equal(lookups, 2, 'the second read was');
      assert.equal((await targets.get('no-such-process')).latest, undefined);
      await targets.get('no-such-process');
      assert.equal(lookups, 4, 'unknown ids are read every time');
    } finally {
      targets.close();
      api.db.knex.off('query', count);
    }
  });
});
