/**
 * `npm run eval:model` reports the holdout sets: its counts are the shipped model's own answers on
 * every holdout case, recounted here one by one, and a folder without a holdout file reports none;
 * the misspelt-decision copies are seeded and their wrong answers are the agent's own; the contrast
 * set puts each text on every reference field set, labels it by the policy and counts the agent's
 * answers; `models:compare` counts a contrast set as eval does.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { readNaturalCases } from '../../models/checklist.ts';
import {
  CONTRAST_SETS,
  contrastCases,
  DEFAULT_NATURAL_DIR,
  evaluateContrast,
  evaluateHoldout,
  evaluateMisspelt,
  LATER_SETS,
} from '../../models/eval.ts';
import { REFERENCE_FIELDS } from '../../models/neighbours.ts';
import { automationCurve, comparisonSets, type CurvePoint, matchedPoint, pooledUnseen } from '../../models/compare.ts';
import { loanPolicy, type LoanCase } from '../../models/data/policy.ts';

after(() => DecisionAgent.closeAll());

/** The later sets written for the order domain (the eighth is loan only, the ninth and tenth order only). */
const orderLaterSets = LATER_SETS.filter((set) => existsSync(join(DEFAULT_NATURAL_DIR, `order.${set}.jsonl`)));

/** What evaluateHoldout reported for each order later set, kept for the models:compare test below. */
const orderReported = new Map<string, { automated: number; wrong: number }>();

for (const set of LATER_SETS) {
  // A set written for one domain only (the eighth: loan, the ninth and tenth: order) is counted on that domain.
  const domain = orderLaterSets.includes(set) ? 'order' : 'loan';
  // Every set is read whole and counted; the answers are recounted one by one on the first set of each
  // domain only: the counting is the same code for every set, and a recount doubles the cost.
  const recount = set === LATER_SETS.find((s) => orderLaterSets.includes(s) === (domain === 'order'));
  const title = recount
    ? `the ${set} numbers are the model answers recounted, and a missing ${set} file reports nothing`
    : `the ${set} set is read whole and counted, and a missing ${set} file reports nothing`;
  test(title, async () => {
    const agent = await DecisionAgent.load(domain);
    const reported = await evaluateHoldout(agent, domain, DEFAULT_NATURAL_DIR, set);
    assert.ok(reported);
    if (domain === 'order') orderReported.set(set, reported);
    const cases = readNaturalCases(join(DEFAULT_NATURAL_DIR, `${domain}.${set}.jsonl`));
    assert.equal(reported.cases, cases.length);
    assert.ok(reported.automated > 0 && reported.automated < cases.length);
    assert.ok(reported.wrong <= reported.automated);
    assert.equal(await evaluateHoldout(agent, domain, mkdtempSync(join(tmpdir(), `operon-no-${set}-`)), set), null);
    if (!recount) return;
    let right = 0;
    let automated = 0;
    let wrong = 0;
    for (const c of cases) {
      const answer = await agent.infer(c.variables);
      if (answer.label === c.label) right++;
      if (!answer.needsReview && answer.label !== 'review') {
        automated++;
        if (answer.label !== c.label) wrong++;
      }
    }
    assert.equal(reported.accuracy, right / cases.length);
    assert.equal(reported.automated, automated);
    assert.equal(reported.wrong, wrong);
  });
}

test('the misspelt copies misspell a decisive word of each case, and their counts are the model answers recounted', async () => {
  const agent = await DecisionAgent.load('order');
  const cases = readNaturalCases(join(DEFAULT_NATURAL_DIR, 'order.holdout.jsonl'));
  const reported = await evaluateMisspelt(agent, 'order', cases, 1);
  assert.ok(reported.copies > cases.length / 2, 'most notes have a decisive word to misspell');
  assert.ok(reported.copies <= cases.length);
  assert.ok(reported.automated > 0 && reported.automated <= reported.copies);
  // Every wrong example is an automated answer the policy does not give, recounted through the agent.
  for (const example of reported.examples) {
    const original = cases.find((c) => c.id === example.id)!;
    assert.notEqual(example.text, original.variables.notes, 'the copy differs from the note');
    const answer = await agent.infer({ ...original.variables, notes: example.text });
    assert.equal(answer.needsReview, false);
    assert.equal(answer.label, example.got);
    assert.notEqual(answer.label, original.label);
  }
  assert.equal(reported.examples.length, Math.min(20, reported.wrong));
  assert.deepEqual(await evaluateMisspelt(agent, 'order', cases, 1), reported, 'seeded: the same copies again');
});

test("the contrast set: each text on every reference field set, labelled by the policy, its wrong answers the agent's own", async () => {
  const agent = await DecisionAgent.load('loan');
  const reported = await evaluateContrast(agent, 'loan', DEFAULT_NATURAL_DIR);
  assert.ok(reported);
  assert.ok(reported.texts >= 50);
  assert.equal(reported.cases, reported.texts * REFERENCE_FIELDS.loan.length);
  assert.ok(reported.automated > 0 && reported.automated < reported.cases);
  assert.equal(reported.examples.length, reported.wrong);
  for (const example of reported.examples) {
    const answers = await Promise.all(
      REFERENCE_FIELDS.loan.map((fields) => agent.infer({ ...fields, purpose: example.text })),
    );
    const expected = REFERENCE_FIELDS.loan.map((fields) =>
      loanPolicy({ ...fields, purpose: example.text } as unknown as LoanCase, example.intent as never),
    );
    assert.ok(
      answers.some((a, i) => !a.needsReview && a.label === example.got && expected[i] === example.expected),
      example.text,
    );
  }
  assert.equal(await evaluateContrast(agent, 'loan', mkdtempSync(join(tmpdir(), 'operon-no-contrast-'))), null);
});

test('models:compare counts at the folder threshold what eval counts on the later sets, and automates less as the threshold rises', async () => {
  const agent = await DecisionAgent.load('order');
  const sets = comparisonSets('order', DEFAULT_NATURAL_DIR);
  assert.equal(
    sets.later.length,
    orderLaterSets.reduce((n, set) => n + readNaturalCases(join(DEFAULT_NATURAL_DIR, `order.${set}.jsonl`)).length, 0),
  );
  const threshold = agent.model.config.threshold;
  const [lower, atFolder] = await automationCurve(agent, { later: sets.later }, [0.5, threshold]);
  // Every contrast set holds the cases eval reads; their answers are counted both ways on one set
  // (the counting is the same code for every set, and each pass over a set costs seconds).
  for (const set of CONTRAST_SETS)
    assert.equal(sets[set].length, contrastCases('order', DEFAULT_NATURAL_DIR, set)!.cases.length, set);
  const [counted] = await automationCurve(agent, { idioms: sets.idioms }, [threshold]);
  const reported = (await evaluateContrast(agent, 'order', DEFAULT_NATURAL_DIR, 'idioms'))!;
  assert.deepEqual(
    [counted!.set, counted!.cases, counted!.automated, counted!.wrong],
    ['idioms', reported.cases, reported.automated, reported.wrong],
  );
  let automated = 0;
  let wrong = 0;
  for (const set of orderLaterSets) {
    // The per-set tests above ran first (a file's tests run in order), on the same loaded agent.
    const reported = orderReported.get(set) ?? (await evaluateHoldout(agent, 'order', DEFAULT_NATURAL_DIR, set))!;
    automated += reported.automated;
    wrong += reported.wrong;
  }
  assert.deepEqual(
    [atFolder!.set, atFolder!.threshold, atFolder!.automated, atFolder!.wrong],
    ['later', threshold, automated, wrong],
  );
  assert.ok(
    lower!.automated > atFolder!.automated,
    `${lower!.automated} automated at 0.5, ${atFolder!.automated} at ${threshold}`,
  );
  assert.ok(lower!.wrong >= atFolder!.wrong);
  assert.equal(lower!.accuracy, atFolder!.accuracy, 'the threshold moves what is automated, not the labels');
});

test('matched precision: a candidate is read at the lowest threshold where it is wrong no more often than the base folder at its own', async () => {
  const point = (set: CurvePoint['set'], threshold: number, automated: number, wrong: number): CurvePoint => ({
    set,
    threshold,
    cases: 100,
    automated,
    wrong,
    accuracy: 0.9,
  });
  // The base folder at 0.99: 60 + 20 automated, 2 + 1 wrong on the unseen sets; the natural set never counts.
  const base = [point('later', 0.99, 60, 2), point('contrast', 0.99, 20, 1), point('natural', 0.99, 90, 0)];
  assert.deepEqual(pooledUnseen(base, 0.99), { automated: 80, wrong: 3 });
  const less = [0.9, 0.95, 0.99].flatMap((t, i) => [
    point('later', t, 80 - 10 * i, 4 - i),
    point('contrast', t, 20, 0),
    point('natural', t, 99, 9),
  ]);
  assert.deepEqual(matchedPoint(base, 0.99, less), { threshold: 0.95, automated: 90, wrong: 3 });
  const worse = [0.9, 0.99].flatMap((t) => [point('later', t, 70, 5), point('contrast', t, 20, 0)]);
  assert.equal(matchedPoint(base, 0.99, worse), null);
  assert.throws(() => pooledUnseen(base, 0.5), /no curve point at threshold 0.5/);

  // The shipped order folder against itself: as much automated at no more wrong, at its threshold or
  // lower (on the later sets and one contrast set: each pass over a set costs seconds).
  const agent = await DecisionAgent.load('order');
  const { later, idioms } = comparisonSets('order', DEFAULT_NATURAL_DIR);
  const threshold = agent.model.config.threshold;
  const curve = await automationCurve(agent, { later, idioms }, [0.95, threshold]);
  const self = matchedPoint(curve, threshold, curve)!;
  assert.ok(self.threshold <= threshold);
  assert.ok(self.automated >= pooledUnseen(curve, threshold).automated);
  assert.ok(self.wrong <= pooledUnseen(curve, threshold).wrong);
});
