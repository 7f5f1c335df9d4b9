/**
 * Shared body of the API-server kill tests (issue 17, item 7): the real server (`operon serve`, its
 * own process) takes webhook deliveries with an Idempotency-Key over real HTTP, and is SIGKILLed
 * `kills` times mid-load and started again on the same port. Each delivery is sent like a real
 * sender does it: until it gets a 2xx, with exponential backoff (connection refused, a reset
 * socket, any 4xx/5xx). Then, from the rows: every delivery was accepted, exactly one instance per
 * key, the key row names that instance (the one the 2xx answered with), and no key is left
 * `in_flight`. With `workerKills`, a worker process runs the instances and is SIGKILLed too, and
 * every instance must complete exactly once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../support/db.ts';
import { waitFor } from '../engine/support/harness.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';
import { freePort, startOperonServer } from '../support/operon-server.ts';

const BPMN = readFileSync(fileURLToPath(new URL('../engine/fixtures/work-fork-join.bpmn', import.meta.url)), 'utf8');
const PROCESS = 'work-fork-join';
const TOKEN = 'api-kill-token';

export interface ApiKillOptions {
  deliveries: number;
  /** SIGKILLs of the API server, spread over the deliveries. */
  kills: number;
  /** New deliveries per second (retries come on top). */
  perSecond: number;
  /** SIGKILLs of the worker process; 0: no worker runs, instances stay at their first jobs. */
  workerKills?: number;
  /** How long, after the last delivery was first sent, every delivery has to be accepted. */
  acceptWithinMs?: number;
}

export interface ApiKillResult {
  deliveries: number;
  kills: number;
  workerKills: number;
  /** Requests sent in all, first tries and retries. */
  requests: number;
  /** Answers and failures by kind: HTTP status, or the error code of a request that got no answer. */
  outcomes: Record<string, number>;
  /** Deliveries whose accepted answer was a replay: an earlier try committed, its answer was lost. */
  replayed: number;
  /** Most tries one delivery needed. */
  maxTries: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function killApiServerUnderWebhookLoad(options: ApiKillOptions): Promise<ApiKillResult> {
  const { deliveries, kills, perSecond } = options;
  const workerKills = options.workerKills ?? 0;
  const startedAt = performance.now();
  const db = await createTestDatabase({ poolMax: 3 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server = await startOperonServer(db.url, port, TOKEN);
  let worker: ChildProcess | undefined;
  const outcomes: Record<string, number> = {};
  const count = (kind: string) => (outcomes[kind] = (outcomes[kind] ?? 0) + 1);
  try {
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
    if (workerKills > 0) worker = await spawnWorker(db.url, 'api-kill-worker-0', { WORK_MS: '5' });

    // ---- the senders: one loop per delivery, retrying until a 2xx ----
    const accepted = new Map<number, { instanceId: string; replayed: boolean; tries: number }>();
    let requests = 0;
    let inFlight = 0;
    let sent = 0;
    let lastFirstSendAt = Date.now();
    const deliver = async (n: number): Promise<void> => {
      const body = JSON.stringify({ delivery: n });
      for (let tries = 1; ; tries++) {
        requests++;
        inFlight++;
        try {
          const response = await fetch(`${base}/webhooks/${PROCESS}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': `delivery-${n}` },
            body,
            signal: AbortSignal.timeout(30_000),
          });
          const text = await response.text();
          count(String(response.status));
          if (response.status >= 200 && response.status < 300) {
            accepted.set(n, {
              instanceId: (JSON.parse(text) as { instanceId: string }).instanceId,
              replayed: response.headers.get('idempotent-replayed') === 'true',
              tries,
            });
            return;
          }
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause;
          count(cause?.code ?? (error as Error).name);
        } finally {
          inFlight--;
        }
        if (Date.now() - lastFirstSendAt > (options.acceptWithinMs ?? 90_000) && sent === deliveries) return;
        // Exponential backoff with jitter, as webhook senders do: 50 ms doubling up to 2 s.
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(tries, 6)) * (0.5 + Math.random()));
      }
    };

    // ---- the load, and the kills spread over it ----
    // A kill comes once a share of the deliveries was accepted, so the server is taking load (the
    // retries of the last outage arrive in a burst).
    let sendersDone = false;
    const killer = (async () => {
      const steps = kills + workerKills;
      for (let k = 0, serverKilled = 0, workerKilled = 0; k < steps; k++) {
        const threshold = Math.floor(((k + 1) * deliveries) / (steps + 1));
        while (accepted.size < threshold && !sendersDone) await sleep(5);
        if (sendersDone) return;
        // Best with many requests on their way (up to 3 s for that): some are between their
        // start's transaction and its answer, which a kill must not turn into a lost delivery.
        for (let waited = 0; inFlight < 8 && waited < 3_000 && !sendersDone; waited += 5) await sleep(5);
        // Server and worker kills alternate while both have some left.
        const killTheWorker = workerKilled < workerKills && (serverKilled >= kills || k % 2 === 1);
        if (killTheWorker) {
          worker!.kill('SIGKILL');
          await new Promise((resolve) =>
            worker!.exitCode !== null || worker!.signalCode !== null
              ? resolve(undefined)
              : worker!.once('exit', resolve),
          );
          worker = await spawnWorker(db.url, `api-kill-worker-${++workerKilled}`, { WORK_MS: '5' });
        } else {
          server.child.kill('SIGKILL');
          await server.exited;
          serverKilled++;
          server = await startOperonServer(db.url, port, TOKEN);
        }
      }
    })();
    const senders: Promise<void>[] = [];
    for (let n = 0; n < deliveries; n++) {
      senders.push(deliver(n));
      sent++;
      lastFirstSendAt = Date.now();
      await sleep(1_000 / perSecond);
    }
    await Promise.all(senders);
    sendersDone = true;
    await killer;

    // ---- what the sender saw ----
    const missing = Array.from({ length: deliveries }, (_, n) => n).filter((n) => !accepted.has(n));
    assert.deepEqual(
      missing.slice(0, 20),
      [],
      `${missing.length} deliveries never got a 2xx (outcomes ${JSON.stringify(outcomes)})`,
    );
    assert.equal(outcomes['409'] ?? 0, 0, 'no retry was told its key is still in flight');

    // ---- what the database holds ----
    const instances = (await db
      .knex('process_instances')
      .where({ bpmn_process_id: PROCESS })
      .select('id', db.knex.raw(`(variables->>'delivery')::int AS delivery`))) as { id: string; delivery: number }[];
    const byDelivery = new Map<number, string[]>();
    for (const row of instances) byDelivery.set(row.delivery, [...(byDelivery.get(row.delivery) ?? []), row.id]);
    const duplicated = [...byDelivery].filter(([, ids]) => ids.length !== 1);
    assert.deepEqual(duplicated.slice(0, 10), [], 'exactly one instance per key');
    assert.equal(instances.length, deliveries);
    const keys = (await db
      .knex('idempotency_keys')
      .where({ scope: `webhook:${PROCESS}` })
      .select('key', 'state', 'instance_id', 'status_code')) as {
      key: string;
      state: string;
      instance_id: string;
      status_code: number;
    }[];
    assert.deepEqual(keys.filter((row) => row.state !== 'completed').slice(0, 10), [], 'no key left in_flight');
    assert.equal(keys.length, deliveries);
    for (const row of keys) {
      const n = Number(row.key.slice('delivery-'.length));
      assert.equal(row.instance_id, byDelivery.get(n)?.[0], `key ${row.key} names its instance`);
      assert.equal(accepted.get(n)?.instanceId, row.instance_id, `delivery ${n} was answered with its instance`);
      assert.equal(row.status_code, 202);
    }

    if (worker) {
      const ids = instances.map((row) => row.id);
      await waitFor(
        async () => {
          const [row] = await db
            .knex('process_instances')
            .whereIn('id', ids)
            .where({ state: 'completed' })
            .count<{ count: string }[]>('* as count');
          return Number(row!.count) === ids.length;
        },
        600_000,
        'every instance to complete',
      );
      await assertEachCompletedOnce(db.knex, ids);
    }
    return {
      deliveries,
      kills,
      workerKills,
      requests,
      outcomes,
      replayed: [...accepted.values()].filter((a) => a.replayed).length,
      maxTries: Math.max(...[...accepted.values()].map((a) => a.tries)),
      seconds: Math.round((performance.now() - startedAt) / 1000),
    };
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
    if (worker) await stopWorker(worker, 'SIGKILL');
    await db.drop();
  }
}
