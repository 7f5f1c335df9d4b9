/**
 * Given a process whose `http` task calls a URL taken from its start variables, behind an open
 * webhook of a real engine and API on 127.0.0.1, when an anonymous caller sends loopback addresses in
 * every spelling, the engine's own /metrics and webhooks, the metadata address, a made-up public name
 * that resolves to loopback, a redirect from an allowed host to a denied one, injected headers and a
 * response of hundreds of megabytes, then each instance gets an incident naming the host and the
 * reason, no denied server is ever contacted, and the response is cut at the limit while /healthz
 * answers. A host on the operator's allow list is reached. No packet leaves loopback: the metadata
 * address is refused before any connection, and made-up names resolve through an injected resolver.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup as dnsLookup } from 'node:dns';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { createEgressPolicy, parseAllowList, type Resolver } from '../../nodes/egress/policy.ts';
import { classifyAddress } from '../../nodes/egress/addresses.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, waitFor } from '../engine/support/harness.ts';

/** Made-up public-looking names; the resolver maps them to loopback so nothing leaves the machine. */
const PARTNER = 'api.partner.example';
const ALLOWED = 'allowed.partner.example';
const resolved: string[] = [];
const resolver: Resolver = (hostname, options, callback) => {
  resolved.push(hostname);
  if (hostname === PARTNER || hostname === ALLOWED) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  if (hostname !== 'localhost')
    return callback(
      Object.assign(new Error(`test resolver: ${hostname} is not a test name`), { code: 'ENOTFOUND' }),
      [],
    );
  dnsLookup(hostname, options, callback);
};

/** The servers the attacker wants to reach: what each received. */
const received: { path: string; headers: IncomingMessage['headers'] }[] = [];
const huge = { bytesSent: 0, closed: false };
const HUGE_BYTES = 300 * 1024 * 1024;

let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let target: Server;
let port = 0;
let appPort = 0;

const PROCESS = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-egress" targetNamespace="http://operon.test">
  <bpmn:process id="egress-fetch" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="fetch">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="http" retries="1" />
        <zeebe:ioMapping>
          <zeebe:input source="=url" target="url" />
          <zeebe:input source="=headers" target="headers" />
          <zeebe:output source="=status" target="httpStatus" />
          <zeebe:output source="=body" target="answer" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fetch" />
    <bpmn:sequenceFlow id="f2" sourceRef="fetch" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;

before(async () => {
  db = await createTestDatabase({ poolMax: 10 });
  target = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://target');
    received.push({ path: url.pathname, headers: request.headers });
    if (url.pathname === '/redirect') {
      response.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return response.end();
    }
    if (url.pathname === '/loop') {
      response.writeHead(302, { location: '/loop' });
      return response.end();
    }
    if (url.pathname === '/huge') {
      // Streamed in chunks under back-pressure, announced or not: the client must stop reading.
      response.writeHead(200, {
        'content-type': 'application/json',
        ...(url.searchParams.has('announced') ? { 'content-length': String(HUGE_BYTES) } : {}),
      });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      response.on('close', () => (huge.closed = true));
      const pump = () => {
        while (huge.bytesSent < HUGE_BYTES && !response.destroyed) {
          huge.bytesSent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      return pump();
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ secret: 'internal-only', path: url.pathname }));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  port = (target.address() as AddressInfo).port;

  // The allow list names one host on one port: the same server under other names stays denied.
  const nodes = await createNodeRegistry({ http: { allow: [`${ALLOWED}:${port}`], resolver } });
  engine = createEngine({ db: db.knex, nodes, worker: FAST_WORKER, backoff: { baseMs: 50, maxMs: 200 } });
  const token = `test_${randomBytes(16).toString('hex')}`;
  app = await buildApp({ engine, db: db.knex, apiToken: token, defaultMetrics: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  appPort = (app.server.address() as AddressInfo).port;
  await engine.deploy([{ name: 'egress-fetch.bpmn', xml: PROCESS }]);
  const open = await fetch(`http://127.0.0.1:${appPort}/api/processes/egress-fetch/webhook`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ open: true }),
  });
  assert.equal(open.status, 200);
});

after(async () => {
  await app?.close();
  await engine?.close();
  await new Promise((resolve) => target?.close(resolve));
  target?.closeAllConnections();
  await db?.drop();
});

/** Starts an instance as the anonymous caller would: through the open webhook, over real HTTP. */
async function start(variables: Record<string, unknown>): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${appPort}/webhooks/egress-fetch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(variables),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { instanceId: string }).instanceId;
}

async function incidentOf(instanceId: string) {
  const [incident] = await waitFor(
    async () => {
      const open = await engine.listIncidents({ instanceId, state: 'open' });
      return open.length > 0 ? open : undefined;
    },
    30_000,
    `incident of ${instanceId}`,
  );
  return incident!;
}

async function completed(instanceId: string) {
  return waitFor(
    async () => {
      const view = await engine.getInstance(instanceId);
      if (view?.state === 'completed') return view;
      const [incident] = await engine.listIncidents({ instanceId, state: 'open' });
      if (incident) throw new Error(`unexpected incident ${incident.code}: ${incident.message}`);
      return undefined;
    },
    30_000,
    `completion of ${instanceId}`,
  );
}

describe('the http node refuses internal destinations by default', () => {
  test("loopback in every spelling, the engine's own /metrics and webhook: incident naming host and reason, nothing contacted", async () => {
    const attacks: [string, RegExp][] = [
      [`http://localhost:${port}/secret`, /localhost.*loopback|loopback.*localhost/],
      [`http://127.0.0.1:${port}/secret`, /127\.0\.0\.1 is a loopback address/],
      [`http://0.0.0.0:${port}/secret`, /0\.0\.0\.0 is an unspecified address/],
      [`http://2130706433:${port}/secret`, /127\.0\.0\.1 is a loopback address/],
      [`http://0x7f.0.0.1:${port}/secret`, /127\.0\.0\.1 is a loopback address/],
      [`http://[::1]:${port}/secret`, /::1 is a loopback address/],
      [`http://[::ffff:127.0.0.1]:${port}/secret`, /::ffff:7f00:1 is a loopback address/],
      [
        `http://${PARTNER}:${port}/secret`,
        /127\.0\.0\.1 is a loopback address \(api\.partner\.example resolved to it\)/,
      ],
      [`http://127.0.0.1:${appPort}/metrics`, /loopback/],
      [`http://127.0.0.1:${appPort}/webhooks/egress-fetch`, /loopback/],
    ];
    const before = received.length;
    const instances = await Promise.all(attacks.map(([url]) => start({ url })));
    for (const [index, instanceId] of instances.entries()) {
      const incident = await incidentOf(instanceId);
      const [url, reason] = attacks[index]!;
      assert.equal(incident.code, 'OPERON_ERR_HTTP_EGRESS_DENIED', url);
      assert.match(incident.message, reason, url);
      assert.match(incident.message, /refused by the egress policy/);
    }
    assert.equal(received.length, before, 'the target server was never contacted');
    assert.ok(resolved.includes(PARTNER) && resolved.includes('localhost'), 'names are checked after resolution');
  });

  test('the metadata service is refused before any connection or lookup, in IPv4, IPv6 and mapped form', async () => {
    const lookups = resolved.length;
    for (const url of [
      'http://169.254.169.254/latest/meta-data/iam/',
      'http://[fd00:ec2::254]/latest/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://10.0.0.1/',
      'http://100.64.0.1/',
      'http://[fc00::1]/',
    ]) {
      const incident = await incidentOf(await start({ url }));
      assert.equal(incident.code, 'OPERON_ERR_HTTP_EGRESS_DENIED', url);
      assert.match(incident.message, /metadata|link-local|private|unique-local/, url);
    }
    assert.equal(resolved.length, lookups, 'IP literals are decided without a lookup');
  });

  test('a redirect from an allowed host to a denied address is refused at the hop; redirect loops end', async () => {
    const before = received.length;
    for (const to of [
      `http://localhost:${port}/secret`,
      'http://169.254.169.254/latest/meta-data/',
      `http://${PARTNER}:${port}/secret`,
    ]) {
      const incident = await incidentOf(
        await start({ url: `http://${ALLOWED}:${port}/redirect?to=${encodeURIComponent(to)}` }),
      );
      assert.equal(incident.code, 'OPERON_ERR_HTTP_EGRESS_DENIED', to);
      assert.match(incident.message, /loopback|metadata/);
    }
    assert.deepEqual(
      received.slice(before).map((r) => r.path),
      ['/redirect', '/redirect', '/redirect'],
      'only the allowed hop was sent',
    );
    const loop = await incidentOf(await start({ url: `http://${ALLOWED}:${port}/loop` }));
    assert.equal(loop.code, 'OPERON_ERR_HTTP_TOO_MANY_REDIRECTS');
  });

  test('injected request headers, credentials in the URL and other schemes are input errors naming the header or field', async () => {
    const before = received.length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ headers: { Host: 'metrics.internal' } }, /request header 'Host'/],
      [{ headers: { 'X-Forwarded-For': '127.0.0.1' } }, /request header 'X-Forwarded-For'/],
      [{ headers: { 'Proxy-Authorization': 'Basic x' } }, /request header 'Proxy-Authorization'/],
      [{ headers: { 'Transfer-Encoding': 'chunked' } }, /request header 'Transfer-Encoding'/],
      [{ headers: { 'x-note': 'a\r\nX-Injected: 1' } }, /request header 'x-note' holds a line break/],
      [{ headers: { 'bad name': 'x' } }, /request header 'bad name' is not a valid header name/],
      [{ headers: { 'x-note': 'caf\u00e9 \u2603' } }, /request header 'x-note' holds a control character/],
    ];
    for (const [variables, field] of cases) {
      const incident = await incidentOf(await start({ url: `http://${ALLOWED}:${port}/secret`, ...variables }));
      assert.equal(incident.code, 'OPERON_ERR_NODE_INPUT');
      assert.match(incident.message, field);
    }
    for (const url of [
      `http://user:password@${ALLOWED}:${port}/secret`,
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_FLUSHALL',
    ]) {
      const incident = await incidentOf(await start({ url }));
      assert.equal(incident.code, 'OPERON_ERR_NODE_INPUT', url);
    }
    assert.equal(received.length, before, 'no refused request was sent');
  });

  test('a response over the limit is cut off (announced or streamed) while /healthz answers', async () => {
    for (const query of ['?announced=1', '']) {
      huge.bytesSent = 0;
      huge.closed = false;
      const instanceId = await start({ url: `http://${ALLOWED}:${port}/huge${query}` });
      // Order, not time: the engine answers /healthz while the huge response is being refused.
      const health = await fetch(`http://127.0.0.1:${appPort}/healthz`);
      assert.equal(health.status, 200);
      const incident = await incidentOf(instanceId);
      assert.equal(incident.code, 'OPERON_ERR_HTTP_RESPONSE_TOO_LARGE', query);
      assert.match(incident.message, new RegExp(`${ALLOWED}:${port}.*larger than 1048576 bytes`));
      await waitFor(async () => huge.closed, 10_000, 'the server saw the connection close');
      // Socket buffers hold a few megabytes at most; the other 290+ MB were never sent.
      assert.ok(huge.bytesSent < 32 * 1024 * 1024, `sent ${huge.bytesSent} bytes of ${HUGE_BYTES}`);
      const view = await engine.getInstance(instanceId);
      assert.equal(view?.variables.answer, undefined, 'nothing of the response became a variable');
    }
  });
});

describe("the operator's allow list", () => {
  test('lets an allowed host through, with its headers and its redirects inside the allowed host', async () => {
    const direct = await completed(
      await start({ url: `http://${ALLOWED}:${port}/secret`, headers: { authorization: 'Bearer partner-token' } }),
    );
    assert.equal(direct.variables.httpStatus, 200);
    assert.deepEqual(direct.variables.answer, { secret: 'internal-only', path: '/secret' });
    assert.equal(received.at(-1)!.headers.authorization, 'Bearer partner-token');
    const hop = await completed(await start({ url: `http://${ALLOWED}:${port}/redirect?to=/after` }));
    assert.deepEqual(hop.variables.answer, { secret: 'internal-only', path: '/after' });
  });
});

describe('address classification and allow entries (no connection)', () => {
  test('every internal range is classified, in IPv4, IPv6 and IPv4-mapped form; public addresses are not', () => {
    const cases: [string, string | undefined][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['[::ffff:7f00:1]', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['169.254.1.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['169.254.169.254', 'metadata'],
      ['fd00:ec2::254', 'metadata'],
      ['::ffff:169.254.169.254', 'metadata'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['ff02::1', 'multicast'],
      ['fc00::1', 'unique-local'],
      ['fd12:3456::1', 'unique-local'],
      ['64:ff9b::10.0.0.1', 'private'],
      ['8.8.8.8', undefined],
      ['172.32.0.1', undefined],
      ['2001:db8::1', undefined],
      ['example.com', undefined],
    ];
    for (const [address, kind] of cases) assert.equal(classifyAddress(address), kind, address);
  });

  test('allow entries: host, host:port, IP, [IPv6]:port, CIDR; the metadata service stays refused even inside an allowed range', () => {
    const policy = createEgressPolicy({
      allow: parseAllowList('intranet.corp, 127.0.0.1:8080 [::1]:9000,10.0.0.0/8 169.254.0.0/16'),
    });
    const verdict = (url: string) => policy.checkUrl(new URL(url))?.reason;
    assert.equal(verdict('http://127.0.0.1:8080/'), undefined);
    assert.match(verdict('http://127.0.0.1:8081/') ?? '', /loopback/);
    assert.equal(verdict('http://[::1]:9000/'), undefined);
    assert.equal(verdict('http://10.20.30.40/'), undefined);
    assert.match(verdict('http://192.168.0.1/') ?? '', /private/);
    assert.equal(verdict('http://169.254.10.10/'), undefined);
    assert.match(verdict('http://169.254.169.254/') ?? '', /metadata service \(never allowed\)/);
    assert.match(verdict('ftp://intranet.corp/') ?? '', /scheme ftp: is not allowed/);
    assert.throws(
      () => createEgressPolicy({ allow: ['http://x/'] }),
      /not a host, host:port, IP address or CIDR range/,
    );
  });

  test('a name is judged by every address it resolves to, and an allowed name may resolve to internal addresses', async () => {
    const resolveTo =
      (addresses: string[]): Resolver =>
      (_hostname, _options, callback) =>
        callback(
          null,
          addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
        );
    const lookup = (allow: string[], addresses: string[], hostname: string) =>
      new Promise<string>((resolve) => {
        const fn = createEgressPolicy({ allow, resolver: resolveTo(addresses) }).lookupFor(
          new URL(`http://${hostname}/`),
        );
        fn(hostname, { all: true }, (error) => resolve(error ? error.message : 'allowed'));
      });
    assert.match(
      await lookup([], ['93.184.216.34', '10.0.0.5'], 'mixed.example'),
      /10\.0\.0\.5 is a private address \(mixed\.example resolved to it\)/,
    );
    assert.equal(await lookup([], ['93.184.216.34'], 'public.example'), 'allowed');
    assert.equal(await lookup(['intranet.corp'], ['10.0.0.5'], 'intranet.corp'), 'allowed');
    assert.match(await lookup(['intranet.corp'], ['169.254.169.254'], 'intranet.corp'), /metadata/);
  });
});
