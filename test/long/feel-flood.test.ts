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

let api: TestApi;
let base: string;

const HEADER = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" targetNamespace="http://operon.test"`;

const PROCESSES = [
  `${HEADER} id="d-distinct">
  <bpmn:process id="flood-distinct" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="dedupe" default="f3"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="unique"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="duplicates"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="dedupe" />
    <bpmn:sequenceFlow id="f2" sourceRef="dedupe" targetRef="unique"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=count(distinct values(items)) = count(items)</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="dedupe" targetRef="duplicates" />
  </bpmn:process>
</bpmn:definitions>`,
  `${HEADER} id="d-union">
  <bpmn:process id="flood-union" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="ship"><bpmn:extensionElements><zeebe:taskDefinition type="flood-ship" />
      <zeebe:ioMapping><zeebe:input source="=union(items, items)" target="lines" /></zeebe:ioMapping></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ship" />
    <bpmn:sequenceFlow id="f2" sourceRef="ship" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
  `${HEADER} id="d-loop">
  <bpmn:process id="flood-loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="bump"><bpmn:extensionElements><zeebe:script expression="=round + 1" resultVariable="round" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>again</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="done"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>again</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="bump" />
    <bpmn:sequenceFlow id="f2" sourceRef="bump" targetRef="more" />
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="bump"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=round &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
];

before(async () => {
  api = await startTestApi({ bodyLimit: 5 * 1024 * 1024, poolMax: 10 });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  for (const xml of PROCESSES) {
    const deployed = await fetch(`${base}/api/deployments`, { method: 'POST', headers: { ...api.auth, 'content-type': 'application/xml' }, body: xml });
    assert.equal(deployed.status, 201, await deployed.text());
  }
  for (const id of ['flood-distinct', 'flood-union', 'flood-loop']) {
    const opened = await fetch(`${base}/api/processes/${id}/webhook`, { method: 'PUT', headers: { ...api.auth, 'content-type': 'application/json' }, body: '{"open":true}' });
    assert.equal(opened.status, 200);
  }
});

after(async () => api?.close());

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

it('a flood of 12,000-item webhooks into distinct values / union and of endless loops: incidents, /healthz answers throughout', async () => {
  const items = JSON.stringify({ items: Array.from({ length: 12_000 }, (_, i) => ({ sku: `sku-${i}`, qty: i % 7 })) });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const startedAt = performance.now();
  let running = true;
  const post = (id: string, body: string) => fetch(`${base}/webhooks/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const attacks = Promise.all([
    ...Array.from({ length: 8 }, () => post('flood-distinct', items)),
    ...Array.from({ length: 8 }, () => post('flood-union', items)),
    ...Array.from({ length: 8 }, () => post('flood-loop', '{"round":1}')),
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
      const view = (await (await fetch(`${base}/api/instances/${instanceId}`, { headers: api.auth })).json()) as { incidents: { code: string; elementId: string }[] };
      return view.incidents[0];
    }, 120_000);
    const key = `${incident.code} at ${incident.elementId}`;
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  assert.equal(codes.get('OPERON_ERR_FEEL_BUDGET at dedupe'), 8);
  assert.equal(codes.get('OPERON_ERR_FEEL_BUDGET at ship'), 8);
  assert.equal([...codes].filter(([key]) => key.startsWith('OPERON_ERR_STEP_LIMIT')).reduce((sum, [, n]) => sum + n, 0), 8);

  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `feel flood: 24 webhooks answered in ${(attackMs / 1000).toFixed(1)} s; /healthz ${latencies.length} requests, ` +
      `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms; ` +
      `event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms, max ${(delay.max / 1e6).toFixed(0)} ms; incidents ${JSON.stringify([...codes])}`,
  );
});
