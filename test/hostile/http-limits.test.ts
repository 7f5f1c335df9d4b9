/**
 * Given the API on a real socket, when hostile callers send what the outside security test sent
 * (issue 15, findings 4, 7 and 8), then each gets a clear 4xx before it costs the server much:
 * unsigned deep bodies to a signed webhook are refused on the raw bytes and /healthz answers while
 * they arrive; deep JSON, lone surrogates, weak secrets, oversize multipart and slow uploads are
 * refused; lists answer one bounded page; any spelling of a path and any bad token count toward one
 * rate limit; unknown and unconfigured webhooks look the same; /metrics needs a token.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { deployFixtures, startTestApi, type TestApi } from '../http/support/api.ts';
import { generateWebhookSecret, signWebhook } from '../../engine/http/signature.ts';
import { MAX_JSON_DEPTH, jsonDepth } from '../../engine/http/json-body.ts';

const FIVE_MB = 5 * 1024 * 1024;

interface Served {
  api: TestApi;
  base: string;
  port: number;
}

async function serve(options: Parameters<typeof startTestApi>[0], env: Record<string, string> = {}): Promise<Served> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    const api = await startTestApi(options);
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = api.app.server.address() as AddressInfo;
    return { api, base: `http://127.0.0.1:${port}`, port };
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

interface RawResponse {
  status: number;
  body: string;
}

function readResponse(response: IncomingMessage): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () =>
      resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
    );
    response.on('error', reject);
  });
}

/**
 * A request whose body is written in 256 KB pieces, one per macrotask, so that several of them are
 * in flight together. The last byte is held back: `heldBack` resolves once everything else is
 * written, and `finish()` sends it.
 */
function streamedPost(
  served: Served,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): { response: Promise<RawResponse>; heldBack: Promise<void>; finish(): void; abort(): void } {
  const req = httpRequest({
    host: '127.0.0.1',
    port: served.port,
    path,
    method: 'POST',
    headers: { ...headers, 'content-length': String(body.length) },
  });
  const response = new Promise<RawResponse>((resolve, reject) => {
    req.on('response', (res) => readResponse(res).then(resolve, reject));
    req.on('error', reject);
  });
  const last = body.length - 1;
  const heldBack = (async () => {
    const piece = 256 * 1024;
    for (let at = 0; at < last && !req.destroyed; at += piece) {
      if (!req.write(body.subarray(at, Math.min(at + piece, last)))) {
        await new Promise<void>((resolve) => {
          const resume = () => {
            req.off('drain', resume);
            req.off('close', resume);
            resolve();
          };
          req.on('drain', resume);
          req.on('close', resume);
        });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return { response, heldBack, finish: () => req.end(body.subarray(last)), abort: () => req.destroy() };
}

describe('webhook bodies and JSON limits', () => {
  let served: Served;
  const secret = generateWebhookSecret();

  before(async () => {
    // Failed-auth counting is off here: this suite sends many 401s on purpose (see the rate-limit suite).
    served = await serve({ bodyLimit: FIVE_MB + 1024 }, { OPERON_AUTH_FAILURE_RATE: '0' });
    await deployFixtures(served.api, 'http-wait.bpmn', 'http-ping.bpmn');
    const configured = await served.api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-wait/webhook',
      headers: served.api.auth,
      payload: { secret },
    });
    assert.equal(configured.statusCode, 200, configured.body);
  });
  after(async () => served?.api.close());

  it('refuses an unsigned delivery to a signed webhook, or to an unknown id, before reading its 5 MB body', async () => {
    const deep = Buffer.alloc(FIVE_MB, '[');
    for (const [path, code] of [
      ['/webhooks/http-wait', 'OPERON_ERR_BAD_SIGNATURE'],
      ['/webhooks/no-such-process', 'OPERON_ERR_WEBHOOK_NOT_CONFIGURED'],
    ]) {
      const attack = streamedPost(served, path!, deep, { 'content-type': 'application/json' });
      // finish() is never called: the answer comes while the body is still being sent.
      const answer = await attack.response;
      attack.abort();
      assert.equal(answer.status, 401, answer.body);
      assert.equal(JSON.parse(answer.body).error.code, code);
    }
  });

  it('checks a signature on the raw bytes before parsing: 8 forged 5 MB deep deliveries get 401, /healthz answers while they are in flight', async () => {
    const deep = Buffer.alloc(FIVE_MB, '[');
    const forged = () => ({
      'content-type': 'application/json',
      'webhook-id': `msg_${randomBytes(6).toString('hex')}`,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': `v1,${randomBytes(32).toString('base64')}`,
    });
    const attacks = Array.from({ length: 8 }, () => streamedPost(served, '/webhooks/http-wait', deep, forged()));
    let attacksAnswered = 0;
    for (const attack of attacks)
      void attack.response.then(
        () => attacksAnswered++,
        () => {},
      );
    // Every attack has sent all but its last byte: eight 5 MB bodies are in flight.
    await Promise.all(attacks.map((attack) => attack.heldBack));
    const health = await fetch(`${served.base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(attacksAnswered, 0, '/healthz answered while every attack was still in flight');
    for (const attack of attacks) attack.finish();
    const during = await fetch(`${served.base}/healthz`);
    assert.equal(during.status, 200);
    for (const answer of await Promise.all(attacks.map((attack) => attack.response))) {
      assert.equal(answer.status, 401, answer.body);
      // A parsed body would have been 400 OPERON_ERR_JSON_TOO_DEEP.
      const { error } = JSON.parse(answer.body);
      assert.equal(error.code, 'OPERON_ERR_BAD_SIGNATURE');
      assert.equal(error.details.reason, 'no-matching-signature');
    }
    assert.equal(Number((await served.api.db.knex('process_instances').count<{ n: string }[]>('* as n'))[0]!.n), 0);
  });

  it('parses a signed body only after its signature checked out: a deep signed body is 400 OPERON_ERR_JSON_TOO_DEEP', async () => {
    const body = `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    const id = 'msg_deep';
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await fetch(`${served.base}/webhooks/http-wait`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(secret, id, timestamp, body),
      },
      body,
    });
    assert.equal(response.status, 400);
    const { error } = (await response.json()) as { error: { code: string; details: { limit: number } } };
    assert.equal(error.code, 'OPERON_ERR_JSON_TOO_DEEP');
    assert.equal(error.details.limit, MAX_JSON_DEPTH);
  });

  it('bounds nesting at 64 levels on every JSON route, counted outside strings', async () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    const post = (variablesJson: string) =>
      fetch(`${served.base}/api/instances`, {
        method: 'POST',
        headers: { ...served.api.auth, 'content-type': 'application/json' },
        body: `{"bpmnProcessId":"http-ping","variables":{"v":${variablesJson}}}`,
      });
    const tooDeep = await post(nested(MAX_JSON_DEPTH - 1));
    assert.equal(tooDeep.status, 400);
    assert.equal(((await tooDeep.json()) as { error: { code: string } }).error.code, 'OPERON_ERR_JSON_TOO_DEEP');
    const deepest = await post(nested(MAX_JSON_DEPTH - 2));
    assert.equal(deepest.status, 201, await deepest.text());
    assert.equal(jsonDepth(Buffer.from('{"s":"[[[[{{{{\\"[[["}')), 1, 'brackets inside strings do not count');
  });

  it('answers a lone surrogate or U+0000 in variables, business key or query with 400 naming the field', async () => {
    const cases: [string, string, string][] = [
      ['/api/instances', '{"bpmnProcessId":"http-ping","variables":{"note":"\\ud800"}}', 'body.variables.note'],
      ['/api/instances', '{"bpmnProcessId":"http-ping","businessKey":"a\\udc00b"}', 'body.businessKey'],
      [
        '/api/instances',
        '{"bpmnProcessId":"http-ping","variables":{"list":["ok","\\u0000"]}}',
        'body.variables.list[1]',
      ],
      ['/api/instances', '{"bpmnProcessId":"http-ping","variables":{"\\ud800":1}}', 'body.variables["\\ud800"]'],
    ];
    for (const [path, body, field] of cases) {
      const response = await fetch(`${served.base}${path}`, {
        method: 'POST',
        headers: { ...served.api.auth, 'content-type': 'application/json' },
        body,
      });
      assert.equal(response.status, 400, body);
      const { error } = (await response.json()) as { error: { code: string; details: { field: string } } };
      assert.equal(error.code, 'OPERON_ERR_VALIDATION', body);
      assert.equal(error.details.field, field, body);
    }
    const open = await served.api.app.inject({
      method: 'PUT',
      url: '/api/processes/http-ping/webhook',
      headers: served.api.auth,
      payload: { open: true },
    });
    assert.equal(open.statusCode, 200);
    const nulInQuery = await fetch(`${served.base}/webhooks/http-ping?businessKey=a%00b`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(nulInQuery.status, 400, await nulInQuery.clone().text());
    assert.equal(
      ((await nulInQuery.json()) as { error: { details: { field: string } } }).error.details.field,
      'query.businessKey',
    );
    // A URL can spell a lone surrogate only as the bytes of one, which are not UTF-8: refused as a bad URL.
    const inPath = await fetch(`${served.base}/webhooks/%ED%A0%80`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(inPath.status, 400);
    const inBody = await fetch(`${served.base}/webhooks/http-ping`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"\\ud800"}',
    });
    assert.equal(inBody.status, 400);
    assert.equal(((await inBody.json()) as { error: { details: { field: string } } }).error.details.field, 'body.name');
    const invalidUtf8 = await fetch(`${served.base}/webhooks/http-ping`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
    });
    assert.equal(invalidUtf8.status, 400);
    assert.equal(((await invalidUtf8.json()) as { error: { code: string } }).error.code, 'OPERON_ERR_MALFORMED_JSON');
    assert.equal(
      Number((await served.api.db.knex('process_instances').count<{ n: string }[]>('* as n'))[0]!.n),
      1,
      'only the 64-level start',
    );
  });

  it('refuses an all-zero or one-character webhook secret with 400 naming the field', async () => {
    for (const [payload, field] of [
      [{ secret: `whsec_${Buffer.alloc(32).toString('base64')}` }, 'body.secret'],
      [{ secret: `whsec_${Buffer.alloc(24, 'a').toString('base64')}` }, 'body.secret'],
      [{ secrets: [generateWebhookSecret(), `whsec_${Buffer.alloc(32, 0xff).toString('base64')}`] }, 'body.secrets.1'],
    ] as const) {
      const response = await served.api.app.inject({
        method: 'PUT',
        url: '/api/processes/http-ping/webhook',
        headers: served.api.auth,
        payload,
      });
      assert.equal(response.statusCode, 400, response.body);
      const { error } = response.json();
      assert.equal(error.code, 'OPERON_ERR_VALIDATION');
      assert.equal(error.details.field, field);
      assert.match(error.message, /different byte values/);
    }
  });

  it('answers 413 to a chunked multipart deployment whose files add up past the body limit', async () => {
    const boundary = 'operon-test-boundary';
    const file = Buffer.alloc(400 * 1024, 'x');
    const req = httpRequest({
      host: '127.0.0.1',
      port: served.port,
      path: '/api/deployments',
      method: 'POST',
      headers: {
        ...served.api.auth,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'transfer-encoding': 'chunked',
      },
    });
    const response = new Promise<RawResponse>((resolve, reject) => {
      req.on('response', (res) => readResponse(res).then(resolve, reject));
      req.on('error', reject);
    });
    let answered = false;
    void response.then(
      () => (answered = true),
      () => {},
    );
    let written = 0;
    // 20 files of 400 KB are 8 MB, each under the 5 MB per-file limit; the server must stop at 5 MB in all.
    for (let i = 0; i < 20 && !answered && !req.destroyed; i++) {
      const part = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"; filename="f${i}.bpmn"\r\nContent-Type: application/xml\r\n\r\n`,
        ),
        file,
        Buffer.from('\r\n'),
      ]);
      written += part.length;
      if (!req.write(part))
        await new Promise((resolve) => {
          req.once('drain', resolve);
          void response.then(resolve, resolve);
        });
    }
    if (!answered && !req.destroyed) req.end(`--${boundary}--\r\n`);
    const answer = await response;
    req.destroy();
    assert.equal(answer.status, 413, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, 'OPERON_ERR_PAYLOAD_TOO_LARGE');
    assert.ok(written > FIVE_MB, 'the client sent past the limit');
    assert.equal((await served.api.engine.listProcesses()).filter((p) => p.bpmnProcessId.startsWith('f')).length, 0);
  });

  it('gives an unknown and a deployed-but-unconfigured process id the same 401', async () => {
    await deployFixtures(served.api, 'http-order.bpmn');
    const answer = async (id: string) => {
      const response = await fetch(`${served.base}/webhooks/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const body = (await response.json()) as {
        error: { code: string; message: string; details: Record<string, unknown> };
      };
      return {
        status: response.status,
        code: body.error.code,
        message: body.error.message.replaceAll(id, 'ID'),
        details: { ...body.error.details, bpmnProcessId: 'ID' },
      };
    };
    const unknown = await answer('no-such-process');
    assert.deepEqual(await answer('http-order'), unknown);
    assert.equal(unknown.status, 401);
    assert.equal(unknown.code, 'OPERON_ERR_WEBHOOK_NOT_CONFIGURED');
  });

  it('answers /metrics only with an API token', async () => {
    assert.equal((await fetch(`${served.base}/metrics`)).status, 401);
    assert.equal((await fetch(`${served.base}/metrics`, { headers: { authorization: 'Bearer nope' } })).status, 401);
    const scraped = await fetch(`${served.base}/metrics`, { headers: served.api.auth });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /operon_instances_started_total/);
  });
});

describe('lists', () => {
  let served: Served;

  before(async () => {
    served = await serve({}, { OPERON_AUTH_FAILURE_RATE: '0' });
    await deployFixtures(served.api, 'http-wait.bpmn');
    const started = await served.api.app.inject({
      method: 'POST',
      url: '/api/instances',
      headers: served.api.auth,
      payload: { bpmnProcessId: 'http-wait', variables: { n: 1 } },
    });
    assert.equal(started.statusCode, 201);
    const { instanceId } = started.json();
    const [task] = await served.api.engine.listUserTasks({ instanceId, state: 'open' });
    assert.ok(task);
    // 20,000 more open tasks on that instance, each carrying 2 KB of variables (what the inbox used to send along).
    await served.api.db.knex.raw(
      `INSERT INTO user_tasks (id, process_instance_id, element_instance_key, element_id, name, state, variables, created_at)
       SELECT gen_random_uuid(), :instanceId, 'copy-' || n, 'review', 'Review', 'open', jsonb_build_object('blob', repeat('x', 2048), 'n', n), now() + n * interval '1 millisecond'
         FROM generate_series(1, 20000) AS n`,
      { instanceId },
    );
  });
  after(async () => served?.api.close());

  it('answers GET /api/tasks?state=open over 20,000 open tasks with one page of summaries and the next offset', async () => {
    const response = await fetch(`${served.base}/api/tasks?state=open`, { headers: served.api.auth });
    assert.equal(response.status, 200);
    const { tasks, page } = (await response.json()) as {
      tasks: Record<string, unknown>[];
      page: { limit: number; offset: number; nextOffset: number | null };
    };
    assert.equal(tasks.length, 100);
    assert.deepEqual(page, { limit: 100, offset: 0, nextOffset: 100 });
    assert.ok(
      tasks.every((task) => !('variables' in task)),
      'the inbox lists no variables',
    );
    const last = (await (
      await fetch(`${served.base}/api/tasks?state=open&limit=500&offset=19900`, { headers: served.api.auth })
    ).json()) as { tasks: unknown[]; page: { nextOffset: number | null } };
    assert.equal(last.tasks.length, 101);
    assert.equal(last.page.nextOffset, null);
    const one = (await (
      await fetch(`${served.base}/api/tasks/${tasks[0]!.id}`, { headers: served.api.auth })
    ).json()) as { variables: Record<string, unknown> };
    assert.deepEqual(one.variables, { n: 1 }, 'GET /api/tasks/{id} has the variables');
    const tooMany = await fetch(`${served.base}/api/tasks?limit=501`, { headers: served.api.auth });
    assert.equal(tooMany.status, 400);
    assert.equal(
      ((await tooMany.json()) as { error: { details: { field: string } } }).error.details.field,
      'query.limit',
    );
  });

  it('pages instances, incidents and processes the same way', async () => {
    for (const [path, key] of [
      ['/api/instances?limit=1', 'instances'],
      ['/api/incidents?limit=1', 'incidents'],
      ['/api/processes?limit=1', 'processes'],
    ] as const) {
      const response = await fetch(`${served.base}${path}`, { headers: served.api.auth });
      assert.equal(response.status, 200, path);
      const body = (await response.json()) as Record<string, unknown> & {
        page: { limit: number; offset: number; nextOffset: number | null };
      };
      assert.ok(Array.isArray(body[key]), path);
      assert.deepEqual(body.page, { limit: 1, offset: 0, nextOffset: null }, path);
    }
  });
});

describe('rate limits by route and failed authentication', () => {
  let served: Served;

  before(async () => {
    // Refill rates so slow (one request per 100 s) that a loaded machine cannot refill a bucket mid-test.
    // The API burst is 8: deploying and configuring below take two, the first test counts on six.
    served = await serve(
      {},
      {
        OPERON_API_RATE: '0.01',
        OPERON_API_BURST: '8',
        OPERON_WEBHOOK_RATE: '0.01',
        OPERON_WEBHOOK_BURST: '4',
        OPERON_AUTH_FAILURE_RATE: '0.01',
        OPERON_AUTH_FAILURE_BURST: '5',
      },
    );
    await deployFixtures(served.api, 'http-ping.bpmn');
    assert.equal(
      (
        await served.api.app.inject({
          method: 'PUT',
          url: '/api/processes/http-ping/webhook',
          headers: served.api.auth,
          payload: { open: true },
        })
      ).statusCode,
      200,
    );
  });
  after(async () => served?.api.close());

  it('counts /%61pi/... and /api/... toward one API bucket, and /webhooks/%68ttp-ping toward its webhook', async () => {
    const statuses: number[] = [];
    for (const path of [
      '/api/processes',
      '/%61pi/processes',
      '/api/processes',
      '/%61pi/processes',
      '/API/processes',
      '/api/%70rocesses',
      '/%61pi/processes',
      '/api/processes',
    ]) {
      statuses.push((await fetch(`${served.base}${path}`, { headers: served.api.auth })).status);
    }
    // /API/processes is another path (404, the per-address bucket), the others share the token's bucket of 6.
    assert.deepEqual(statuses, [200, 200, 200, 200, 404, 200, 200, 429]);
    const hooks: number[] = [];
    for (const path of [
      '/webhooks/http-ping',
      '/webhooks/%68ttp-ping',
      '/webhooks/http%2Dping',
      '/webhooks/http-ping',
      '/webhooks/%68ttp-ping',
    ]) {
      hooks.push(
        (
          await fetch(`${served.base}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          })
        ).status,
      );
    }
    assert.deepEqual(hooks, [202, 202, 202, 202, 429]);
  });

  it('answers 429 to an address that keeps failing authentication, whatever new token it tries', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push(
        (
          await fetch(`${served.base}/api/instances`, {
            headers: { authorization: `Bearer bad_${randomBytes(8).toString('hex')}` },
          })
        ).status,
      );
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    const blocked = await fetch(`${served.base}/metrics`);
    assert.equal(blocked.status, 429);
    const { error } = (await blocked.json()) as { error: { code: string; details: { scope: string } } };
    assert.equal(error.code, 'OPERON_ERR_RATE_LIMITED');
    assert.equal(error.details.scope, 'auth-failures');
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`${served.base}/healthz`)).status, 200, 'routes without credentials stay open');
  });
});

describe('slow uploads', () => {
  let served: Served;

  before(async () => {
    served = await serve({ requestTimeoutMs: 1000 }, { OPERON_AUTH_FAILURE_RATE: '0' });
  });
  after(async () => served?.api.close());

  it('closes a request whose body trickles in past the request timeout', async () => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: served.port,
      path: '/api/instances',
      method: 'POST',
      headers: { ...served.api.auth, 'content-type': 'application/json', 'content-length': '100000' },
    });
    const ended = new Promise<{ status?: number; error?: string }>((resolve) => {
      req.on('response', (res) =>
        readResponse(res).then(
          (answer) => resolve({ status: answer.status }),
          (error: Error) => resolve({ error: error.message }),
        ),
      );
      req.on('error', (error) => resolve({ error: error.message }));
    });
    let done = false;
    void ended.then(() => (done = true));
    let sent = 0;
    // One byte every 100 ms would take 10,000 s; the server must end it long before.
    while (!done && sent < 100_000) {
      req.write('{');
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const outcome = await ended;
    assert.ok(sent < 100_000, 'the server ended the request while the body was still arriving');
    assert.ok(outcome.status === 408 || outcome.error !== undefined, JSON.stringify(outcome));
    req.destroy();
  });
});
