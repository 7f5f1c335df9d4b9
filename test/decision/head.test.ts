/**
 * Learning from reviewers: a head trained on the frozen GPT's features from reviewed decisions in
 * the database is registered and activated only when it beats the active version on held-out
 * cases; the node then decides with it, and `activate` rolls back.
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
      decided.push({ id: await recordDecision(database.knex, agent.model, result, cases[i]!), label: result.label, variables: cases[i]! });
    }
  });
  after(async () => {
    await agent?.activate('base').catch(() => undefined);
    await database?.drop();
  });

  test('reviewers who agree with the model give no better head: nothing is registered', async () => {
    for (const d of decided) await recordReview(database.knex, d.id, d.label, 'reviewer-a');
    const report = await agent.train();
    assert.equal(report.promoted, false);
    assert.equal(report.version, null);
    assert.equal(report.active.accuracy, 1);
    assert.ok(report.trainingCases + report.heldOutCases === decided.length);
    assert.equal(await database.knex('decision_model_versions').count('* as n').first().then((r) => Number(r!.n)), 0);
  });

  test('a new policy from reviewers (no more manual review: reject) yields a better head that is promoted and used', async () => {
    const newPolicy = (label: string) => (label === 'review' ? 'reject' : label);
    for (const d of decided) await recordReview(database.knex, d.id, newPolicy(d.label), 'reviewer-b');
    const report = await agent.train();
    assert.equal(report.promoted, true, report.reason);
    assert.ok(report.candidate.accuracy > report.active.accuracy);
    assert.equal(report.comparedWith, agent.baseVersion);
    assert.equal(report.version, `${agent.baseVersion}+head.1`);
    const row = await database.knex('decision_model_versions').where({ version: report.version }).first();
    assert.equal(row.active, true);
    assert.equal(row.base_file_hash, agent.model.fileHash);
    assert.equal(row.training_cases, report.trainingCases);

    const reviewCase = decided.find((d) => d.label === 'review')!;
    const result = await agent.infer(reviewCase.variables);
    assert.equal(result.modelVersion, report.version);
    assert.equal(result.label, 'reject');
    const versions = await agent.versions();
    assert.deepEqual(versions.map((v) => [v.version, v.active]), [[agent.baseVersion, false], [report.version, true]]);

    // Training again on the same answers cannot beat the head that learned them.
    const again = await agent.train();
    assert.equal(again.comparedWith, report.version);
    if (again.promoted) assert.ok(again.candidate.accuracy > again.active.accuracy);

    // Rollback to the base model, then forward again.
    await agent.activate(agent.baseVersion);
    assert.equal((await agent.infer(reviewCase.variables)).label, 'review');
    await agent.activate(report.version!);
    assert.equal((await agent.infer(reviewCase.variables)).modelVersion, report.version);
    await assert.rejects(agent.activate('no-such-version'), /no version/);
  });
});
