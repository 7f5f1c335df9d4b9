/**
 * The promotion gate's arithmetic (nodes/decision/promotion.ts) on outcomes whose metrics are known:
 * paired bootstrap intervals, the margins, the kinds of finding, and the shadow activation rule.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateGuardSet,
  evaluateReviewedSet,
  pairedBootstrap,
  shadowRefusal,
  type Outcome,
} from '../../nodes/decision/promotion.ts';

/** n cases, the first `right` answered right at confidence `p` (the rest wrong at the same confidence). */
function outcomes(n: number, right: number, p: number): Outcome[] {
  return Array.from({ length: n }, (_, i) => ({ probs: i < right ? [p, 1 - p] : [1 - p, p], truth: 0 }));
}

describe('promotion gate arithmetic', () => {
  test('the same answers: every difference is 0 with a zero-width interval, and the set passes', () => {
    const same = outcomes(300, 290, 0.95);
    const e = evaluateGuardSet('standard', same, same, { threshold: 0.9 });
    for (const m of Object.values(e.metrics)) assert.deepEqual([m.diff, m.lower, m.upper], [0, 0, 0]);
    assert.deepEqual(e.findings, []);
  });

  test('paired intervals bracket the measured difference and are reproducible from the seed', () => {
    const active = outcomes(400, 380, 0.95);
    const candidate = outcomes(400, 370, 0.95);
    const a = pairedBootstrap(candidate, active, { threshold: 0.9, seed: 3 });
    const b = pairedBootstrap(candidate, active, { threshold: 0.9, seed: 3 });
    assert.deepEqual(a, b);
    assert.equal(a.accuracy.diff, 370 / 400 - 380 / 400);
    assert.ok(a.accuracy.lower <= a.accuracy.diff && a.accuracy.diff <= a.accuracy.upper);
    // Paired: the candidate is wrong exactly where the active version is, plus 10 more; the interval stays narrow.
    assert.ok(a.accuracy.upper - a.accuracy.lower < 0.04, JSON.stringify(a.accuracy));
  });

  test('a fall beyond the margin is a regression; within it but with a wide interval, insufficient evidence', () => {
    const active = outcomes(200, 180, 0.9);
    const worse = evaluateGuardSet('natural', outcomes(200, 160, 0.9), active, { threshold: 0.5 });
    assert.ok(worse.findings.some((f) => f.metric === 'accuracy' && f.kind === 'regression'));

    // Half the answers swapped between right and wrong: the same accuracy, an interval far wider than 0.01.
    const swapped = active.map((o, i) =>
      i < 20 || (i >= 180 && i < 200) ? { ...o, probs: [...o.probs].reverse() } : o,
    );
    const unsure = evaluateGuardSet('natural', swapped, active, { threshold: 0.5 });
    assert.equal(unsure.metrics.accuracy.diff, 0);
    assert.ok(unsure.findings.some((f) => f.metric === 'accuracy'));
    assert.ok(
      unsure.findings.every((f) => f.kind === 'insufficient-evidence'),
      JSON.stringify(unsure.findings),
    );
  });

  test('overconfidence on the standard split: confidence up, accuracy down', () => {
    const e = evaluateGuardSet('standard', outcomes(600, 500, 0.999), outcomes(600, 590, 0.95), { threshold: 0.9 });
    assert.ok(
      e.findings.some((f) => f.metric === 'meanConfidence' && f.kind === 'regression'),
      JSON.stringify(e.findings),
    );
    assert.ok(e.findings.some((f) => f.metric === 'ece' && f.kind === 'regression'));
  });

  test('the reviewed held-out cases must be beaten, not matched', () => {
    const same = outcomes(20, 15, 0.9);
    assert.equal(evaluateReviewedSet(same, same, { threshold: 0.9 }).findings.length, 1);
    assert.deepEqual(evaluateReviewedSet(outcomes(20, 16, 0.9), same, { threshold: 0.9 }).findings, []);
  });

  test('shadow activation: period complete, enough reviews, no worse than the active version', () => {
    const need = { decisions: 200, reviews: 20 };
    assert.match(
      shadowRefusal({ decisions: 150, reviewed: 30, activeCorrect: 10, shadowCorrect: 20 }, need)!,
      /not complete: 150 of 200/,
    );
    assert.match(
      shadowRefusal({ decisions: 250, reviewed: 19, activeCorrect: 10, shadowCorrect: 19 }, need)!,
      /too few reviewed shadow decisions: 19 of 20/,
    );
    assert.match(
      shadowRefusal({ decisions: 250, reviewed: 25, activeCorrect: 21, shadowCorrect: 20 }, need)!,
      /regressed/,
    );
    assert.equal(shadowRefusal({ decisions: 250, reviewed: 25, activeCorrect: 20, shadowCorrect: 20 }, need), null);
  });
});
