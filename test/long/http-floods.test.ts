/**
 * Floods from issue 15 (findings 4 and 7) against the API on a real socket, sent from a child
 * process (test/long/support/http-attacker.mjs) while /healthz is probed every 20 ms from here:
 * rounds of eight parallel 5 MB bodies (unsigned, and with forged signatures, 5M-deep to a signed
 * webhook; deep to an API route; flat 100,000-object arrays to an open webhook, which must be
 * parsed before they are refused), then 2,000 requests with a new bad token each. Prints /healthz
 * latency and event-loop delay per flood for RELIABILITY.md; asserts only the answers.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { deployFixtures, startTestApi, type TestApi } from '../http/support/api.ts';
import { generateWebhookSecret } from '../../engine/http/signature.ts';

const FIVE_MB = 5 * 1024 * 1024;
const ROUNDS = 5;
const ATTACKER = fileURLToPath(new URL('./support/http-attacker.mjs', import.meta.url));
let api: TestApi;
let base: string;

async function listen(app: TestApi['app']): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

before(async () => {
  // The floods below are 401s on purpose: failed-auth counting is off here and on in the bad-token flood's own app.
  process.env.OPERON_AUTH_FAILURE_RATE = '0';
  api = await startTestApi({ bodyLimit: FIVE_MB + 1024 });
  delete process.env.OPERON_AUTH_FAILURE_RATE;
  base = await listen(api.app);
  await deployFixtures(api, 'http-wait.bpmn', 'http-ping.bpmn');
  assert.equal(
    (
      await api.app.inject({
        method: 'PUT',
        url: '/api/processes/http-wait/webhook',
        headers: api.auth,
        payload: { secret: generateWebhookSecret() },
      })
    ).statusCode,
    200,
  );
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
});
after(async () => api?.close());

interface Probe {
  stop(): Promise<{ probes: number; p50Ms: number; maxMs: number; loopDelayMaxMs: number }>;
}

/** Asks /healthz every 20 ms (one at a time) and records how long each answer took. */
function probeHealth(): Probe {
  const latencies: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      const response = await fetch(`${base}/healthz`);
      await response.arrayBuffer();
      assert.equal(response.status, 200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      loop.disable();
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        probes: sorted.length,
        p50Ms: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
        maxMs: Math.round(sorted.at(-1) ?? 0),
        loopDelayMaxMs: Math.round(loop.max / 1e6),
      };
    },
  };
}

interface Attack {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body: 'deep' | 'flat' | 'none';
  rounds: number;
  parallel: number;
  freshHeaders?: 'forged-signature' | 'bad-token';
}

/** Runs one flood from a child process while /healthz is probed here; returns the statuses it got. */
async function flood(
  name: string,
  attack: Omit<Attack, 'url'> & { path: string },
  target = base,
): Promise<Record<string, number>> {
  const probe = probeHealth();
  const started = performance.now();
  const { path, ...rest } = attack;
  const child = spawn(process.execPath, [ATTACKER, JSON.stringify({ ...rest, url: `${target}${path}` })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  const health = await probe.stop();
  assert.equal(code, 0, name);
  const { statuses } = JSON.parse(output) as { statuses: Record<string, number> };
  console.log(
    `${name}: ${JSON.stringify({ statuses, seconds: Math.round((performance.now() - started) / 100) / 10, healthz: health })}`,
  );
  return statuses;
}

it('idle: /healthz latency with no attack (the baseline on this machine)', async () => {
  const probe = probeHealth();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  console.log(`idle: ${JSON.stringify({ healthz: await probe.stop() })}`);
});

it('8 parallel unsigned 5 MB deep bodies to a signed webhook, 5 rounds: all 401 before the body is read', async () => {
  assert.deepEqual(
    await flood('unsigned deep to signed webhook', {
      path: '/webhooks/http-wait',
      method: 'POST',
      body: 'deep',
      rounds: ROUNDS,
      parallel: 8,
    }),
    { 401: 8 * ROUNDS },
  );
});

it('8 parallel forged-signature 5 MB deep bodies to a signed webhook, 5 rounds: all 401 after the HMAC, never parsed', async () => {
  assert.deepEqual(
    await flood('forged signature deep to signed webhook', {
      path: '/webhooks/http-wait',
      method: 'POST',
      body: 'deep',
      rounds: ROUNDS,
      parallel: 8,
      freshHeaders: 'forged-signature',
    }),
    { 401: 8 * ROUNDS },
  );
});

it('8 parallel 5 MB deep bodies to POST /api/instances, 5 rounds: all 400 OPERON_ERR_JSON_TOO_DEEP', async () => {
  assert.deepEqual(
    await flood('deep to /api/instances', {
      path: '/api/instances',
      method: 'POST',
      headers: api.auth,
      body: 'deep',
      rounds: ROUNDS,
      parallel: 8,
    }),
    { 400: 8 * ROUNDS },
  );
});

it('8 parallel 5 MB flat arrays (about 100,000 objects) to an open webhook, 5 rounds: parsed, then 400', async () => {
  assert.deepEqual(
    await flood('flat 5 MB to open webhook', {
      path: '/webhooks/http-ping',
      method: 'POST',
      body: 'flat',
      rounds: ROUNDS,
      parallel: 8,
    }),
    { 400: 8 * ROUNDS },
  );
});

it('2,000 requests with a new bad token each: the burst of 20 (and its refill) are 401, the rest 429', async () => {
  const defaults = await startTestApi();
  const floodBase = await listen(defaults.app);
  let statuses: Record<string, number>;
  try {
    statuses = await flood(
      'bad-token flood',
      {
        path: '/api/tasks?state=open',
        method: 'GET',
        body: 'none',
        rounds: 100,
        parallel: 20,
        freshHeaders: 'bad-token',
      },
      floodBase,
    );
  } finally {
    await defaults.close();
  }
  assert.ok((statuses[401] ?? 0) >= 20 && (statuses[401] ?? 0) < 200, JSON.stringify(statuses));
  assert.equal((statuses[401] ?? 0) + (statuses[429] ?? 0), 2000);
});
