/**
 * The bot runner in real headless Chromium against a small local site: a run recorded in bot_runs,
 * a broken page with screenshot and trace, a canary secret that appears nowhere in the database or
 * the artifacts, the egress policy, invalid input without a browser, the hard timeout, abort,
 * business errors and a browser crash.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBotNode, createSecretStore, defineBot } from '../../nodes/bot/index.ts';
import { BpmnError, type OperonError } from '../../engine/errors.ts';
import type { NodeContext } from '../../engine/nodes/types.ts';
import { directRecord, recordsWritten } from '../support/node-context.ts';

const CANARY = `canary-${randomUUID()}`;
const USER = 'clerk.canary';

function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; origin: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler!(req, res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }),
    ),
  );
}

const html = (body: string) => `<!doctype html><html><body>${body}</body></html>`;

/** A portal with a login (303 + cookie), a home page, a page missing the expected element, a page that never answers. */
async function portal(outsideOrigin: () => string) {
  return listen((req, res) => {
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/html', ...headers });
      res.end(body);
    };
    if (req.url === '/login' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        if (form.get('user') === USER && form.get('password') === CANARY)
          send(303, '', { location: '/home', 'set-cookie': 'sid=ok; Path=/' });
        else send(401, html('<p id="error">Wrong password</p>'));
      });
      return;
    }
    if (req.url === '/login')
      return send(
        200,
        html(
          '<form method="post" action="/login"><input name="user" id="user"><input name="password" id="password" type="password"><button>Sign in</button></form>',
        ),
      );
    if (req.url === '/home')
      return send(
        200,
        req.headers.cookie?.includes('sid=ok')
          ? html('<h1 id="greeting">Welcome back</h1>')
          : html('<p>not signed in</p>'),
      );
    if (req.url === '/broken') return send(200, html('<h1>Maintenance</h1><p>The search form is gone.</p>'));
    if (req.url === '/with-pixel')
      return send(200, html(`<h1 id="greeting">Tracked</h1><img src="${outsideOrigin()}/pixel.png">`));
    if (req.url === '/redirect-out') return send(302, '', { location: `${outsideOrigin()}/stolen` });
    if (req.url === '/never') return; // never answers
    send(404, html('not found'));
  });
}

const signInBot = defineBot({
  name: 'sign-in',
  input: z.object({ then: z.enum(['home', 'broken']).default('home') }),
  output: z.object({ greeting: z.string() }),
  secrets: ['PORTAL_USER', 'PORTAL_PASSWORD'],
  async run({ page, input, secrets, baseUrl }) {
    await page.goto(`${baseUrl}/login`);
    await secrets.use(async ({ fill }) => {
      await fill(page.locator('#user'), 'PORTAL_USER');
      await fill(page.locator('#password'), 'PORTAL_PASSWORD');
      await Promise.all([page.waitForURL('**/home'), page.getByRole('button', { name: 'Sign in' }).click()]);
    });
    if (input.then === 'broken') await page.goto(`${baseUrl}/broken`);
    return { greeting: (await page.locator('#greeting').textContent()) ?? '' };
  },
});

const visitBot = defineBot({
  name: 'visit',
  input: z.object({ url: z.string(), pages: z.number().int().min(1).max(3).default(1) }),
  output: z.object({ title: z.string() }),
  async run({ page, input, baseUrl }) {
    await page.goto(new URL(input.url, baseUrl).toString());
    return { title: (await page.locator('#greeting').textContent({ timeout: 2_000 })) ?? '' };
  },
});

const lookupBot = defineBot({
  name: 'lookup',
  input: z.object({ applicant: z.string() }),
  output: z.object({}),
  async run({ input }) {
    throw new BpmnError('APPLICANT_NOT_FOUND', `No applicant ${input.applicant}`);
  },
});

const leakyBot = defineBot({
  name: 'leaky',
  input: z.object({}),
  output: z.object({ password: z.string() }),
  secrets: ['PORTAL_PASSWORD'],
  async run({ secrets }) {
    return { password: await secrets.use(async ({ value }) => value('PORTAL_PASSWORD')) };
  },
});

describe('bot runner', () => {
  let db: TestDatabase;
  let site: Awaited<ReturnType<typeof portal>>;
  let outside: Awaited<ReturnType<typeof listen>>;
  let artifactsDir: string;
  let node: ReturnType<typeof createBotNode>;
  const logLines: string[] = [];
  const logger = {
    debug: (o: object | string, m?: string) => logLines.push(JSON.stringify([o, m])),
    info: (o: object | string, m?: string) => logLines.push(JSON.stringify([o, m])),
    warn: (o: object | string, m?: string) => logLines.push(JSON.stringify([o, m])),
    error: (o: object | string, m?: string) => logLines.push(JSON.stringify([o, m])),
    child: () => logger,
  };
  const ctx = (bot: string, extra: Partial<NodeContext> = {}): NodeContext => ({
    signal: new AbortController().signal,
    logger,
    instanceId: randomUUID(),
    elementId: `Task_${bot}`,
    elementInstanceId: randomUUID(),
    jobId: randomUUID(),
    attempt: 1,
    taskType: `bot:${bot}`,
    headers: {},
    secrets: { get: () => undefined, values: () => [] },
    record: directRecord(
      () => db.knex,
      () => node,
    ),
    ...extra,
  });
  const runsOf = async (c: NodeContext) => {
    await recordsWritten();
    return db.knex('bot_runs').where({ job_id: c.jobId });
  };

  before(async () => {
    db = await createTestDatabase();
    outside = await listen((_req, res) => res.end('outside'));
    site = await portal(() => outside.origin);
    artifactsDir = mkdtempSync(join(tmpdir(), 'operon-bot-artifacts-'));
    node = createBotNode({
      bots: [signInBot, visitBot, lookupBot, leakyBot],
      baseUrl: site.origin,
      artifactsDir,
      timeoutMs: 40_000,
      // Also Playwright's navigation timeout: 1.5 s made page.goto time out on a loaded machine. The
      // broken-page test waits this long for #greeting; the abort test aborts at 0.3 s, well before it.
      actionTimeoutMs: 8_000,
      secrets: createSecretStore({ env: {}, defaults: { PORTAL_USER: USER, PORTAL_PASSWORD: CANARY } }),
    });
  });
  after(async () => {
    await node?.close?.();
    site?.server.close();
    outside?.server.close();
    await db?.drop();
  });

  test('a bot signs in with secrets and returns validated output; the run is recorded', {
    timeout: 60_000,
  }, async () => {
    const c = ctx('sign-in');
    assert.deepEqual(await node.run({ unrelated: 'variable' }, c), { greeting: 'Welcome back' });
    const [row] = await runsOf(c);
    assert.equal(row.bot, 'sign-in');
    assert.equal(row.outcome, 'succeeded');
    assert.equal(row.process_instance_id, c.instanceId);
    assert.equal(row.element_id, 'Task_sign-in');
    assert.equal(row.element_instance_key, c.elementInstanceId);
    assert.equal(row.attempt, 1);
    assert.ok(row.duration_ms > 0);
    assert.ok(row.finished_at >= row.started_at);
    assert.equal(row.screenshot_path, null);
  });

  test('a broken page fails with a screenshot and a trace recorded in bot_runs and named in the error', {
    timeout: 60_000,
  }, async () => {
    const c = ctx('sign-in');
    const error = await node.run({ then: 'broken' }, c).then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.equal((error as OperonError).code, undefined, 'a technical error, retried by the engine');
    const [row] = await runsOf(c);
    assert.equal(row.outcome, 'failed');
    assert.ok(row.screenshot_path && existsSync(row.screenshot_path), 'screenshot exists');
    assert.ok(row.trace_path && existsSync(row.trace_path), 'trace exists');
    assert.ok(statSync(row.screenshot_path).size > 1000);
    assert.ok(error.message.includes(row.screenshot_path), 'the incident message names the screenshot');
    assert.match(error.message, /#greeting/);
    assert.equal(readFileSync(row.screenshot_path).subarray(1, 4).toString(), 'PNG');
  });

  test('the canary secret appears nowhere: not in any table, artifact (unzipped trace included) or log line', {
    timeout: 60_000,
  }, async () => {
    await assert.rejects(
      node.run({}, ctx('leaky')),
      (e: OperonError) => e.code === 'OPERON_ERR_BOT_OUTPUT' && !e.message.includes(CANARY),
    );
    const tables = (await db.knex.raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows as {
      tablename: string;
    }[];
    assert.ok(tables.length > 5);
    for (const { tablename } of tables) {
      const hit = await db.knex.raw(`SELECT count(*)::int AS n FROM ?? AS t WHERE t::text LIKE ?`, [
        tablename,
        `%${CANARY}%`,
      ]);
      assert.equal(hit.rows[0].n, 0, `canary in table ${tablename}`);
    }
    await recordsWritten();
    assert.ok((await db.knex('bot_runs').count<{ count: string }[]>('* as count'))[0]!.count !== '0');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true }))
        entry.isDirectory() ? walk(join(dir, entry.name)) : files.push(join(dir, entry.name));
    };
    walk(artifactsDir);
    const traces = files.filter((f) => f.endsWith('.zip'));
    assert.ok(traces.length >= 1, 'there is a trace to search');
    for (const file of files) assert.ok(!readFileSync(file).includes(CANARY), `canary in ${file}`);
    for (const trace of traces) {
      const content = execFileSync('unzip', ['-p', trace], { maxBuffer: 256 * 1024 * 1024 });
      assert.ok(content.length > 1000, 'the trace has content');
      assert.ok(!content.includes(CANARY), `canary inside ${trace}`);
      assert.ok(!content.includes(USER), `user name inside ${trace}`);
    }
    for (const line of logLines) assert.ok(!line.includes(CANARY), `canary in log line ${line}`);
  });

  test('navigation outside the policy is stopped and reported: other host, file:, link-local, redirect', {
    timeout: 60_000,
  }, async () => {
    for (const url of [
      `${outside.origin}/page`,
      'file:///etc/passwd',
      'http://169.254.169.254/latest/meta-data/',
      '/redirect-out',
    ]) {
      const c = ctx('visit');
      await assert.rejects(node.run({ url }, c), (e: OperonError) => {
        assert.equal(e.code, 'OPERON_ERR_BOT_EGRESS_BLOCKED', url);
        assert.equal(e.retryable, false);
        return true;
      });
      const [row] = await runsOf(c);
      assert.equal(row.outcome, 'blocked', url);
      assert.ok(row.blocked_requests.length >= 1, url);
      assert.match(row.error_message, /egress policy/);
    }
    assert.deepEqual(outside.hits, [], 'nothing reached the outside host, not even through the redirect');
  });

  test('a subresource towards another host is blocked and reported while the bot succeeds', {
    timeout: 60_000,
  }, async () => {
    const c = ctx('visit');
    assert.deepEqual(await node.run({ url: '/with-pixel' }, c), { title: 'Tracked' });
    const [row] = await runsOf(c);
    assert.equal(row.outcome, 'succeeded');
    assert.match(row.blocked_requests[0].url, /pixel\.png/);
    assert.deepEqual(outside.hits, []);
  });

  test('invalid input names the field and starts no browser', { timeout: 60_000 }, async () => {
    const fresh = createBotNode({ bots: [visitBot], baseUrl: site.origin, artifactsDir });
    try {
      const c = ctx('visit');
      await assert.rejects(fresh.run({ url: 42 }, c), (e: OperonError) => {
        assert.equal(e.code, 'OPERON_ERR_NODE_INPUT');
        assert.equal(e.details.field, 'url');
        assert.equal(e.retryable, false);
        return true;
      });
      assert.equal(fresh.browser.started, false);
      const [row] = await runsOf(c);
      assert.equal(row.outcome, 'failed');
      assert.equal(row.error_code, 'OPERON_ERR_NODE_INPUT');
    } finally {
      await fresh.close?.();
    }
  });

  test('an unknown bot fails validation naming the element', () => {
    assert.throws(
      () => node.validate!({ elementId: 'CheckCredit', taskType: 'bot:nope', name: 'nope', headers: {} }),
      (e: OperonError) => {
        assert.equal(e.code, 'OPERON_ERR_UNKNOWN_BOT');
        assert.deepEqual(e.details, { elementId: 'CheckCredit', bot: 'nope' });
        return true;
      },
    );
    node.validate!({ elementId: 'X', taskType: 'bot:visit', name: 'visit', headers: {} });
  });

  test('a page that never loads hits the hard timeout: screenshot, context closed, retryable', {
    timeout: 60_000,
  }, async () => {
    // The hard timeout also covers opening the context and starting the trace, so the browser is
    // launched by a first run before the timed one, and 10 s leaves a loaded machine room for a context
    // and a trace; a navigation timeout of 30 s still makes sure it is the hard timeout that strikes,
    // while the page is loading (checked below).
    const patient = createBotNode({ bots: [visitBot], baseUrl: site.origin, artifactsDir, actionTimeoutMs: 30_000 });
    try {
      await patient.run({ url: '/home' }, ctx('visit')).catch(() => undefined);
      const c = ctx('visit', { headers: { timeoutMs: '10000' } });
      const before = site.hits.filter((url) => url === '/never').length;
      await assert.rejects(patient.run({ url: '/never' }, c), (e: OperonError) => {
        assert.equal(e.code, 'OPERON_ERR_NODE_TIMEOUT');
        assert.equal(e.retryable, true);
        return true;
      });
      // At least once: Chromium may send the request again on a new connection (a kept-alive socket
      // the server closed meanwhile), which a loaded machine makes likely.
      assert.ok(
        site.hits.filter((url) => url === '/never').length >= before + 1,
        'the timeout struck while the page was loading',
      );
      const [row] = await runsOf(c);
      assert.equal(row.outcome, 'timed_out');
      // Chromium cannot screenshot a page whose navigation never commits; the trace (with its screencast) is kept.
      assert.ok(
        (row.screenshot_path && existsSync(row.screenshot_path)) || (row.trace_path && existsSync(row.trace_path)),
        'an artifact of the timed-out run',
      );
      const browser = await patient.browser.browser();
      assert.equal(browser.contexts().length, 0, 'the context is closed');
    } finally {
      await patient.close?.();
    }
  });

  test('aborting the job signal closes the context and records aborted', { timeout: 60_000 }, async () => {
    const controller = new AbortController();
    const c = ctx('visit', { signal: controller.signal });
    const running = node.run({ url: '/never' }, c);
    setTimeout(() => controller.abort(new Error('instance cancelled')), 300);
    await assert.rejects(running);
    const [row] = await runsOf(c);
    assert.equal(row.outcome, 'aborted');
    const browser = await node.browser.browser();
    for (let i = 0; i < 50 && browser.contexts().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(browser.contexts().length, 0, 'the context is closed');
  });

  test('a business error is raised as a BpmnError and recorded', { timeout: 60_000 }, async () => {
    const c = ctx('lookup');
    await assert.rejects(node.run({ applicant: 'Nobody' }, c), (e: BpmnError) => e.errorCode === 'APPLICANT_NOT_FOUND');
    const [row] = await runsOf(c);
    assert.equal(row.outcome, 'business_error');
    assert.equal(row.error_code, 'APPLICANT_NOT_FOUND');
  });

  test("no run leaves Playwright's temporary tracing folder behind: succeeded, business error, failed, aborted", {
    timeout: 120_000,
  }, async () => {
    // Playwright makes a playwright-tracing-* folder under os.tmpdir() for each trace it starts and
    // removes it only when the trace is stopped: a run that closed its context while tracing left
    // one behind, an empty folder in /tmp for every bot job a worker ever ran.
    const before = process.env.TMPDIR;
    const tmp = mkdtempSync(join(tmpdir(), 'operon-bot-tmp-'));
    process.env.TMPDIR = tmp;
    try {
      assert.deepEqual(await node.run({}, ctx('sign-in')), { greeting: 'Welcome back' });
      await assert.rejects(node.run({ applicant: 'Nobody' }, ctx('lookup')));
      await assert.rejects(node.run({ then: 'broken' }, ctx('sign-in')));
      const controller = new AbortController();
      const running = node.run({ url: '/never' }, ctx('visit', { signal: controller.signal }));
      setTimeout(() => controller.abort(new Error('instance cancelled')), 300);
      await assert.rejects(running);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    const left = readdirSync(tmp).filter((name) => name.startsWith('playwright-tracing-'));
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(left, []);
  });

  test('after a browser crash the next job relaunches Chromium', { timeout: 60_000 }, async () => {
    const browser = await node.browser.browser();
    const launches = node.browser.launches;
    const pid = (browser as unknown as { process?: () => { pid: number } }).process?.()?.pid;
    await browser.close(); // same effect for the runner as a crash: the browser disconnects
    assert.deepEqual(await node.run({}, ctx('sign-in')), { greeting: 'Welcome back' });
    assert.equal(node.browser.launches, launches + 1);
    assert.notEqual((await node.browser.browser()).isConnected(), false);
    void pid;
  });
});
