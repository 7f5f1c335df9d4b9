/**
 * What `operon start` prints about the shipped webhooks, on the first start and on every start after
 * it (the configuration is then kept as the database has it): open prints the curl, signed says so.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { configureWebhooks, type DeployedFile, type Stack } from '../../engine/cli/stack.ts';
import { startBanner } from '../../engine/cli/commands/start.ts';
import { saveWebhookConfig } from '../../engine/http/webhook-config.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

const deployed: DeployedFile[] = [
  { file: 'loan-approval.bpmn', processes: [{ bpmnProcessId: 'loan-approval', version: 1 }] },
  { file: 'order-routing.bpmn', processes: [{ bpmnProcessId: 'order-routing', version: 1 }] },
];

function banner(webhooks: Stack['webhooks']): string {
  return startBanner({
    context: { url: 'postgres://postgres:secret@127.0.0.1:5432/operon' },
    apiUrl: 'http://localhost:3000',
    apiToken: 'op_test',
    tokenGenerated: false,
    deployed,
    webhooks,
  } as unknown as Stack);
}

it('a restart keeps the open loan webhook and still prints the curl, not "signed"', async () => {
  const saved = process.env.OPERON_WEBHOOK_SECRET;
  delete process.env.OPERON_WEBHOOK_SECRET;
  try {
    const first = await configureWebhooks({ db: db.knex }, deployed);
    assert.deepEqual(first, [
      { bpmnProcessId: 'loan-approval', mode: 'open', kept: false },
      { bpmnProcessId: 'order-routing', mode: 'open', kept: false },
    ]);
    const again = await configureWebhooks({ db: db.knex }, deployed);
    assert.deepEqual(again, [
      { bpmnProcessId: 'loan-approval', mode: 'open', kept: true },
      { bpmnProcessId: 'order-routing', mode: 'open', kept: true },
    ]);
    const text = banner(again);
    assert.match(text, /Webhooks +loan-approval: open \(as configured before\), order-routing: open/);
    assert.match(text, /^curl -s -X POST http:\/\/localhost:3000\/webhooks\/loan-approval /m);
    assert.doesNotMatch(text, /signed/);
  } finally {
    if (saved !== undefined) process.env.OPERON_WEBHOOK_SECRET = saved;
  }
});

it('a loan webhook someone signed stays signed, and the banner says so instead of the curl', async () => {
  await saveWebhookConfig(db.knex, 'loan-approval', {
    mode: 'signed',
    secrets: ['whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ='],
  });
  const webhooks = await configureWebhooks({ db: db.knex }, deployed);
  assert.deepEqual(webhooks[0], { bpmnProcessId: 'loan-approval', mode: 'signed', kept: true });
  const text = banner(webhooks);
  assert.match(text, /loan-approval: signed \(as configured before\)/);
  assert.match(text, /The loan-approval webhook is signed/);
  assert.doesNotMatch(text, /^curl /m);
});
