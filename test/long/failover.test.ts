/**
 * Failover (issue 17, item 6): a primary with a synchronous streaming standby
 * (test/reliability/support/replicated-postgres.ts), the real API server (`operon serve`, its own
 * process) and a worker process, both given the multi-host connection string. Webhook deliveries
 * with an Idempotency-Key arrive at a steady rate, each sent like a real sender does it: until it
 * gets a 2xx, with backoff. A third of the way in the primary is shut down immediately; once the
 * server has answered a 503 the standby is promoted. The same server and worker processes carry on.
 * Then, from the promoted standby's rows: every delivery was accepted, one instance per key, the
 * key row names the instance the 2xx answered with (a 2xx from before the failover is on the
 * standby: `synchronous_standby_names`), and every instance completed exactly once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import type { Knex } from 'knex';
import { createKnex } from '../../engine/store/knex.ts';
import { waitFor } from '../engine/support/harness.ts';
import { assertEachCompletedOnce } from '../reliability/support/exactly-once.ts';
import { startReplicatedPostgres } from '../reliability/support/replicated-postgres.ts';
import { spawnWorker, stopWorker } from '../reliability/support/spawn.ts';
import { freePort, startOperonServer, type OperonServer } from '../support/operon-server.ts';

const BPMN = readFileSync(fileURLToPath(new URL('../engine/fixtures/work-fork-join.bpmn', import.meta.url)), 'utf8');
const PROCESS = 'work-fork-join';
const TOKEN = 'failover-token';
const DELIVERIES = 600;
const PER_SECOND = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The primary is down on purpose: knex's console warnings about refused connections are expected noise. */
function quiet(knex: Knex): Knex {
  Object.assign((knex.client as { logger: object }).logger, { _warn: () => undefined, _error: () => undefined });
  return knex;
}

it('a synchronous standby promoted under webhook load: the same server and worker carry on, every 2xx kept, every delivery completes exactly once', {
  timeout: 900_000,
}, async () => {
  const startedAt = performance.now();
  const pg = await startReplicatedPostgres();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server: OperonServer | undefined;
  let worker: ChildProcess | undefined;
  let knex: Knex | undefined;
  const outcomes: Record<string, number> = {};
  const count = (kind: string) => (outcomes[kind] = (outcomes[kind] ?? 0) + 1);
  try {
    server = await startOperonServer(pg.url, port, TOKEN);
    const pid = server.child.pid;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const deployed = await fetch(`${base}/api/deployments`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/xml' },
      body: BPMN,
    });
    assert.equal(deployed.status, 201, await deployed.text());
    const configured = await fetch(`${base}/api/processes/${PROCESS}/webhook`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"open":true}',
    });
    assert.equal(configured.status, 200, await configured.text());
    worker = await spawnWorker(pg.url, 'failover-worker', { WORK_MS: '5', LOCK_MS: '3000', POLL_MS: '200' });
    const workerPid = worker.pid;

    // ---- the senders: one loop per delivery, retrying until a 2xx ----
    const accepted = new Map<number, { instanceId: string; tries: number; sentAt: number; at: number }>();
    let requests = 0;
    let inFlight = 0;
    let crashedAt: number | undefined;
    let first503AfterCrash: (() => void) | undefined;
    const saw503 = new Promise<void>((resolve) => (first503AfterCrash = resolve));
    let retryAfterMissing = 0;
    const deliver = async (n: number): Promise<void> => {
      const body = JSON.stringify({ delivery: n });
      for (let tries = 1; ; tries++) {
        requests++;
        inFlight++;
        const sentAt = performance.now();
        try {
          const response = await fetch(`${base}/webhooks/${PROCESS}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': `delivery-${n}` },
            body,
            signal: AbortSignal.timeout(30_000),
          });
          const text = await response.text();
          count(String(response.status));
          if (response.status === 503) {
            if (!response.headers.get('retry-after')) retryAfterMissing++;
            if (crashedAt !== undefined) first503AfterCrash!();
          }
          if (response.status >= 200 && response.status < 300) {
            accepted.set(n, {
              instanceId: (JSON.parse(text) as { instanceId: string }).instanceId,
              tries,
              sentAt,
              at: performance.now(),
            });
            return;
          }
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause;
          count(cause?.code ?? (error as Error).name);
        } finally {
          inFlight--;
        }
        if (tries >= 200) return;
        // Exponential backoff with jitter, as webhook senders do: 50 ms doubling up to 2 s.
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(tries, 6)) * (0.5 + Math.random()));
      }
    };

    // ---- the failover, a third of the way in, with requests on their way ----
    let sendersDone = false;
    let promotedAt: number | undefined;
    const failover = (async () => {
      while (accepted.size < DELIVERIES / 3 && !sendersDone) await sleep(5);
      for (let waited = 0; inFlight < 4 && waited < 3_000; waited += 5) await sleep(5);
      await pg.crashPrimary();
      // Once pg_ctl has seen the postmaster gone: every later try needs the promoted standby.
      crashedAt = performance.now();
      // A real failover takes a while to decide; here: once callers are being told 503 (or 30 s).
      await Promise.race([saw503, sleep(30_000)]);
      await pg.promoteStandby();
      promotedAt = performance.now();
    })();
    const senders: Promise<void>[] = [];
    for (let n = 0; n < DELIVERIES; n++) {
      senders.push(deliver(n));
      await sleep(1_000 / PER_SECOND);
    }
    await Promise.all(senders);
    sendersDone = true;
    await failover;

    // ---- what the senders saw ----
    const missing = Array.from({ length: DELIVERIES }, (_, n) => n).filter((n) => !accepted.has(n));
    assert.deepEqual(
      missing.slice(0, 20),
      [],
      `${missing.length} deliveries never got a 2xx (outcomes ${JSON.stringify(outcomes)}; server: ${server.stderr()})`,
    );
    assert.ok(crashedAt !== undefined && promotedAt !== undefined, 'the failover happened');
    assert.equal(retryAfterMissing, 0, 'every 503 carried Retry-After');
    assert.equal(outcomes['500'] ?? 0, 0, 'no 500 during the switch');
    assert.equal(server.child.pid, pid);
    assert.equal(server.child.exitCode, null, 'the same API server process carried on');
    assert.equal(worker.exitCode, null, 'the same worker process carried on');
    assert.equal(worker.pid, workerPid);

    // ---- what the promoted standby holds ----
    knex = quiet(createKnex(pg.url, { poolMax: 2, applicationName: 'operon-test-observer' }));
    const [{ recovery }] = (await knex.raw('SELECT pg_is_in_recovery() AS recovery')).rows as { recovery: boolean }[];
    assert.equal(recovery, false);
    const instances = (await knex('process_instances')
      .where({ bpmn_process_id: PROCESS })
      .select('id', knex.raw(`(variables->>'delivery')::int AS delivery`))) as { id: string; delivery: number }[];
    const byDelivery = new Map<number, string[]>();
    for (const row of instances) byDelivery.set(row.delivery, [...(byDelivery.get(row.delivery) ?? []), row.id]);
    assert.deepEqual(
      [...byDelivery].filter(([, ids]) => ids.length !== 1).slice(0, 10),
      [],
      'exactly one instance per key',
    );
    assert.equal(instances.length, DELIVERIES);
    const keys = (await knex('idempotency_keys')
      .where({ scope: `webhook:${PROCESS}` })
      .select('key', 'state', 'instance_id')) as { key: string; state: string; instance_id: string }[];
    assert.deepEqual(keys.filter((row) => row.state !== 'completed').slice(0, 10), [], 'no key left in_flight');
    assert.equal(keys.length, DELIVERIES);
    for (const row of keys) {
      const n = Number(row.key.slice('delivery-'.length));
      assert.equal(row.instance_id, byDelivery.get(n)?.[0], `key ${row.key} names its instance`);
      // A 2xx answered before the primary went down names an instance the standby has.
      assert.equal(accepted.get(n)?.instanceId, row.instance_id, `delivery ${n} was answered with its instance`);
    }
    const ids = instances.map((row) => row.id);
    await waitFor(
      async () => {
        const [row] = await knex!('process_instances')
          .whereIn('id', ids)
          .where({ state: 'completed' })
          .count<{ count: string }[]>('* as count');
        return Number(row!.count) === ids.length;
      },
      600_000,
      'every instance to complete on the promoted standby',
    );
    await assertEachCompletedOnce(knex, ids);

    const acceptedBefore = [...accepted.values()].filter((a) => a.at < crashedAt!).length;
    // Recovery: the first 2xx to a try sent after the crash (an answer to a try sent before it may
    // still arrive a moment later: its commit was done).
    const firstAfter = Math.min(...[...accepted.values()].filter((a) => a.sentAt > crashedAt!).map((a) => a.at));
    console.log(
      `failover: ${JSON.stringify({
        deliveries: DELIVERIES,
        acceptedBeforeCrash: acceptedBefore,
        requests,
        outcomes,
        maxTries: Math.max(...[...accepted.values()].map((a) => a.tries)),
        crashToPromotedMs: Math.round(promotedAt! - crashedAt!),
        crashToFirst2xxMs: Math.round(firstAfter - crashedAt!),
        promotedToFirst2xxMs: Math.round(firstAfter - promotedAt!),
        seconds: Math.round((performance.now() - startedAt) / 1000),
      })}`,
    );
  } finally {
    if (server) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    if (worker) await stopWorker(worker, 'SIGKILL');
    await knex?.destroy();
    await pg.destroy();
  }
});
