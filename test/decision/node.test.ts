/**
 * The `decision` node type on a real database: output variables, task headers, and the audit row
 * in `decisions`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { directRecord, recordsWritten } from '../support/node-context.ts';
import { createDecisionNode, recordReview } from '../../nodes/decision/index.ts';
import type { NodeContext } from '../../engine/nodes/types.ts';
import type { OperonError } from '../../engine/errors.ts';
import { workRegistry } from '../../engine/telemetry/metrics.ts';

const known = JSON.parse(readFileSync(new URL('./fixtures/known-cases.json', import.meta.url), 'utf8'));
const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

describe('decision node', () => {
  let database: TestDatabase;
  const node = createDecisionNode();
  const context = (taskType: string, headers: Record<string, string> = {}): NodeContext => ({
    signal: new AbortController().signal,
    logger: silent,
    instanceId: randomUUID(),
    elementId: 'Decide_Loan',
    elementInstanceId: 'ei-1',
    jobId: randomUUID(),
    attempt: 1,
    taskType,
    headers,
    secrets: { get: () => undefined, values: () => [] },
    record: directRecord(
      () => database.knex,
      () => node,
    ),
  });

  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await node.close?.();
    await database?.drop();
  });

  test('classifies the case, returns the result under `decision` and writes the audit row', async () => {
    const ctx = context('decision:loan');
    const input = known.loan[1].variables;
    const output = (await node.run(input, ctx)) as {
      decision: {
        label: string;
        confidence: number;
        scores: Record<string, number>;
        modelVersion: string;
        needsReview: boolean;
        reviewReasons: string[];
        decisionId: string;
      };
    };
    assert.equal(output.decision.label, 'reject');
    await recordsWritten();
    const row = await database.knex('decisions').where({ id: output.decision.decisionId }).first();
    assert.equal(row.process_instance_id, ctx.instanceId);
    assert.equal(row.element_id, 'Decide_Loan');
    assert.equal(row.element_instance_key, 'ei-1');
    assert.equal(row.job_id, ctx.jobId);
    assert.equal(row.model_name, 'loan');
    assert.equal(row.model_version, output.decision.modelVersion);
    assert.match(row.model_file_hash, /^[0-9a-f]{64}$/);
    assert.match(row.prompt, /purpose: to pay off gambling debts decision:$/);
    assert.deepEqual(row.inputs, input);
    assert.deepEqual(row.scores, output.decision.scores);
    assert.equal(row.label, 'reject');
    assert.equal(row.confidence, output.decision.confidence);
    assert.equal(row.needs_review, output.decision.needsReview);
    assert.deepEqual(row.review_reasons, output.decision.reviewReasons);
    assert.equal(row.truncated, false);
    assert.ok(row.latency_ms > 0);
    assert.equal(row.reviewed_label, null);

    await recordReview(database.knex, row.id, 'reject', 'credit.officer@example.com');
    const reviewed = await database.knex('decisions').where({ id: row.id }).first();
    assert.equal(reviewed.reviewed_label, 'reject');
    assert.equal(reviewed.reviewed_by, 'credit.officer@example.com');
    assert.ok(reviewed.reviewed_at instanceof Date);
  });

  test('a confident `review` answer counts on the review route of operon_decisions_total, as a doubtful one does', async () => {
    const routes = async () => {
      const metric = await workRegistry.getSingleMetric('operon_decisions_total')!.get();
      const count = (route: string) =>
        metric.values.find((v) => v.labels.model === 'loan' && v.labels.route === route)?.value ?? 0;
      return { automated: count('automated'), review: count('review') };
    };
    const before = await routes();
    // Income not started yet: the written policy asks a person, and the model says so with confidence.
    const output = (await node.run(
      {
        applicantId: 'AP-10002',
        income: 38000,
        debts: 4000,
        creditScore: 700,
        amount: 18000,
        termMonths: 36,
        employment: 'contract',
        purpose: 'covering rent until my next contract starts',
      },
      context('decision:loan'),
    )) as { decision: { label: string; needsReview: boolean; confidence: number } };
    assert.equal(output.decision.label, 'review');
    assert.equal(output.decision.needsReview, false, `confident at ${output.decision.confidence}`);
    const after = await routes();
    assert.deepEqual(after, { automated: before.automated, review: before.review + 1 });
  });

  test('headers set the result variable and a threshold that sends the case to review', async () => {
    const output = (await node.run(
      known.order[0].variables,
      context('decision:order', { resultVariable: 'route', threshold: '1', labels: 'pickup,courier,warehouse' }),
    )) as Record<string, { label: string; needsReview: boolean; reviewReasons: string[]; decisionId: string }>;
    assert.equal(output.route!.label, 'pickup');
    assert.equal(output.route!.needsReview, true);
    await recordsWritten();
    const row = await database.knex('decisions').where({ id: output.route!.decisionId }).first();
    assert.equal(row.threshold, 1);
    assert.equal(row.needs_review, true);
    // Why, in SQL as in the result variable.
    assert.deepEqual(row.review_reasons, output.route!.reviewReasons);
    assert.match(row.review_reasons.at(-1), /^confidence 0\.\d{4} is below the review threshold 1$/);
  });

  test('a prompt header overrides the template, and its variables are checked', async () => {
    const headers = {
      prompt:
        'order. weight {weightKg} kg distance {distanceKm} km stock leeds {stock.leeds} bristol {stock.bristol} glasgow {stock.glasgow} deadline {deadlineHours} hours tier {tier} notes: {notes} decision:',
    };
    await assert.rejects(
      node.run(known.order[1].variables, context('decision:order', headers)),
      (error: OperonError) => {
        assert.equal(error.code, 'OPERON_ERR_MISSING_VARIABLES');
        assert.deepEqual(error.details.missing, ['tier']);
        return true;
      },
    );
    const output = (await node.run(
      { ...known.order[1].variables, tier: 'silver' },
      context('decision:order', headers),
    )) as Record<string, { label: string }>;
    assert.equal(output.decision!.label, 'courier');
  });

  test('truncated text is flagged in the decision record', async () => {
    const notes = 'please leave it at the front door '.repeat(40);
    const output = (await node.run({ ...known.order[2].variables, notes }, context('decision:order'))) as Record<
      string,
      { decisionId: string }
    >;
    await recordsWritten();
    const row = await database.knex('decisions').where({ id: output.decision!.decisionId }).first();
    assert.equal(row.truncated, true);
    assert.ok(row.truncated_fields.includes('notes'));
  });
});
