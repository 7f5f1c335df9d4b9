/**
 * Grounded answers: the shipped grounding settings are the written policy (each reference reading
 * tells the meanings of a text apart, and every case meeting an answer's conditions with a
 * meaning's readings gets that answer from the policy), malformed settings are refused at load, and
 * the shipped models automate under the threshold only what the policy grounds: an ordinary purpose
 * of a strong applicant is approved with its reading recorded, while a weaker score, a forbidden
 * purpose or threshold 1 still go to a person, and no grounded answer on the natural and holdout
 * sets differs from the policy.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { GROUNDED_LOAN_CASE, loanCase, orderCase } from './support/policy-cases.ts';
import { Grounding, groundingError } from '../../nodes/decision/grounding.ts';
import { withValueAt } from '../../nodes/decision/inputs.ts';
import { readModelConfig } from '../../nodes/decision/model.ts';
import { DOMAINS } from '../../models/data/domains.ts';
import {
  LOAN_INTENTS,
  loanPolicy,
  ORDER_INTENTS,
  orderPolicy,
  policyGrounding,
  type LoanCase,
  type OrderCase,
} from '../../models/data/policy.ts';
import { readNaturalCases } from '../../models/checklist.ts';

after(() => DecisionAgent.closeAll());

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));

/** A reading's reference case: the case's fields replaced by the reading's values. */
function reference<T extends object>(c: T, values: Record<string, number | string>): T {
  return Object.entries(values).reduce(
    (copy, [field, value]) => withValueAt(copy, field.split('.'), value),
    c as Record<string, unknown>,
  ) as T;
}

/** Each reading's policy answer for a text of this meaning, as the model would read it. */
function readingsFor<T extends object>(
  settings: ReturnType<typeof policyGrounding>,
  c: T,
  answer: (reference: T) => string,
): Record<string, { label: string; confidence: number }> {
  return Object.fromEntries(
    Object.entries(settings.readings).map(([name, values]) => [
      name,
      { label: answer(reference(c, values)), confidence: 1 },
    ]),
  );
}

/** `readings` with the readings of `absent` left out (not read with confidence: null to the conditions). */
const without = (readings: ReturnType<typeof readingsFor>, absent: string[]) =>
  Object.fromEntries(Object.entries(readings).filter(([name]) => !absent.includes(name)));

test('the loan readings tell an approvable and a secured purpose from the others, and a grounded approval is always the policy', () => {
  const settings = policyGrounding('loan');
  const grounding = new Grounding(settings);
  const intents = LOAN_INTENTS;
  const seen = intents.map((intent) => {
    const r = readingsFor(settings, fc.sample(loanCase, 1)[0]!, (x) => loanPolicy(x as LoanCase, intent));
    return `${r.strong!.label}/${r.secured!.label}`;
  });
  assert.deepEqual(seen, ['approve/review', 'reject/reject', 'review/review', 'approve/approve']);
  const names = Object.keys(settings.readings);
  fc.assert(
    fc.property(loanCase, fc.constantFrom(...intents), fc.subarray(names), (c, intent, absent) => {
      const readings = without(
        readingsFor(settings, c, (r) => loanPolicy(r as LoanCase, intent)),
        absent,
      );
      const policy = loanPolicy(c as LoanCase, intent);
      if (grounding.holds('approve', c, readings))
        assert.equal(policy, 'approve', `${intent} ${JSON.stringify(c)} without ${absent}`);
      // Exact when every reading counts: every approval is grounded.
      if (absent.length === 0 && policy === 'approve') assert.ok(grounding.holds('approve', c, readings));
    }),
    { numRuns: 4000 },
  );
});

test('the order readings tell the four meanings of a note apart, and the grounded answers are exactly the policy', () => {
  const settings = policyGrounding('order');
  const grounding = new Grounding(settings);
  const intents = ORDER_INTENTS;
  const seen = intents.map((intent) => {
    const r = readingsFor(settings, fc.sample(orderCase, 1)[0]!, (x) => orderPolicy(x as OrderCase, intent));
    return `${r.later!.label}/${r.soon!.label}`;
  });
  assert.deepEqual(seen, ['warehouse/courier', 'pickup/pickup', 'courier/courier', 'warehouse/warehouse']);
  const names = Object.keys(settings.readings);
  fc.assert(
    fc.property(orderCase, fc.constantFrom(...intents), fc.subarray(names), (c, intent, absent) => {
      const readings = without(
        readingsFor(settings, c, (r) => orderPolicy(r as OrderCase, intent)),
        absent,
      );
      const policy = orderPolicy(c as OrderCase, intent);
      for (const label of DOMAINS.order.labels) {
        const holds = grounding.holds(label, c, readings);
        // Exact when both readings count; with one missing, only what the policy gives.
        if (absent.length === 0) assert.equal(holds, label === policy, `${label} ${intent} ${JSON.stringify(c)}`);
        else if (holds) assert.equal(label, policy, `${label} ${intent} ${JSON.stringify(c)} without ${absent}`);
      }
    }),
    { numRuns: 4000 },
  );
});

test('a reading under its threshold counts as null', () => {
  const settings = policyGrounding('loan');
  const grounding = new Grounding(settings);
  const c = { income: 60000, debts: 0, creditScore: 650, amount: 9000, termMonths: 24, employment: 'permanent' };
  const strong = { label: 'approve', confidence: 0.99 };
  assert.equal(grounding.holds('approve', c, { strong, secured: { label: 'approve', confidence: 0.91 } }), true);
  assert.equal(grounding.holds('approve', c, { strong, secured: { label: 'approve', confidence: 0.89 } }), false);
  assert.equal(grounding.holds('approve', c, { strong: { ...strong, confidence: 0.97 }, secured: strong }), false);
  assert.equal(grounding.holds('approve', c, {}), false);
  assert.equal(
    grounding.holds('reject', c, { strong: { label: 'reject', confidence: 1 } }),
    false,
    'reject is not grounded',
  );
});

test("the shipped folders carry the policy's grounding, as export.py copies it from the domain", () => {
  for (const domain of ['loan', 'order'] as const) {
    const config = JSON.parse(readFileSync(join(MODELS, domain, 'config.json'), 'utf8'));
    assert.deepEqual(config.grounding, policyGrounding(domain));
    assert.deepEqual(DOMAINS[domain].grounding, policyGrounding(domain));
  }
});

test('malformed grounding settings are named and refused when the folder loads', () => {
  const { inputs, labels } = DOMAINS.loan;
  const good = policyGrounding('loan');
  const refused: [unknown, RegExp][] = [
    [{ ...good, threshold: 0 }, /threshold must be a number above 0/],
    [{ ...good, thresholds: { weak: 0.9 } }, /thresholds names 'weak', which is not a reading/],
    [{ ...good, thresholds: { secured: 2 } }, /thresholds.secured must be a number above 0/],
    [{ ...good, readings: {} }, /at least one reference case/],
    [{ ...good, readings: { income: { debts: 0 } } }, /'income' is also a declared input/],
    [
      { ...good, readings: { strong: { purpose: 'a car' } } },
      /purpose, a text input: readings set numbers and choices only/,
    ],
    [
      { ...good, readings: { strong: { income: 10_000_000 } } },
      /income must be a number within the range seen in training/,
    ],
    [{ ...good, readings: { strong: { employment: 'astronaut' } } }, /employment must be one of/],
    [{ ...good, readings: { strong: { shoeSize: 9 } } }, /sets shoeSize, which is not a declared input/],
    [{ ...good, answers: undefined }, /grounding.answers must map labels/],
    [
      { ...good, answers: { approve: ['weak = "approve"'] } },
      /grounding.answers.approve: 'weak = "approve"' reads weak/,
    ],
    [{ ...good, answers: { accept: ['strong = "approve"'] } }, /grounding.answers names 'accept'/],
    [{ ...good, answers: { approve: ['strong != "reject"'] } }, /tests the reading strong for inequality/],
    [
      { ...good, answers: { approve: ['not(strong = "reject")', 'creditScore >= 680'] } },
      /reading strong for inequality or inside not\(\)/,
    ],
  ];
  for (const [settings, message] of refused) assert.match(groundingError(settings, labels, inputs) ?? '', message);
  assert.equal(groundingError(good, labels, inputs), null);
  // A string that merely contains the operator is no test of a reading.
  assert.equal(
    groundingError(
      { ...good, answers: { approve: ['strong = "approve"', 'employment != "student"'] } },
      labels,
      inputs,
    ),
    null,
  );
  assert.match(groundingError(good, labels, undefined) ?? '', /needs declared inputs/);

  const dir = mkdtempSync(join(tmpdir(), 'operon-grounding-'));
  try {
    cpSync(join(MODELS, 'loan'), dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.grounding.readings.strong.purpose = 'a new car';
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    assert.throws(() => readModelConfig(dir, 'loan'), /OPERON_ERR_UNKNOWN_MODEL|cannot be loaded.*grounding/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped loan model approves an ordinary purpose under its threshold when the policy grounds it, and only then', async () => {
  const agent = await DecisionAgent.load('loan');
  const grounded = await agent.infer(GROUNDED_LOAN_CASE);
  assert.equal(grounded.label, 'approve');
  assert.ok(grounded.confidence < grounded.threshold, `${grounded.confidence} is under ${grounded.threshold}`);
  assert.equal(grounded.needsReview, false);
  assert.deepEqual(grounded.reviewReasons, []);
  assert.equal(grounded.grounding?.strong?.label, 'approve');
  assert.ok(grounded.grounding.strong.confidence >= 0.98);

  // Threshold 1 asks a person whatever the policy grounds.
  const always = await agent.infer(GROUNDED_LOAN_CASE, { threshold: 1 });
  assert.equal(always.needsReview, true);
  assert.equal(always.grounding, undefined);

  // A score between 620 and 680 is approved only for a secured purpose: not grounded, a person decides.
  const weaker = await agent.infer({ ...GROUNDED_LOAN_CASE, creditScore: 660 });
  assert.ok(weaker.label !== 'approve' || weaker.needsReview, JSON.stringify(weaker));
  assert.equal(weaker.grounding, undefined);

  // A forbidden purpose is never read as approvable on the reference case.
  for (const purpose of ['to clear what I owe the bookies', 'putting it all into dogecoin']) {
    const result = await agent.infer({ ...GROUNDED_LOAN_CASE, purpose });
    assert.equal(result.grounding, undefined, purpose);
    assert.ok(result.label !== 'approve' || result.needsReview, `${purpose}: ${JSON.stringify(result)}`);
  }
});

test('every answer the shipped models ground on the natural and holdout sets is the policy answer', async () => {
  for (const domain of ['loan', 'order'] as const) {
    const agent = await DecisionAgent.load(domain);
    const cases = ['test', 'holdout'].flatMap((set) =>
      readNaturalCases(join(MODELS, 'data', 'natural', `${domain}.${set}.jsonl`)),
    );
    const results = await Promise.all(cases.map((c) => agent.infer(c.variables)));
    const grounded = cases.filter((_, i) => results[i]!.grounding);
    assert.ok(grounded.length >= 10, `${domain}: ${grounded.length} grounded answers`);
    if (domain === 'loan') {
      const secured = grounded.filter((c) => (c.variables.creditScore as number) < 680);
      assert.ok(secured.length >= 3, `${secured.length} grounded approvals at a score under 680 (a secured purpose)`);
    }
    for (const c of grounded) {
      const result = results[cases.indexOf(c)]!;
      assert.equal(result.needsReview, false);
      assert.equal(result.label, c.label, `${c.id}: ${JSON.stringify(c.variables)}`);
    }
  }
});
