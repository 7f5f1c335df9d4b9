/**
 * Backpressure on the start queue, over real HTTP (app.listen on 127.0.0.1, fetch): while more
 * starts wait for their batch than OPERON_START_QUEUE_LIMIT allows, webhooks and POST /api/instances
 * answer 503 OPERON_ERR_OVERLOADED with Retry-After at once, and every start that was taken on
 * commits once the database can write again. The database is held up for real: a transaction
 * holding `LOCK TABLE process_instances` blocks the batch that is committing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture } from './support/api.ts';

const LIMIT = 5;
let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let baseUrl: string;
let auth: Record<string, string>;

before(async () => {
  db = await createTestDatabase({ poolMax: 10 });
  engine = createEngine({ db: db.knex, startQueueLimit: LIMIT });
  const token = `test_${randomBytes(16).toString('hex')}`;
  auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  app = await buildApp({ engine, db: db.knex, apiToken: token, defaultMetrics: false });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  await engine.deploy([{ name: 'http-wait.bpmn', xml: fixture('http-wait.bpmn') }]);
  assert.equal(
    (
      await fetch(`${baseUrl}/api/processes/http-wait/webhook`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ open: true }),
      })
    ).status,
    200,
  );
});
after(async () => {
  await app?.close();
  await engine?.close();
  await db?.drop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { instanceId?: string; error?: { code: string; details: Record<string, unknown> } };
}

async function webhook(n: number): Promise<Answer> {
  const response = await fetch(`${baseUrl}/webhooks/http-wait`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `queued-${n}` },
    body: JSON.stringify({ n }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Answer['body'],
  };
}

test(`more than ${LIMIT} starts waiting: 503 OPERON_ERR_OVERLOADED + Retry-After while the batch is held up; the accepted ones all commit`, {
  timeout: 120_000,
}, async () => {
  assert.equal((await webhook(-1)).status, 202, 'warm: the webhook target is cached');
  const blocker = new pg.Client({ connectionString: db.url });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE process_instances IN ACCESS EXCLUSIVE MODE');
    const answers: Answer[] = [];
    const pending = Array.from({ length: 30 }, (_, n) => webhook(n).then((answer) => (answers.push(answer), answer)));
    // The refusals come back while the batch is still held up: they did not wait for the database.
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 60_000;
      const poll = setInterval(() => {
        if (answers.filter((a) => a.status === 503).length >= 10) resolve();
        else if (Date.now() > deadline) reject(new Error(`only ${answers.length} answers while the lock is held`));
        else return;
        clearInterval(poll);
      }, 25);
    });
    assert.ok(
      answers.every((a) => a.status === 503),
      'nothing committed while the table is locked',
    );
    const instance = await fetch(`${baseUrl}/api/instances`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ bpmnProcessId: 'http-wait' }),
    });
    assert.equal(instance.status, 503);
    assert.equal(instance.headers.get('retry-after'), '1');
    await instance.arrayBuffer();
    await blocker.query('COMMIT');

    const all = await Promise.all(pending);
    for (const answer of all) {
      if (answer.status === 202) continue;
      assert.equal(answer.status, 503, JSON.stringify(answer));
      assert.equal(answer.body.error!.code, 'OPERON_ERR_OVERLOADED');
      assert.equal(answer.body.error!.details.limit, LIMIT);
      assert.equal(answer.retryAfter, '1');
    }
    const accepted = all.filter((a) => a.status === 202);
    assert.ok(accepted.length >= 1 && accepted.length <= 30 - 10, `${accepted.length} accepted`);
    const rows = await db.knex('process_instances').whereIn(
      'id',
      accepted.map((a) => a.body.instanceId!),
    );
    assert.equal(rows.length, accepted.length, 'every accepted start committed');
    // A refused delivery left no Idempotency-Key behind: its retry is accepted now.
    const refusedIndex = all.findIndex((a) => a.status === 503);
    assert.equal((await webhook(refusedIndex)).status, 202);
  } finally {
    await blocker.end().catch(() => undefined);
  }
});
