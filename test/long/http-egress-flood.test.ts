/**
 * The attack of the security review at full size: eight instances at once make the `http` node read
 * a 300 MB response (no Content-Length, streamed as fast as the socket takes it) from a host on the
 * allow list, while /healthz is polled every 50 ms over real HTTP. Each instance gets
 * OPERON_ERR_HTTP_RESPONSE_TOO_LARGE, the server sends only a few MB of its 300 MB per request,
 * resident memory grows by less than 300 MB, and /healthz answers within 1 s throughout.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, waitFor } from '../engine/support/harness.ts';

const HUGE_BYTES = 300 * 1024 * 1024;
const ATTACKS = 8;
let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let target: Server;
let port = 0;
let appPort = 0;
const sent: number[] = [];

const PROCESS = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-flood" targetNamespace="http://operon.test">
  <bpmn:process id="egress-flood" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="fetch"><bpmn:extensionElements><zeebe:taskDefinition type="http" retries="1" />
      <zeebe:ioMapping><zeebe:input source="=url" target="url" /><zeebe:output source="=body" target="answer" /></zeebe:ioMapping></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fetch" />
    <bpmn:sequenceFlow id="f2" sourceRef="fetch" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;

before(async () => {
  db = await createTestDatabase({ poolMax: 10 });
  target = createServer((_request, response) => {
    const index = sent.push(0) - 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(256 * 1024, 'x');
    const pump = () => {
      while (sent[index]! < HUGE_BYTES && !response.destroyed) {
        sent[index]! += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
      response.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  port = (target.address() as AddressInfo).port;
  const nodes = await createNodeRegistry({ http: { allow: [`127.0.0.1:${port}`] } });
  engine = createEngine({ db: db.knex, nodes, worker: FAST_WORKER });
  app = await buildApp({ engine, db: db.knex, apiToken: 'test_flood_token_0123456789abcdef', defaultMetrics: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  appPort = (app.server.address() as AddressInfo).port;
  await engine.deploy([{ name: 'egress-flood.bpmn', xml: PROCESS }]);
});

after(async () => {
  await app?.close();
  await engine?.close();
  target?.closeAllConnections();
  target?.close();
  await db?.drop();
});

it(`${ATTACKS} responses of 300 MB: each cut at 1 MiB, memory bounded, /healthz under 1 s`, {
  timeout: 600_000,
}, async () => {
  // The same poll with no attack, for comparison on a machine that may be busy with other work.
  const baseline: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    await (await fetch(`http://127.0.0.1:${appPort}/healthz`)).arrayBuffer();
    baseline.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  baseline.sort((a, b) => a - b);
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const latencies: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${appPort}/healthz`);
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  const instances = await Promise.all(
    Array.from({ length: ATTACKS }, () =>
      engine.startInstance('egress-flood', { url: `http://127.0.0.1:${port}/huge` }),
    ),
  );
  for (const { instanceId } of instances) {
    const [incident] = await waitFor(
      async () => {
        const open = await engine.listIncidents({ instanceId, state: 'open' });
        return open.length > 0 ? open : undefined;
      },
      120_000,
      'incident',
    );
    assert.equal(incident!.code, 'OPERON_ERR_HTTP_RESPONSE_TOO_LARGE');
  }
  const elapsed = performance.now() - started;
  polling = false;
  await poller;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
  const result = {
    baselineP50Ms: Math.round(baseline[10]!),
    baselineMaxMs: Math.round(baseline.at(-1)!),
    attacks: ATTACKS,
    elapsedMs: Math.round(elapsed),
    healthzSamples: latencies.length,
    healthzP50Ms: p(0.5),
    healthzP99Ms: p(0.99),
    healthzMaxMs: Math.round(latencies.at(-1)!),
    rssGrowthMb: Math.round((rssPeak - rssBefore) / 1048576),
    serverSentMbMax: Math.round(Math.max(...sent) / 1048576),
  };
  console.log(`http egress flood: ${JSON.stringify(result)}`);
  assert.equal(sent.length, ATTACKS);
  assert.ok(Math.max(...sent) < 64 * 1024 * 1024, 'each response was cut off early');
  assert.ok(result.rssGrowthMb < 300, `rss grew ${result.rssGrowthMb} MB`);
  assert.ok(result.healthzMaxMs < 1_000, `/healthz took up to ${result.healthzMaxMs} ms`);
});
