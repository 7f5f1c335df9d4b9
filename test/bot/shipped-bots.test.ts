/**
 * The shipped bots against the demo web applications, in real headless Chromium (one browser for the
 * file), through the bot node: every bot's happy path, its business errors, a form the carrier
 * refuses first, a broken page with a screenshot, a BPMN with a bot:credit-bureau task run by the
 * real engine, and a canary credit-bureau password that must appear in no table, log or artifact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { directRecord, recordsWritten } from '../support/node-context.ts';
import { createBotNode, createSecretStore, defineBot } from '../../nodes/bot/index.ts';
import { shippedBots } from '../../processes/bots/index.ts';
import { signIn, appUrl } from '../../processes/bots/sign-in.ts';
import { startDemoApps, demoSecretDefaults, stock, type DemoApps } from '../../processes/demo-apps/index.ts';
import { isBpmnError, type BpmnError } from '../../engine/errors.ts';
import type { NodeContext, NodeType } from '../../engine/nodes/types.ts';
import { createEngine } from '../../engine/engine.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { runUntilRest } from '../../engine/cli/run-until-rest.ts';

/** The credit bureau's report page after a redesign: the score field was renamed (?broken=1). */
const redesignedReportBot = defineBot({
  name: 'credit-report-redesigned',
  input: z.object({ applicantId: z.string() }),
  output: z.object({ creditScore: z.number() }),
  secrets: ['CREDIT_BUREAU_USER', 'CREDIT_BUREAU_PASSWORD'],
  async run({ page, input, secrets, baseUrl }) {
    const app = appUrl(baseUrl, '/credit-bureau');
    await signIn(page, secrets, app, 'CREDIT_BUREAU');
    await page.goto(`${app}/applicants/${input.applicantId}?broken=1`);
    return { creditScore: Number(await page.locator('[data-field=score]').textContent()) };
  },
});

let db: TestDatabase;
let apps: DemoApps;
let node: NodeType;
const artifactsDir = mkdtempSync(join(tmpdir(), 'operon-shipped-bots-'));
/** The credit bureau's password for this file: the demo app and the bots both read it by name. */
const CANARY = `canary-${randomUUID()}`;
process.env.OPERON_SECRET_CREDIT_BUREAU_PASSWORD = CANARY;
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) }),
);
const noSecrets = { get: () => undefined, values: () => [] };

before(async () => {
  [db, apps] = await Promise.all([createTestDatabase(), startDemoApps({ port: 0 })]);
  node = createBotNode({
    bots: [...shippedBots, redesignedReportBot],
    baseUrl: apps.baseUrl,
    secrets: createSecretStore({ env: { OPERON_SECRET_CREDIT_BUREAU_PASSWORD: CANARY }, defaults: demoSecretDefaults }),
    artifactsDir,
    concurrency: 1,
    actionTimeoutMs: 3_000,
  });
});

after(async () => {
  await node.close?.();
  await apps.close();
  await db.drop();
});

function context(bot: string): NodeContext {
  return {
    signal: new AbortController().signal,
    logger,
    instanceId: randomUUID(),
    elementId: `Task_${bot}`,
    elementInstanceId: randomUUID(),
    jobId: randomUUID(),
    attempt: 1,
    taskType: `bot:${bot}`,
    headers: {},
    secrets: noSecrets,
    record: directRecord(
      () => db.knex,
      () => node,
    ),
  };
}

async function runFor(ctx: NodeContext) {
  await recordsWritten();
  return db.knex('bot_runs').where({ job_id: ctx.jobId }).first();
}

async function rejectsWithBpmnError(promise: Promise<unknown>, code: string): Promise<BpmnError> {
  const error = await promise.then(
    () => assert.fail('expected a BPMN error'),
    (e: unknown) => e,
  );
  assert.ok(isBpmnError(error), `expected a BpmnError, got ${String(error)}`);
  assert.equal((error as BpmnError).errorCode, code);
  return error as BpmnError;
}

test('credit-bureau reads score, open debts and record of an applicant by name and by id', async () => {
  const byName = context('credit-bureau');
  const maria = await node.run({ applicantName: 'Maria Schneider', amount: 5000 }, byName);
  assert.deepEqual(
    { ...maria, debts: undefined },
    {
      applicantId: 'AP-10001',
      applicantName: 'Maria Schneider',
      creditScore: 782,
      openDebts: 142000,
      debts: undefined,
      bureauRecordId: 'CB-10001-782',
    },
  );
  assert.deepEqual(maria!.debts, [{ creditor: 'Sparkasse KölnBonn', kind: 'Mortgage', balance: 142000 }]);
  const row = await runFor(byName);
  assert.equal(row.outcome, 'succeeded');
  assert.equal(row.bot, 'credit-bureau');
  assert.equal(row.screenshot_path, null);

  const aylin = await node.run({ applicantId: 'AP-10003' }, context('credit-bureau'));
  assert.equal(aylin!.creditScore, 455);
  assert.equal(aylin!.openDebts, 5900 + 7800 + 640);
});

test('credit-bureau: an applicant the bureau does not know is the BPMN error APPLICANT_NOT_FOUND', async () => {
  const ctx = context('credit-bureau');
  await rejectsWithBpmnError(node.run({ applicantName: 'Nobody Known-Here' }, ctx), 'APPLICANT_NOT_FOUND');
  const row = await runFor(ctx);
  assert.equal(row.outcome, 'business_error');
  assert.equal(row.error_code, 'APPLICANT_NOT_FOUND');
});

test('core-banking records an approval and a referral (review) and returns booking references', async () => {
  const approved = await node.run(
    {
      applicationId: 'APP-2026-0001',
      applicantName: 'Maria Schneider',
      loanDecision: { label: 'approve' },
      amount: 15000,
    },
    context('core-banking'),
  );
  assert.match(String(approved!.bookingReference), /^DEC-\d+$/);
  assert.equal(approved!.bookedDecision, 'approve');
  const referred = await node.run(
    { applicationId: 'APP-2026-0002', applicantName: 'Jonas Weber', outcome: 'review', amount: 9000 },
    context('core-banking'),
  );
  assert.equal(referred!.bookedDecision, 'refer');
  assert.deepEqual(
    apps.state.decisions.map((d) => [d.reference, d.applicationId, d.decision, d.amount]),
    [
      [approved!.bookingReference, 'APP-2026-0001', 'approve', 15000],
      [referred!.bookingReference, 'APP-2026-0002', 'refer', null],
    ],
  );
});

test('carrier-booking corrects the form the carrier refused (heavy parcel, Saturday pickup) and returns the tracking number', async () => {
  const booked = await node.run(
    { orderId: 'ORD-50001', weightKg: 42.5, route: 'courier', customerName: 'Emma Fischer', pickupDate: '2026-12-05' },
    context('carrier-booking'),
  );
  assert.equal(booked!.service, 'freight');
  assert.equal(booked!.pickupDate, '2026-12-07');
  assert.equal(booked!.submissions, 2);
  const booking = apps.state.bookings.find((b) => b.trackingNumber === booked!.trackingNumber);
  assert.ok(booking, 'the carrier has the booking');
  assert.equal(booking.reference, 'ORD-50001');
  assert.equal(booking.weightKg, 42.5);
});

test('warehouse-stock pages through the stock table to the last SKU and reports each depot', async () => {
  const sku = stock.at(-1)!.sku;
  const expected = Object.fromEntries(
    stock.filter((r) => r.sku === sku).map((r) => [r.warehouse.toLowerCase(), r.onHand - r.reserved]),
  );
  const result = await node.run({ sku, quantity: 1 }, context('warehouse-stock'));
  assert.deepEqual(result!.stock, expected);
  assert.equal(result!.pagesRead, Math.ceil(stock.length / 10));
  assert.equal(
    result!.totalAvailable,
    Object.values(expected).reduce((a, b) => a + b, 0),
  );
  await rejectsWithBpmnError(node.run({ sku: 'SKU-9999' }, context('warehouse-stock')), 'SKU_NOT_FOUND');
});

test('invalid input is refused naming the field, recorded without artifacts', async () => {
  const ctx = context('carrier-booking');
  await assert.rejects(
    node.run({ orderId: 'ORD-1', weightKg: 'heavy' }, ctx),
    (error: any) => error.code === 'OPERON_ERR_NODE_INPUT' && error.details.field === 'weightKg',
  );
  const row = await runFor(ctx);
  assert.equal(row.outcome, 'failed');
  assert.equal(row.screenshot_path, null);
});

test('a page that changed under the bot fails with a screenshot recorded in bot_runs', async () => {
  const ctx = context('credit-report-redesigned');
  const error = await node.run({ applicantId: 'AP-10001' }, ctx).then(
    () => assert.fail('expected a failure'),
    (e: Error) => e,
  );
  const row = await runFor(ctx);
  assert.equal(row.outcome, 'failed');
  assert.ok(row.screenshot_path && existsSync(row.screenshot_path), 'screenshot file exists');
  assert.ok(error.message.includes(row.screenshot_path), 'the error names the screenshot');
});

test('a BPMN service task bot:credit-bureau runs to completion on the real engine', async () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://operon.test">
  <bpmn:process id="credit-check" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="CheckCredit">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="bot:credit-bureau" retries="1" />
        <zeebe:ioMapping><zeebe:output source="=creditScore" target="creditScore" /><zeebe:output source="=openDebts" target="debts" /></zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="CheckCredit" />
    <bpmn:sequenceFlow id="f2" sourceRef="CheckCredit" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;
  const engine = createEngine({
    db: db.knex,
    logger,
    nodes: await createNodeRegistry({ extra: [node] }),
    worker: { pollIntervalMs: 100, lockMs: 30_000 },
  });
  try {
    await engine.deploy([{ name: 'credit-check.bpmn', xml }]);
    const { instanceId } = await engine.startInstance('credit-check', { applicantName: 'Thomas Müller' });
    const view = await runUntilRest(engine, instanceId, 30_000);
    assert.equal(view.state, 'completed');
    assert.equal(view.variables.creditScore, 823);
    assert.equal(view.variables.debts, 0);
    const row = await db.knex('bot_runs').where({ process_instance_id: instanceId }).first();
    assert.equal(row.outcome, 'succeeded');
    assert.equal(row.element_id, 'CheckCredit');
  } finally {
    await engine.close();
  }
});

test('the canary password appears in no database table, log line or artifact file', async () => {
  const tables = (await db.knex.raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows as {
    tablename: string;
  }[];
  assert.ok(tables.some((t) => t.tablename === 'bot_runs'));
  for (const { tablename } of tables) {
    const rows = (await db.knex.raw(`SELECT t::text AS row FROM ?? t`, [tablename])).rows as { row: string }[];
    assert.ok(!rows.some((r) => r.row.includes(CANARY)), `canary in table ${tablename}`);
  }
  assert.ok(logLines.length > 0, 'the runs logged something');
  assert.ok(!logLines.some((line) => line.includes(CANARY)), 'canary in a log line');
  const files = readdirSync(artifactsDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  assert.ok(
    files.some((f) => f.endsWith('.png')),
    'a screenshot was kept',
  );
  assert.ok(
    files.some((f) => f.endsWith('.zip')),
    'a trace was kept',
  );
  for (const file of files) {
    const content = file.endsWith('.zip')
      ? execFileSync('unzip', ['-p', file], { maxBuffer: 256 * 1024 * 1024 })
      : readFileSync(file);
    assert.ok(!content.includes(CANARY), `canary in ${file}`);
  }
});
