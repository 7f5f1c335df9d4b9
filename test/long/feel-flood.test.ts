/**
 * Given open webhooks into a gateway condition with `distinct values(items)`, an input mapping with
 * `union(items, items)` and a loop without a wait state, when 16 anonymous callers post 12,000
 * distinct items each (8 per process, all at once) and 8 more start the loop, over real HTTP against
 * the engine on real PostgreSQL, then every instance gets its incident, /healthz answers every
 * request throughout, and the test prints /healthz latency and event-loop delay for RELIABILITY.md.
 * Default budgets (OPERON_FEEL_BUDGET_MS 1000, OPERON_STEP_BUDGET_MS 500).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTestApi, eventually, type TestApi } from '../http/support/api.ts';
import { DISTINCT_CONDITION, ENDLESS_LOOP, lineItems, UNION_MAPPING } from '../hostile/support/feel-attacks.ts';

let api: TestApi;
let base: string;

before(async () => {
  api = await startTestApi({ bodyLimit: 5 * 1024 * 1024, poolMax: 10 });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  for (const xml of [DISTINCT_CONDITION, UNION_MAPPING, ENDLESS_LOOP]) {
    const deployed = await fetch(`${base}/api/deployments`, {
      method: 'POST',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      body: xml,
    });
    assert.equal(deployed.status, 201, await deployed.text());
  }
  for (const id of ['distinct-condition', 'union-mapping', 'endless-loop']) {
    const opened = await fetch(`${base}/api/processes/${id}/webhook`, {
      method: 'PUT',
      headers: { ...api.auth, 'content-type': 'application/json' },
      body: '{"open":true}',
    });
    assert.equal(opened.status, 200);
  }
});

after(async () => api?.close());

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

it('a flood of 12,000-item webhooks into distinct values / union and of endless loops: incidents, /healthz answers throughout', async () => {
  const items = JSON.stringify({ items: lineItems() });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const startedAt = performance.now();
  let running = true;
  const post = (id: string, body: string) =>
    fetch(`${base}/webhooks/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const attacks = Promise.all([
    ...Array.from({ length: 8 }, () => post('distinct-condition', items)),
    ...Array.from({ length: 8 }, () => post('union-mapping', items)),
    ...Array.from({ length: 8 }, () => post('endless-loop', '{"round":1}')),
  ]).finally(() => {
    running = false;
  });

  const latencies: number[] = [];
  while (running) {
    const sent = performance.now();
    const health = await fetch(`${base}/healthz`);
    await health.arrayBuffer();
    assert.equal(health.status, 200);
    latencies.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const responses = await attacks;
  const attackMs = performance.now() - startedAt;
  delay.disable();

  const ids: string[] = [];
  for (const response of responses) {
    assert.equal(response.status, 202);
    ids.push(((await response.json()) as { instanceId: string }).instanceId);
  }
  const codes = new Map<string, number>();
  for (const instanceId of ids) {
    const incident = await eventually(async () => {
      const view = (await (await fetch(`${base}/api/instances/${instanceId}`, { headers: api.auth })).json()) as {
        incidents: { code: string; elementId: string }[];
      };
      return view.incidents[0];
    }, 120_000);
    const key = `${incident.code} at ${incident.elementId}`;
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  assert.equal(codes.get('OPERON_ERR_FEEL_BUDGET at dedupe'), 8);
  assert.equal(codes.get('OPERON_ERR_FEEL_BUDGET at ship'), 8);
  assert.equal(
    [...codes].filter(([key]) => key.startsWith('OPERON_ERR_STEP_LIMIT')).reduce((sum, [, n]) => sum + n, 0),
    8,
  );

  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `feel flood: 24 webhooks answered in ${(attackMs / 1000).toFixed(1)} s; /healthz ${latencies.length} requests, ` +
      `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms; ` +
      `event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms, max ${(delay.max / 1e6).toFixed(0)} ms; incidents ${JSON.stringify([...codes])}`,
  );
});
