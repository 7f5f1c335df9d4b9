/**
 * `operon demo`: its cases are reproducible and realistic, the scripted clerk answers with the
 * model's labels, and a small real run (its own Operon, real bots, models and database) ends every
 * instance and prints the summary.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loanApplications, orders } from '../../processes/demo/cases.ts';
import { clerkReview, clerkRouting } from '../../processes/demo/clerk.ts';
import { demoReference, runTag } from '../../processes/demo/run.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
let db: TestDatabase;

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

it('generates the same 100 applications and orders for the same seed, with every field the processes read', () => {
  const loans = loanApplications(100);
  assert.deepEqual(loans, loanApplications(100));
  assert.equal(new Set(loans.map((l) => l.applicationId)).size, 100);
  for (const loan of loans) {
    assert.match(loan.applicationId, /^APP-2026-\d{4}$/);
    for (const field of ['income', 'amount', 'termMonths'] as const) assert.equal(typeof loan[field], 'number');
    assert.ok(loan.purpose.length > 0 && loan.employment.length > 0);
  }
  assert.ok(
    loans.some((l) => l.applicantId === undefined),
    'some applicants are unknown to the bureau',
  );
  const shipped = orders(100);
  assert.ok(shipped.some((o) => o.willBeLate) && shipped.some((o) => !o.willBeLate));
  for (const order of shipped)
    assert.ok(order.weightKg > 0 && order.weightKg <= 31.5 && order.destination.postcode.length >= 4);
});

it("each demo run books its cases under references of its own, never the README's", () => {
  const tag = runTag(Date.UTC(2026, 11, 2, 16, 45));
  assert.match(tag, /^[0-9A-Z]{5}$/);
  assert.notEqual(runTag(Date.UTC(2026, 11, 2, 16, 45, 1)), tag);
  const application = demoReference('APP-2026-0001', tag);
  assert.equal(application, `APP-D${tag}-0001`);
  assert.match(application, /^[A-Z]{2,4}-[\dA-Z-]{4,20}$/, 'core banking accepts it');
  assert.equal(demoReference('ORD-50001', tag), `ORD-D${tag}-50001`);
});

it('the scripted clerk approves an affordable case and rejects a red flag', () => {
  const base = {
    income: 60000,
    debts: 2000,
    creditScore: 720,
    amount: 10000,
    termMonths: 36,
    purpose: 'a new kitchen',
  };
  assert.equal(clerkReview(base).reviewedLabel, 'approve');
  assert.equal(clerkReview({ ...base, purpose: 'paying off gambling debts' }).reviewedLabel, 'reject');
  assert.equal(clerkReview({ ...base, creditScore: 450 }).reviewedLabel, 'reject');
});

it('the scripted dispatcher routes an uncertain order by the written routing policy', () => {
  const base = {
    weightKg: 3.5,
    distanceKm: 40,
    stock: { leeds: 3, bristol: 0, glasgow: 1 },
    deadlineHours: 72,
    customerTier: 'gold',
    notes: 'office closes at 5pm, deliver before',
  };
  assert.equal(clerkRouting(base).reviewedLabel, 'warehouse');
  assert.equal(clerkRouting({ ...base, deadlineHours: 20 }).reviewedLabel, 'courier');
  assert.equal(
    clerkRouting({ ...base, notes: 'I live next to the depot and can collect it myself' }).reviewedLabel,
    'pickup',
  );
  assert.equal(
    clerkRouting({ ...base, notes: 'please do not collect, deliver it', deadlineHours: 20 }).reviewedLabel,
    'courier',
  );
  assert.equal(clerkRouting({ ...base, weightKg: 42, deadlineHours: 20 }).reviewedLabel, 'warehouse');
  assert.equal(
    clerkRouting({ ...base, stock: { leeds: 0, bristol: 0, glasgow: 0 }, notes: 'i will collect' }).reviewedLabel,
    'warehouse',
  );
  assert.equal(clerkRouting({ ...base, customerTier: 'platinum', deadlineHours: 40 }).reviewedLabel, 'courier');
});

it('operon demo --count 2 runs its cases to the end and prints the summary', { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, [BIN, 'demo', '--count', '2', '--timeout', '150'], {
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'error' },
    timeout: 170_000,
  });
  assert.match(stdout, /Loan applications\s+2/);
  assert.match(stdout, /automation rate\s+\d+\.\d %/);
  assert.match(stdout, /Review queue\s+\d+ created, \d+ completed by the scripted clerk, 0 still open/);
  assert.match(stdout, /Orders\s+2:/);
  assert.match(stdout, /Bot failures\s+0 incident\(s\)/);
  assert.match(stdout, /loan-approval \/ Check credit bureau\s+\d+/);
  assert.doesNotMatch(stdout, /not finished/);
  const { count } = (await db
    .knex('process_instances')
    .whereNot({ state: 'active' })
    .count({ count: '*' })
    .first()) as { count: string };
  assert.equal(Number(count), 4, 'all four instances ended');
});
