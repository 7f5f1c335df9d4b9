/**
 * Given open webhooks into processes whose gateway condition uses `distinct values(items)`, whose
 * input mapping uses `union(items, items)`, and one that loops through a script task and a gateway
 * without a wait state, when an anonymous caller posts 12,000 distinct items (or starts the loop)
 * over real HTTP against the engine on real PostgreSQL, then each instance gets an incident naming
 * the element (and the expression), `/healthz` answers while the attack is still in flight, and an
 * ordinary instance with iteration completes afterwards.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startTestApi, eventually, type TestApi } from '../http/support/api.ts';
import { DISTINCT_CONDITION, ENDLESS_LOOP, lineItems, ORDINARY, UNION_MAPPING } from './support/feel-attacks.ts';

const previousBudget = process.env.OPERON_FEEL_BUDGET_MS;
let api: TestApi;
let base: string;

before(async () => {
  // Long enough that an answer from the server before the budget ends is clearly "during".
  process.env.OPERON_FEEL_BUDGET_MS = '3000';
  api = await startTestApi({ bodyLimit: 5 * 1024 * 1024 });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  for (const xml of [DISTINCT_CONDITION, UNION_MAPPING, ENDLESS_LOOP, ORDINARY]) {
    const deployed = await fetch(`${base}/api/deployments`, {
      method: 'POST',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      body: xml,
    });
    assert.equal(deployed.status, 201, await deployed.text());
  }
  for (const id of ['distinct-condition', 'union-mapping', 'endless-loop', 'ordinary-sum']) {
    const opened = await fetch(`${base}/api/processes/${id}/webhook`, {
      method: 'PUT',
      headers: { ...api.auth, 'content-type': 'application/json' },
      body: '{"open":true}',
    });
    assert.equal(opened.status, 200, await opened.text());
  }
});

after(async () => {
  if (previousBudget === undefined) delete process.env.OPERON_FEEL_BUDGET_MS;
  else process.env.OPERON_FEEL_BUDGET_MS = previousBudget;
  await api?.close();
});

interface Attack {
  instanceId: string;
  /** /healthz answers that arrived while the webhook request was still in flight. */
  healthyDuring: number;
}

/** Posts the webhook and asks /healthz, one request after another, until the webhook has answered. */
async function attack(bpmnProcessId: string, variables: Record<string, unknown>): Promise<Attack> {
  let answered = false;
  const webhook = fetch(`${base}/webhooks/${bpmnProcessId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(variables),
  }).finally(() => {
    answered = true;
  });
  let healthyDuring = 0;
  while (!answered) {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    if (!answered) healthyDuring += 1;
  }
  const response = await webhook;
  const body = (await response.json()) as { instanceId: string };
  assert.equal(response.status, 202, JSON.stringify(body));
  return { instanceId: body.instanceId, healthyDuring };
}

async function incidentOf(
  instanceId: string,
): Promise<{ code: string; elementId: string; message: string; details: Record<string, unknown> }> {
  return eventually(async () => {
    const response = await fetch(`${base}/api/instances/${instanceId}`, { headers: api.auth });
    const view = (await response.json()) as {
      state: string;
      incidents: { code: string; elementId: string; message: string; details: Record<string, unknown> }[];
    };
    return view.incidents[0];
  }, 60_000);
}

it('distinct values over 12,000 posted items in a gateway condition: an OPERON_ERR_FEEL_BUDGET incident, /healthz answers meanwhile', async () => {
  const { instanceId, healthyDuring } = await attack('distinct-condition', { items: lineItems() });
  assert.ok(healthyDuring >= 1, '/healthz answered while the webhook was still being evaluated');
  const incident = await incidentOf(instanceId);
  assert.equal(incident.code, 'OPERON_ERR_FEEL_BUDGET');
  assert.equal(incident.elementId, 'dedupe');
  assert.equal(incident.details.expression, 'count(distinct values(items)) = count(items)');
  assert.match(incident.message, /time budget of 3000 ms/);
});

it('union of 12,000 posted items in an input mapping: an OPERON_ERR_FEEL_BUDGET incident on the task, /healthz answers meanwhile', async () => {
  const { instanceId, healthyDuring } = await attack('union-mapping', { items: lineItems() });
  assert.ok(healthyDuring >= 1, '/healthz answered while the webhook was still being evaluated');
  const incident = await incidentOf(instanceId);
  assert.equal(incident.code, 'OPERON_ERR_FEEL_BUDGET');
  assert.equal(incident.elementId, 'ship');
  assert.equal(incident.details.expression, 'union(items, items)');
});

it('a loop without a wait state stops at its step time budget with an incident naming the element; /healthz answers meanwhile', async () => {
  // Several at once: each holds the engine's thread for at most a step budget, and /healthz gets in between.
  let answered = 0;
  const loops = Array.from({ length: 4 }, () =>
    fetch(`${base}/webhooks/endless-loop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"round":1}',
    }).finally(() => {
      answered += 1;
    }),
  );
  let healthyDuring = 0;
  while (answered < loops.length) {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    if (answered < loops.length) healthyDuring += 1;
  }
  assert.ok(healthyDuring >= 1, '/healthz answered while the loops were running');
  for (const response of await Promise.all(loops)) {
    const { instanceId } = (await response.json()) as { instanceId: string };
    assert.equal(response.status, 202);
    const incident = await incidentOf(instanceId);
    assert.equal(incident.code, 'OPERON_ERR_STEP_LIMIT');
    assert.ok(['bump', 'more'].includes(incident.elementId), incident.elementId);
    assert.match(incident.message, new RegExp(`time budget of \\d+ ms .*stopped at "${incident.elementId}"`));
    assert.ok((incident.details.activations as number) < 50_000, 'stopped by time, long before the activation limit');
  }
});

it('after the attacks an ordinary instance with iteration completes through its webhook', async () => {
  const response = await fetch(`${base}/webhooks/ordinary-sum`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"numbers":[1,2,3]}',
  });
  const { instanceId } = (await response.json()) as { instanceId: string };
  const done = await eventually(async () => {
    const view = (await (await fetch(`${base}/api/instances/${instanceId}`, { headers: api.auth })).json()) as {
      state: string;
      variables: Record<string, unknown>;
    };
    return view.state === 'completed' ? view : undefined;
  }, 30_000);
  assert.equal(done.variables.total, 12);
});
