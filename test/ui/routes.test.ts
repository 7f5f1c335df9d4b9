/**
 * The cockpit's server side without a browser (fastify.inject on a real engine and database): the
 * static shell and its headers, the /api/ui routes behind the token, claiming, the review answer
 * stored as the decision's reviewed label, Camunda forms, statistics, and artifact path checks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { insideArtifacts } from '../../engine/ui/artifacts.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture } from './support/cockpit.ts';

describe('cockpit server', () => {
  let db: TestDatabase;
  let engine: PostgresEngine;
  let app: FastifyInstance;
  const token = `ui_${randomBytes(12).toString('hex')}`;
  const auth = { authorization: `Bearer ${token}` };
  const json = (response: { body: string }) => JSON.parse(response.body);
  const artifactsDir = mkdtempSync(join(tmpdir(), 'operon-artifacts-'));

  before(async () => {
    process.env.OPERON_ARTIFACTS_DIR = artifactsDir;
    db = await createTestDatabase();
    engine = createEngine({ db: db.knex });
    app = await buildApp({ engine, db: db.knex, apiToken: token, defaultMetrics: false });
    await engine.deploy([{ name: 'expense-form.bpmn', xml: fixture('expense-form.bpmn') }]);
  });
  after(async () => {
    await app?.close();
    await engine?.close();
    await db?.drop();
    rmSync(artifactsDir, { recursive: true, force: true });
  });

  async function openTask(variables: Record<string, unknown>) {
    const { instanceId } = await engine.startInstance('expense-approval', variables);
    const [task] = await engine.listUserTasks({ state: 'open', instanceId });
    assert.ok(task, 'the user task is open');
    return { instanceId, task };
  }

  test('the shell is served without a token, locked down by headers; data needs the token', async () => {
    const redirect = await app.inject({ method: 'GET', url: '/ui' });
    assert.equal(redirect.statusCode, 302);
    const shell = await app.inject({ method: 'GET', url: '/ui/' });
    assert.equal(shell.statusCode, 200);
    assert.match(shell.headers['content-type'] as string, /text\/html/);
    assert.match(shell.headers['content-security-policy'] as string, /script-src 'self'/);
    assert.equal(shell.headers['x-content-type-options'], 'nosniff');
    assert.match(shell.body, /bpmn-navigated-viewer\.production\.min\.js/);
    for (const url of [
      '/ui/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js',
      '/ui/vendor/htm/standalone.module.js',
      '/ui/vendor/form-js/form-viewer.umd.js',
      '/ui/js/app.js',
      '/ui/app.css',
    ]) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/ui/vendor/bpmn-js/../../package.json' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: '/ui/vendor/htm/%2e%2e/package.json' })).statusCode, 404);

    for (const url of [
      '/api/ui/statistics',
      `/api/ui/instances/${randomUUID()}/history`,
      `/api/ui/instances/${randomUUID()}/bot-runs`,
      `/api/ui/instances/${randomUUID()}/decision-evaluations`,
      `/api/ui/tasks/${randomUUID()}/form`,
    ]) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 401, url);
      assert.equal(json(response).error.code, 'OPERON_ERR_UNAUTHORIZED');
    }
    assert.equal(
      (await app.inject({ method: 'POST', url: `/api/ui/tasks/${randomUUID()}/claim`, payload: { assignee: 'x' } }))
        .statusCode,
      401,
    );
  });

  test('the sign-in configuration needs no token: no single sign-on here; an unreachable provider is 503', async () => {
    const plain = await app.inject({ method: 'GET', url: '/api/ui/auth-config' });
    assert.equal(plain.statusCode, 200);
    assert.deepEqual(json(plain), { oidc: null });
    const plainShell = await app.inject({ method: 'GET', url: '/ui/' });
    assert.match(plainShell.headers['content-security-policy'] as string, /connect-src 'self';/);

    // An issuer nobody answers at (a port just closed): the cockpit is told, with the issuer.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const withIdp = await buildApp({
      engine,
      db: db.knex,
      apiToken: token,
      defaultMetrics: false,
      oidc: {
        issuer,
        audience: 'urn:operon:api',
        rolesClaim: 'roles',
        groupsClaim: 'groups',
        userClaim: 'preferred_username',
        clientId: 'operon-cockpit',
        scopes: 'openid',
      },
    });
    try {
      const unreachable = await withIdp.inject({ method: 'GET', url: '/api/ui/auth-config' });
      assert.equal(unreachable.statusCode, 503);
      assert.equal(json(unreachable).error.code, 'OPERON_ERR_IDP_UNAVAILABLE');
      assert.equal(json(unreachable).error.details.issuer, issuer);
      const shell = await withIdp.inject({ method: 'GET', url: '/ui/' });
      assert.match(shell.headers['content-security-policy'] as string, new RegExp(`connect-src 'self' ${issuer};`));
    } finally {
      await withIdp.close();
    }
  });

  test('claim sets the assignee of an open task; a finished task cannot be claimed', async () => {
    const { task } = await openTask({ employee: 'Ana', amount: 10 });
    const claimed = await app.inject({
      method: 'POST',
      url: `/api/ui/tasks/${task.id}/claim`,
      headers: auth,
      payload: { assignee: 'lee' },
    });
    assert.equal(claimed.statusCode, 200);
    assert.equal(json(claimed).assignee, 'lee');
    assert.equal((await db.knex('user_tasks').where({ id: task.id }).first()).assignee, 'lee');

    const completed = await app.inject({
      method: 'POST',
      url: `/api/ui/tasks/${task.id}/complete`,
      headers: auth,
      payload: { variables: { approved: true } },
    });
    assert.equal(completed.statusCode, 200);
    assert.equal(json(completed).state, 'completed');
    assert.equal(
      (await db.knex('user_tasks').where({ id: task.id }).first()).completed_by,
      'lee',
      'the assignee completed it',
    );

    const late = await app.inject({
      method: 'POST',
      url: `/api/ui/tasks/${task.id}/claim`,
      headers: auth,
      payload: { assignee: 'kim' },
    });
    assert.equal(late.statusCode, 409);
    assert.equal(json(late).error.code, 'OPERON_ERR_CONFLICT');
    const unknown = await app.inject({
      method: 'POST',
      url: `/api/ui/tasks/${randomUUID()}/claim`,
      headers: auth,
      payload: { assignee: 'kim' },
    });
    assert.equal(unknown.statusCode, 404);
  });

  test("a review answer becomes the reviewed label of the task's decision; a label the model lacks is refused", async () => {
    const decisionId = randomUUID();
    const { instanceId, task } = await openTask({
      employee: 'Bo',
      amount: 9000,
      decision: {
        decisionId,
        label: 'approve',
        confidence: 0.71,
        scores: { approve: 0.71, reject: 0.2, review: 0.09 },
      },
    });
    // What the decision node wrote for this instance, plus an older decision the task does not show.
    const row = {
      model_name: 'loan',
      model_version: '1',
      model_file_hash: 'a'.repeat(64),
      prompt: 'p',
      inputs: {},
      label: 'approve',
      confidence: 0.71,
      threshold: 0.9,
      needs_review: true,
      latency_ms: 2,
      process_instance_id: instanceId,
    };
    await db.knex('decisions').insert([
      { ...row, id: decisionId, scores: { approve: 0.71, reject: 0.2, review: 0.09 } },
      {
        ...row,
        id: randomUUID(),
        scores: { approve: 0.5, reject: 0.5, review: 0 },
        created_at: new Date(Date.now() + 60_000),
      },
    ]);

    const wrong = await app.inject({
      method: 'POST',
      url: `/api/ui/tasks/${task.id}/complete`,
      headers: auth,
      payload: { variables: { reviewedLabel: 'maybe' }, completedBy: 'mia' },
    });
    assert.equal(wrong.statusCode, 400);
    assert.equal(json(wrong).error.details.field, 'body.variables.reviewedLabel');
    assert.equal((await engine.listUserTasks({ state: 'open', instanceId })).length, 1, 'the task stays open');

    const done = await app.inject({
      method: 'POST',
      url: `/api/ui/tasks/${task.id}/complete`,
      headers: auth,
      payload: { variables: { reviewedLabel: 'reject' }, completedBy: 'mia' },
    });
    assert.equal(done.statusCode, 200);
    const reviewed = await db
      .knex('decisions')
      .where({ process_instance_id: instanceId })
      .whereNotNull('reviewed_label')
      .select('id', 'reviewed_label', 'reviewed_by', 'reviewed_at');
    assert.equal(reviewed.length, 1, 'only the reviewed decision changed');
    assert.equal(reviewed[0].id, decisionId);
    assert.equal(reviewed[0].reviewed_label, 'reject');
    assert.equal(reviewed[0].reviewed_by, 'mia');
    assert.ok(reviewed[0].reviewed_at instanceof Date);
    const view = json(await app.inject({ method: 'GET', url: `/api/instances/${instanceId}`, headers: auth }));
    assert.equal(view.state, 'completed');
    assert.equal(view.decisions.find((d: { id: string }) => d.id === decisionId).reviewedLabel, 'reject');
  });

  test("a task's embedded Camunda form, statistics per element and per definition, history", async () => {
    const { instanceId, task } = await openTask({ employee: 'Cy', amount: 5 });
    const form = json(await app.inject({ method: 'GET', url: `/api/ui/tasks/${task.id}/form`, headers: auth }));
    assert.equal(form.formKey, 'camunda-forms:bpmn:UserTaskForm_approve');
    assert.deepEqual(
      form.schema.components.map((c: { key: string }) => c.key),
      ['employee', 'amount', 'approved', 'approverComment'],
    );

    const [definition] = await engine.listProcesses();
    const { elements } = json(
      await app.inject({
        method: 'GET',
        url: `/api/ui/definitions/${definition!.definitionId}/statistics`,
        headers: auth,
      }),
    );
    const active = await db.knex('user_tasks').where({ state: 'open' }).count('* as n').first();
    const approve = elements.find((e: { elementId: string }) => e.elementId === 'approve');
    assert.equal(approve.active, Number(active!.n));
    assert.equal(approve.incidents, 0);
    const { definitions } = json(await app.inject({ method: 'GET', url: '/api/ui/statistics', headers: auth }));
    const instances = await db.knex('process_instances').select('state').count('* as n').groupBy('state');
    for (const { state, n } of instances as { state: 'active' | 'completed'; n: string }[])
      assert.equal(definitions[0][state], Number(n), state);

    const { events } = json(
      await app.inject({ method: 'GET', url: `/api/ui/instances/${instanceId}/history`, headers: auth }),
    );
    assert.equal(events[0].type, 'instance.started');
    assert.ok(
      events.some((e: { type: string; elementId: string }) => e.type === 'flow.taken' && e.elementId === 'toApprove'),
    );
  });

  test('artifacts are read only from inside the artifacts directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'operon-artifacts-'));
    const outside = mkdtempSync(join(tmpdir(), 'operon-outside-'));
    mkdirSync(join(root, 'run-1'));
    writeFileSync(join(root, 'run-1', 'page.png'), 'png');
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'run-1', 'link.png'));
    assert.equal(await insideArtifacts(root, 'run-1/page.png'), join(root, 'run-1', 'page.png'));
    assert.equal(await insideArtifacts(root, join(root, 'run-1', 'page.png')), join(root, 'run-1', 'page.png'));
    assert.equal(await insideArtifacts(root, `../${outside.split('/').pop()}/secret.txt`), undefined);
    assert.equal(await insideArtifacts(root, join(outside, 'secret.txt')), undefined);
    assert.equal(await insideArtifacts(root, 'run-1/link.png'), undefined, 'a link out of the directory');
    assert.equal(await insideArtifacts(root, 'run-1'), undefined, 'a directory');
    assert.equal(await insideArtifacts(root, 'run-1/missing.png'), undefined);
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  test("an instance's bot runs, and their artifacts served only from the artifacts directory", async () => {
    const { instanceId } = await openTask({ employee: 'Di', amount: 1 });
    mkdirSync(join(artifactsDir, 'run-2'));
    writeFileSync(join(artifactsDir, 'run-2', 'shot.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const outside = mkdtempSync(join(tmpdir(), 'operon-outside-'));
    writeFileSync(join(outside, 'passwd'), 'root:x:0:0');
    const run = {
      process_instance_id: instanceId,
      element_id: 'bureau',
      bot: 'credit-bureau',
      outcome: 'failed',
      duration_ms: 1200,
      blocked_requests: JSON.stringify([{ url: 'http://169.254.169.254/', reason: 'link-local' }]),
    };
    const [inside, escaping] = (await db
      .knex('bot_runs')
      .insert([
        { ...run, screenshot_path: 'run-2/shot.png', trace_path: `../${outside.split('/').pop()}/passwd` },
        { ...run, attempt: 2, outcome: 'succeeded', screenshot_path: join(outside, 'passwd'), trace_path: null },
      ])
      .returning('id')) as { id: string }[];

    const { botRuns } = json(
      await app.inject({ method: 'GET', url: `/api/ui/instances/${instanceId}/bot-runs`, headers: auth }),
    );
    assert.equal(botRuns.length, 2);
    assert.equal(botRuns[0].bot, 'credit-bureau');
    assert.equal(botRuns[0].durationMs, 1200);
    assert.equal(botRuns[0].blockedRequests, 1);
    assert.equal(botRuns[0].hasScreenshot, true);
    assert.ok(!JSON.stringify(botRuns).includes(outside), 'paths are not shown');

    const shot = await app.inject({ method: 'GET', url: `/api/ui/bot-runs/${inside!.id}/screenshot`, headers: auth });
    assert.equal(shot.statusCode, 200);
    assert.equal(shot.headers['content-type'], 'image/png');
    assert.deepEqual(shot.rawPayload, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    assert.equal(
      (await app.inject({ method: 'GET', url: `/api/ui/bot-runs/${inside!.id}/screenshot` })).statusCode,
      401,
    );
    for (const url of [
      `/api/ui/bot-runs/${inside!.id}/trace`,
      `/api/ui/bot-runs/${escaping!.id}/screenshot`,
      `/api/ui/bot-runs/${escaping!.id}/trace`,
      `/api/ui/bot-runs/${randomUUID()}/trace`,
    ]) {
      const response = await app.inject({ method: 'GET', url, headers: auth });
      assert.equal(response.statusCode, 404, url);
      assert.ok(!response.body.includes('root:x'), url);
    }
    rmSync(outside, { recursive: true, force: true });
  });
});
