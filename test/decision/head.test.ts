/**
 * Learning from reviewers: a head trained on the frozen GPT's features from reviewed decisions in
 * the database is registered with the promotion gate's verdict; one that does not beat the active
 * version on held-out reviews, or regresses on the written policy's test split, never decides.
 * The way into shadow and activation: promotion.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { recordDecision, recordReview } from '../../nodes/decision/index.ts';
import { makeCase, rng } from '../../models/data/generate.ts';

describe('classification heads from reviewed decisions', () => {
  let database: TestDatabase;
  let agent: DecisionAgent;
  const decided: { id: string; label: string; variables: Record<string, unknown> }[] = [];

  before(async () => {
    database = await createTestDatabase();
    agent = await DecisionAgent.load('loan', { db: database.knex });
    const random = rng(2024);
    const cases = Array.from({ length: 240 }, (_, i) => makeCase('loan', random, 'train', 0, `case-${i}`).vars);
    const results = await agent.inferBatch(cases);
    for (const [i, result] of results.entries()) {
      decided.push({
        id: await recordDecision(database.knex, agent.model, result, cases[i]!),
        label: result.label,
        variables: cases[i]!,
      });
    }
  });
  after(async () => {
    await agent?.activate('base').catch(() => undefined);
    await database?.drop();
  });

  test('reviewers who agree with the model give no better head: it is registered as refused and never decides', async () => {
    for (const d of decided) await recordReview(database.knex, d.id, d.label, 'reviewer-a');
    const report = await agent.train();
    assert.equal(report.promoted, false);
    assert.equal(report.state, 'refused');
    assert.equal(report.active.accuracy, 1);
    assert.ok(report.trainingCases + report.heldOutCases === decided.length);
    assert.ok(
      report.regressions.some((r) => r.set === 'reviewed' && r.metric === 'accuracy'),
      report.reason,
    );
    const rows = await database.knex('decision_model_versions').select('version', 'state', 'active');
    assert.deepEqual(rows, [{ version: report.version, state: 'refused', active: false }]);
    assert.equal((await agent.infer(decided[0]!.variables)).modelVersion, agent.baseVersion);
  });

  test('a new policy from reviewers (no more manual review: reject) beats the active version on held-out cases, but the gate refuses it', async () => {
    const newPolicy = (label: string) => (label === 'review' ? 'reject' : label);
    for (const d of decided) await recordReview(database.knex, d.id, newPolicy(d.label), 'reviewer-b');
    // Without replay the head learns the reviewers' policy (replayed policy-labelled cases would pull it back).
    const report = await agent.train({ replayRatio: 0 });
    // The written policy still says review: on the standard split, labelled by it, the head regresses.
    assert.equal(report.state, 'refused');
    assert.ok(report.candidate.accuracy > report.active.accuracy, 'it wins on the reviewed held-out cases');
    assert.equal(report.comparedWith, agent.baseVersion);
    assert.ok(
      report.regressions.some((r) => r.set === 'standard' && r.metric === 'accuracy' && r.kind === 'regression'),
      report.reason,
    );
    const row = await database.knex('decision_model_versions').where({ version: report.version }).first();
    assert.equal(row.active, false);
    assert.equal(row.base_file_hash, agent.model.fileHash);
    assert.equal(row.training_cases, report.trainingCases);
    assert.equal(row.replay_cases, report.replayCases);

    const reviewCase = decided.find((d) => d.label === 'review')!;
    assert.equal((await agent.infer(reviewCase.variables)).label, 'review');
    await assert.rejects(agent.activate(report.version!), /promotion gate refused it/);
    assert.deepEqual(
      (await agent.versions()).map((v) => [v.state, v.active]),
      [
        ['active', true],
        ['refused', false],
        ['refused', false],
      ],
    );
  });
});
