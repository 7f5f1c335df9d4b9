/**
 * Safe learning from reviewers (issue #16): the promotion gate refuses a head that wins on a few
 * reviewed held-out cases but regresses on the standard, shifted or natural sets; a head that passes
 * enters shadow, scores live decisions beside the active model (both answers in SQL, compared by
 * decision_shadow_comparison) and becomes active only when that comparison allows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { DecisionAgent, type LabelledCase, type TrainReport } from '../../nodes/decision/agent.ts';
import { recordDecision, recordReview } from '../../nodes/decision/index.ts';
import { rng } from '../../models/data/generate.ts';
import { loanPolicy, type LoanIntent } from '../../models/data/policy.ts';

const handwritten = readFileSync(new URL('../../models/data/handwritten/loan.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { text: string; intent: LoanIntent });

const exec = promisify(execFile);
const heldOut = (id: string) => createHash('sha256').update(id).digest()[0]! / 256 < 0.25;

/** Ids for `train` training and `held` held-out cases under the agent's 25 % hash split. */
function splitIds(prefix: string, train: number, held: number): string[] {
  const ids: string[] = [];
  let t = 0,
    h = 0;
  for (let k = 0; t < train || h < held; k++) {
    const id = `${prefix}-${k}`;
    if (heldOut(id) ? h++ < held : t++ < train) ids.push(id);
  }
  return ids;
}

const round = (x: number, step: number) => Math.round(x / step) * step;

/** Everyday applicants with continuous numbers; strong ones mostly approvable. */
function applicant(random: () => number, purpose: string, strong: boolean) {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  return strong
    ? {
        income: round(30000 + random() * 90000, 1),
        debts: round(random() * 15000, 1),
        creditScore: round(690 + random() * 150, 1),
        amount: round(1500 + random() * 25000, 1),
        termMonths: pick([12, 18, 24, 30, 36, 42, 48, 54, 60]),
        employment: pick(['permanent', 'permanent', 'contract', 'retired']),
        purpose,
      }
    : {
        income: round(12000 + random() * 40000, 1),
        debts: round(15000 + random() * 45000, 1),
        creditScore: round(480 + random() * 140, 1),
        amount: round(5000 + random() * 50000, 1),
        termMonths: pick([24, 36, 48, 60, 72, 84]),
        employment: pick(['part-time', 'student', 'unemployed', 'self-employed', 'permanent']),
        purpose,
      };
}

/**
 * 600 correct reviews (the policy's labels) of everyday loan texts, as reviewers see them: the cases
 * the base model sent to a person or got wrong, drawn from a larger stream of applications.
 */
let reviewsOnce: Promise<LabelledCase[]> | undefined;
const correctReviews = (agent: DecisionAgent) => (reviewsOnce ??= streamReviews(agent));
async function streamReviews(agent: DecisionAgent): Promise<LabelledCase[]> {
  const random = rng(400);
  const stream = Array.from({ length: 8000 }, (_, i) => {
    const h = handwritten[(i * 3 + 1) % handwritten.length]!;
    const variables = applicant(random, h.text, random() < 0.6);
    return { variables, label: loanPolicy(variables, h.intent) };
  });
  const decided = await agent.inferBatch(stream.map((c) => c.variables));
  // Up to 240 reviews correct the model (at least 100), the rest of the 600 confirm an answer it was
  // unsure of, mixed.
  const wrong = stream.filter((c, i) => decided[i]!.label !== c.label);
  const unsure = stream.filter((c, i) => decided[i]!.needsReview && decided[i]!.label === c.label);
  const corrections = wrong.slice(0, 240);
  assert.ok(
    corrections.length >= 100 && unsure.length >= 600 - corrections.length,
    `${wrong.length} wrong, ${unsure.length} unsure of ${stream.length}`,
  );
  const reviewed = [...corrections, ...unsure.slice(0, 600 - corrections.length)]
    .map((c) => ({ c, key: random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ c }) => c);
  return splitIds('benign', 450, 150).map((id, i) => ({ id, ...reviewed[i]! }));
}

/** 56 weak applicants (the policy rejects or reviews them) in everyday wording, all reviewed "approve": 40 train, 16 held out. */
function lenientReviews(): LabelledCase[] {
  const random = rng(56);
  return splitIds('lenient', 40, 16).map((id, i) => ({
    id,
    variables: applicant(random, handwritten[(i * 7) % handwritten.length]!.text, false),
    label: 'approve',
  }));
}

const set = (report: TrainReport, name: string) => report.evaluation.find((e) => e.set === name)!;

describe('promotion gate for heads trained from reviewers', () => {
  let database: TestDatabase;
  let agent: DecisionAgent;

  before(async () => {
    database = await createTestDatabase();
    agent = await DecisionAgent.load('loan', { db: database.knex });
  });
  after(async () => {
    await agent?.activate('base').catch(() => undefined);
    await database?.drop();
  });

  test('56 reviewed everyday cases labelled approve by a lenient reviewer: the head wins on its 16 held-out cases and the gate refuses it', async () => {
    const cases = lenientReviews();
    // Without replay, as in the outside test: only the gate stands between this head and the customers.
    const report = await agent.train({ cases, replayRatio: 0 });
    assert.equal(report.state, 'refused');
    assert.equal(report.promoted, false);
    assert.equal(report.trainingCases, 40);
    assert.equal(report.heldOutCases, 16);
    const reviewed = set(report, 'reviewed').metrics.accuracy;
    assert.ok(
      reviewed.candidate > reviewed.active,
      `the head wins on the reviewed held-out cases (${reviewed.candidate} vs ${reviewed.active})`,
    );
    // The temperature is fitted on cases the weights never saw and stays at or above the floor.
    assert.ok(report.temperature! >= 0.75);

    const findings = report.regressions.map((r) => `${r.set}.${r.metric}.${r.kind}`);
    for (const name of ['standard', 'shifted', 'natural']) {
      assert.ok(findings.includes(`${name}.accuracy.regression`), `${name} accuracy named: ${findings.join(', ')}`);
      assert.ok(findings.includes(`${name}.ece.regression`), `${name} ECE named: ${findings.join(', ')}`);
      const accuracy = set(report, name).metrics.accuracy;
      assert.ok(
        accuracy.upper < -0.1,
        `${name} accuracy falls, the whole interval below -0.1: ${JSON.stringify(accuracy)}`,
      );
    }
    assert.ok(findings.includes('standard.meanConfidence.regression'), 'overconfidence on the standard split is named');
    assert.match(report.reason, /standard accuracy -0\.\d+ \[-0\.\d+, -0\.\d+\] falls by more than 0\.01/);

    // Registered with the evaluation, refused: it never decides and cannot be activated.
    const row = await database.knex('decision_model_versions').where({ version: report.version }).first();
    assert.equal(row.state, 'refused');
    assert.equal(row.active, false);
    assert.equal(row.reason, report.reason);
    const standard = row.evaluation.sets.find((e: { set: string }) => e.set === 'standard');
    assert.deepEqual(Object.keys(standard.metrics.accuracy).sort(), ['active', 'candidate', 'diff', 'lower', 'upper']);
    await assert.rejects(agent.activate(report.version!), (error: { code: string; details: { reason: string } }) => {
      assert.equal(error.code, 'OPERON_ERR_PROMOTION_REFUSED');
      assert.match(error.details.reason, /promotion gate refused it/);
      return true;
    });
    assert.equal((await agent.infer(cases[0]!.variables)).modelVersion, agent.baseVersion);

    // With replayed original data mixed in (the default) the same reviews are refused too.
    const replayed = await agent.train({ cases });
    assert.equal(replayed.state, 'refused');
    assert.equal(replayed.replayCases, 4 * 40);
    assert.ok(
      replayed.regressions.some((r) => r.set === 'natural' && r.metric === 'accuracy' && r.kind === 'regression'),
      replayed.reason,
    );
  });

  test('correct reviews of what the model got wrong or was unsure of: better on the held-out reviews, refused while a guard set does not rule out a regression', async () => {
    const report = await agent.train({ cases: await correctReviews(agent) });
    const reviewed = set(report, 'reviewed').metrics.accuracy;
    assert.ok(reviewed.diff > 0, `better on the reviewed held-out cases: ${JSON.stringify(reviewed)}`);
    assert.equal(report.replayCases, 4 * report.trainingCases);
    // Winning on 150 held-out reviews is not enough: the fixed sets reviewers cannot move decide.
    assert.equal(report.state, 'refused');
    assert.ok(report.regressions.length > 0);
    for (const finding of report.regressions) {
      assert.ok(['standard', 'shifted', 'natural'].includes(finding.set), `${finding.set}: ${finding.message}`);
      const m = set(report, finding.set).metrics[finding.metric as 'accuracy'];
      // Either the difference itself is beyond the margin, or its interval reaches beyond it.
      assert.ok(finding.kind === 'regression' || finding.kind === 'insufficient-evidence', finding.kind);
      assert.ok(m.lower < 0 || finding.metric === 'ece' || finding.metric === 'meanConfidence', JSON.stringify(m));
    }
    assert.match(report.reason, /^refused against /);
    assert.equal((await agent.versions()).find((v) => v.version === report.version)?.state, 'refused');
  });

  test('a head in shadow scores live decisions beside the active model, in SQL, and is activated only when the shadow comparison allows', async () => {
    const reviews = await correctReviews(agent);
    // The guard sets are the caller's (here none, as for a model without them): this test is about the shadow period.
    const report = await agent.train({ cases: reviews, guardSets: [], shadowDecisions: 20, shadowReviews: 5 });
    assert.equal(report.state, 'shadow', report.reason);
    assert.equal(report.promoted, true);
    const version = report.version!;
    let row = await database.knex('decision_model_versions').where({ version }).first();
    assert.deepEqual([row.state, row.active, row.shadow_decisions, row.shadow_reviews], ['shadow', false, 20, 5]);
    assert.ok(row.shadow_started_at);
    assert.deepEqual((await agent.versions()).map((v) => [v.state, v.active]).slice(0, 1), [['active', true]]);

    // Nothing is active straight from training: the base model decides, the head scores beside it.
    const live = reviews.slice(0, 20);
    const decided: { id: string; label: string; shadow: string }[] = [];
    for (const c of live.slice(0, 10)) {
      const result = await agent.infer(c.variables);
      assert.equal(result.modelVersion, agent.baseVersion);
      assert.equal(result.shadow?.version, version);
      decided.push({
        id: await recordDecision(database.knex, agent.model, result, c.variables),
        label: result.label,
        shadow: result.shadow!.label,
      });
    }
    await assert.rejects(agent.activate(version), /shadow period not complete: 10 of 20 decisions/);
    for (const c of live.slice(10)) {
      const result = await agent.infer(c.variables);
      decided.push({
        id: await recordDecision(database.knex, agent.model, result, c.variables),
        label: result.label,
        shadow: result.shadow!.label,
      });
    }
    const stored = await database
      .knex('decisions')
      .whereNotNull('shadow_version')
      .select('label', 'shadow_label', 'shadow_version', 'shadow_confidence', 'shadow_scores');
    assert.equal(stored.length, 20);
    assert.ok(
      stored.every(
        (d) =>
          d.shadow_version === version &&
          typeof d.shadow_confidence === 'number' &&
          Object.keys(d.shadow_scores).length === 3,
      ),
    );
    await assert.rejects(agent.activate(version), /too few reviewed shadow decisions: 0 of 5/);

    // Reviewers side with the active model where the two disagree: the head regressed and stays in shadow.
    const disagreements = decided.filter((d) => d.label !== d.shadow);
    assert.ok(disagreements.length >= 1, 'the head answers some live decisions differently');
    const agreements = decided.filter((d) => d.label === d.shadow);
    const reviewed = [...disagreements.slice(0, 5), ...agreements.slice(0, Math.max(0, 5 - disagreements.length))];
    for (const d of reviewed) await recordReview(database.knex, d.id, d.label, 'reviewer');
    let view = await database.knex('decision_shadow_comparison').where({ shadow_version: version }).first();
    assert.deepEqual(
      [view.decisions, view.shadow_decisions_required, view.reviewed, view.active_correct],
      [20, 20, 5, 5],
    );
    assert.equal(view.agreement, agreements.length / 20);
    assert.ok(view.shadow_correct < 5);
    await assert.rejects(agent.activate(version), (error: { code: string; message: string }) => {
      assert.equal(error.code, 'OPERON_ERR_PROMOTION_REFUSED');
      assert.match(error.message, /shadow answers regressed on reviewed decisions/);
      return true;
    });

    // Reviewers side with the head: activation is allowed, and the head decides.
    for (const d of reviewed) await recordReview(database.knex, d.id, d.shadow, 'reviewer');
    view = await database.knex('decision_shadow_comparison').where({ shadow_version: version }).first();
    assert.ok(view.shadow_correct >= view.active_correct && view.shadow_reviewed_accuracy === 1);
    assert.deepEqual(await agent.shadowComparison(version), {
      decisions: 20,
      reviewed: 5,
      activeCorrect: view.active_correct,
      shadowCorrect: 5,
      agreement: view.agreement,
    });
    await agent.activate(version, { kind: 'cli', id: 'ann' });
    row = await database.knex('decision_model_versions').where({ version }).first();
    assert.deepEqual([row.state, row.active], ['active', true]);
    // Training and activation are in the audit trail; refused activations left no row.
    const audited = await database
      .knex('audit_log')
      .whereIn('action', ['model.train', 'model.activate'])
      .orderBy('seq');
    assert.ok(audited.some((r) => r.action === 'model.train' && r.change.version === version));
    assert.deepEqual(
      audited.filter((r) => r.action === 'model.activate').map((r) => [r.actor_id, r.change.version]),
      [['ann', version]],
    );
    const now = await agent.infer(live[0]!.variables);
    assert.equal(now.modelVersion, version);
    assert.equal(now.shadow, undefined);

    // Rollback to the base model, and forward again to a head that was active before.
    await agent.activate(agent.baseVersion);
    assert.equal((await agent.infer(live[0]!.variables)).modelVersion, agent.baseVersion);
    await agent.activate(version);
    assert.equal((await agent.infer(live[0]!.variables)).modelVersion, version);

    // Against the base model again, a newer head that passes (trained again on the same reviews) replaces the one in shadow;
    // the replaced one can never be activated.
    await agent.activate(agent.baseVersion);
    const first = await agent.train({ cases: reviews, guardSets: [], shadowDecisions: 20 });
    const second = await agent.train({ cases: reviews, guardSets: [], shadowDecisions: 20 });
    assert.deepEqual([first.state, second.state], ['shadow', 'shadow'], `${first.reason} / ${second.reason}`);
    const states = await database
      .knex('decision_model_versions')
      .whereIn('version', [first.version, second.version])
      .orderBy('id')
      .pluck('state');
    assert.deepEqual(states, ['retired', 'shadow']);
    await assert.rejects(agent.activate(first.version!), /replaced in shadow before its shadow period ended/);
    await assert.rejects(agent.activate('no-such-version'), /no version/);
  });

  test('operon model train says why it refused; operon model activate refuses; operon model shadow prints the comparison', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'operon-promotion-'));
    const file = join(dir, 'lenient.jsonl');
    writeFileSync(
      file,
      lenientReviews()
        .map((c) => JSON.stringify(c))
        .join('\n'),
    );
    const env = { ...process.env, OPERON_DATABASE_URL: database.url };
    const run = (args: string[]) =>
      exec(process.execPath, ['--import', 'tsx', 'nodes/decision/cli.ts', ...args], { env });
    const { stdout } = await run(['model', 'train', 'loan', '--jsonl', file, '--replay-ratio', '0']);
    const [first, ...sets] = stdout.trim().split('\n');
    assert.match(
      first!,
      /^\S+\+head\.\d+ refused: refused against \S+: standard accuracy -0\.\d+ \[-0\.\d+, -0\.\d+\] falls by more than 0\.01/,
    );
    assert.deepEqual(
      sets.map((line) => line.trim().split(' ')[0]),
      ['reviewed', 'standard', 'shifted', 'natural'],
    );
    const version = first!.split(' ')[0]!;
    await assert.rejects(run(['model', 'activate', 'loan', version]), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.equal(JSON.parse(error.stderr).error.code, 'OPERON_ERR_PROMOTION_REFUSED');
      return true;
    });
    const shadow = JSON.parse((await run(['model', 'shadow', 'loan', version, '--json'])).stdout);
    assert.deepEqual(shadow, {
      model: 'loan',
      version,
      decisions: 0,
      reviewed: 0,
      activeCorrect: 0,
      shadowCorrect: 0,
      agreement: null,
    });
  });
});
