/**
 * The CheckList-style suite (models/data/perturb.ts, models/checklist.ts): perturbations are
 * deterministic and leave every decisive word in place; directional pairs and sweeps are labelled by
 * the policy; the whole suite runs against the real shipped models and counts consistently.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import {
  answerOf,
  decideAll,
  naturalMetrics,
  readNaturalCases,
  runChecklist,
  type NaturalCase,
} from '../../models/checklist.ts';
import {
  DECISIVE_WORDS,
  directionalPairs,
  isDecisive,
  perturbations,
  perturbText,
  policyLabel,
  sweepPoints,
  PERTURBATIONS,
  SWEEPS,
  THRESHOLDS,
} from '../../models/data/perturb.ts';
import { rng } from '../../models/data/generate.ts';
import { LOAN_GRAMMAR, ORDER_GRAMMAR } from '../../models/data/texts.ts';

const LOAN_TEXTS = [
  'Honestly I need to cover some losses at the bookies, thanks',
  'not for gambling, it is for a new kitchen. my brother will guarantee it',
  'Buying a second-hand Toyota for my commute',
  'starting my own bakery next month, no income from it yet',
];
const ORDER_TEXTS = [
  "i'll grab it from the Leeds depot on my way home",
  'its a pallet, need a forklift. deliver after lunch please',
  'need it for the wedding tomorrow, please hurry',
  'leave it with the neighbour at number 12, ring the bell',
];

/** The words of `text` that are decisive for the domain, lower-cased. */
const decisiveIn = (text: string, domain: 'loan' | 'order') =>
  text
    .toLowerCase()
    .split(/[^a-z0-9']+/)
    .filter((w) => w && isDecisive(w, domain));

describe('perturbations', () => {
  it('are deterministic: the same seed and id give the same copies, another seed may differ', () => {
    for (const text of LOAN_TEXTS)
      assert.deepEqual(perturbations(text, 'loan', 7, 'a'), perturbations(text, 'loan', 7, 'a'));
    const all = (seed: number) =>
      ORDER_TEXTS.flatMap((t) => perturbations(t, 'order', seed).map((p) => p.text)).join('|');
    assert.notEqual(all(1), all(2), 'the seed changes which letters and clauses are picked');
  });

  it('meaning-preserving copies keep every decisive word (and every number) of the original', () => {
    const check = (texts: string[], domain: 'loan' | 'order') => {
      for (const text of texts) {
        for (let seed = 1; seed <= 25; seed++) {
          for (const p of perturbations(text, domain, seed)) {
            assert.notEqual(p.text, text);
            const before = decisiveIn(text, domain).sort();
            const after = decisiveIn(p.text, domain);
            for (const word of before)
              assert.ok(after.includes(word), `${p.name} of "${text}" lost "${word}": "${p.text}"`);
          }
        }
      }
    };
    check(LOAN_TEXTS, 'loan');
    check(ORDER_TEXTS, 'order');
  });

  it('typo-decisive misspells one decisive word, never a negation or a number, and is outside the suite', () => {
    assert.ok(!PERTURBATIONS.includes('typo-decisive'), 'a model may rightly send a misspelt decision to a person');
    const seen = new Set<string>();
    for (const text of [...ORDER_TEXTS, 'not urgent, dont collect, no pallet needed', 'NEEDED URGENTLY for 12 hours']) {
      for (let seed = 1; seed <= 25; seed++) {
        const out = perturbText(text, 'order', 'typo-decisive', rng(seed));
        if (out === null) continue;
        const [a, b] = [text.split(/\s+/), out.split(/\s+/)];
        assert.equal(a.length, b.length);
        const changed = a.flatMap((word, i) => (word === b[i] ? [] : [[word, b[i]!]]));
        assert.equal(changed.length, 1, `one word changed in "${out}"`);
        const [before, after] = changed[0]!;
        const bare = before.replace(/[.,!?]$/, '');
        assert.ok(isDecisive(bare, 'order'), `"${before}" is decisive`);
        assert.ok(!['not', 'dont', 'no'].includes(bare.toLowerCase()) && !/\d/.test(bare));
        assert.equal(after[0], before[0], 'the first letter stays');
        assert.ok(Math.abs(after.length - before.length) <= 1);
        seen.add(bare.toLowerCase());
      }
    }
    // Decisive words of every intent get misspelt: urgency, collecting, bulk.
    for (const word of ['urgent', 'collect', 'forklift'])
      assert.ok(
        [...seen].some((w) => w.startsWith(word)),
        word,
      );
  });

  it('decisive words come from the intents of models/data/texts.ts; typos never land on them', () => {
    for (const value of LOAN_GRAMMAR.prohibited.slots.gamble!.train)
      assert.ok(
        value.split(' ').some((w) => isDecisive(w, 'loan')),
        value,
      );
    for (const value of ORDER_GRAMMAR.collect.slots.depot!.train)
      assert.ok(
        value.split(' ').some((w) => isDecisive(w, 'order')),
        value,
      );
    assert.ok(DECISIVE_WORDS.loan.secured.includes('guarant'));
    assert.ok(
      isDecisive('guarantor', 'loan') &&
        isDecisive('gambling', 'loan') &&
        isDecisive('Leeds', 'order') &&
        isDecisive('not', 'loan'),
    );
    assert.equal(isDecisive('kitchen', 'loan'), false);
    assert.equal(
      perturbText('casino betting gambling', 'loan', 'typo-swap', rng(1)),
      null,
      'nothing but decisive words: no typo',
    );
    assert.equal(perturbText('', 'loan', 'casing', rng(1)), null);
    assert.equal(
      perturbText('i was going to bet, but not anymore', 'loan', 'reorder', rng(1)),
      null,
      'clauses tied together are not reordered',
    );
    const typoed = perturbText('please leave the parcel at the front door', 'order', 'typo-drop', rng(3))!;
    assert.equal(typoed.length, 'please leave the parcel at the front door'.length - 1);
    assert.deepEqual(PERTURBATIONS.length, 7);
  });
});

describe('directional pairs and sweeps', () => {
  it('keep only thresholds the policy answers differently, each side labelled by the policy', () => {
    const vars = {
      income: 41250,
      debts: 3120,
      creditScore: 702,
      amount: 12500,
      termMonths: 48,
      employment: 'permanent',
      purpose: 'a new kitchen',
    };
    const pairs = directionalPairs('loan', 'c1', vars, 'neutral');
    const score = pairs.find((p) => p.id === 'c1:creditScore:579-581')!;
    assert.equal(score.low.policyLabel, 'reject');
    assert.equal(score.high.policyLabel, 'review');
    assert.equal(pairs.find((p) => p.variable === 'employment')!.high.policyLabel, 'reject');
    for (const p of pairs) assert.notEqual(p.low.policyLabel, p.high.policyLabel);
    assert.ok(!pairs.some((p) => p.id.includes('619')), 'the secured threshold does not matter for a neutral purpose');
    const order = directionalPairs(
      'order',
      'o1',
      {
        weightKg: 2.4,
        distanceKm: 37,
        stock: { leeds: 3, bristol: 0, glasgow: 12 },
        deadlineHours: 30,
        customerTier: 'gold',
        notes: 'x',
      },
      'neutral',
    );
    assert.deepEqual(
      order.map((p) => p.id),
      ['o1:deadlineHours:23-25'],
      'at 30 hours only the 24-hour deadline changes the route',
    );
    const soon = directionalPairs(
      'order',
      'o2',
      {
        weightKg: 2.4,
        distanceKm: 37,
        stock: { leeds: 3, bristol: 0, glasgow: 12 },
        deadlineHours: 10,
        customerTier: 'gold',
        notes: 'x',
      },
      'neutral',
    );
    assert.deepEqual(soon.map((p) => `${p.variable} ${p.low.policyLabel}/${p.high.policyLabel}`).sort(), [
      'deadlineHours courier/warehouse',
      'stock warehouse/courier',
      'weightKg courier/warehouse',
    ]);
    assert.ok(THRESHOLDS.order.length >= 5);
  });

  it('sweep every threshold of the policy for a neutral text', () => {
    const loan = sweepPoints('loan');
    const scores = loan.filter((p) => p.variable === 'creditScore');
    assert.equal(scores.length, 56);
    assert.equal(scores.find((p) => p.value === 570)!.policyLabel, 'reject');
    assert.equal(scores.find((p) => p.value === 700)!.policyLabel, 'approve');
    const deadline = sweepPoints('order').filter((p) => p.variable === 'deadlineHours');
    assert.equal(deadline.find((p) => p.value === 24)!.policyLabel, 'courier');
    assert.equal(deadline.find((p) => p.value === 25)!.policyLabel, 'warehouse');
    assert.equal(SWEEPS.loan.base.purpose, 'a new kitchen for our flat');
  });
});

describe('the suite against the shipped models', () => {
  const loanVars = {
    income: 41250,
    debts: 3120,
    creditScore: 702,
    amount: 12500,
    termMonths: 48,
    employment: 'permanent',
  };
  const orderVars = {
    weightKg: 2.4,
    distanceKm: 37,
    stock: { leeds: 3, bristol: 0, glasgow: 12 },
    deadlineHours: 30,
    customerTier: 'gold',
  };
  const intents = {
    loan: ['prohibited', 'secured', 'neutral', 'uncertain'],
    order: ['collect', 'bulky', 'urgent', 'neutral'],
  };

  for (const domain of ['loan', 'order'] as const) {
    it(`${domain}: runs, and its counts add up`, async () => {
      const texts = domain === 'loan' ? LOAN_TEXTS : ORDER_TEXTS;
      const cases: NaturalCase[] = texts.map((text, i) => {
        const variables = {
          ...(domain === 'loan' ? loanVars : orderVars),
          [domain === 'loan' ? 'purpose' : 'notes']: text,
        };
        const intent = intents[domain][i]!;
        return {
          id: `${domain}-${i}`,
          variables,
          intent,
          label: policyLabel(domain, variables, intent),
          style: i % 2 ? 'plain' : 'slang',
        };
      });
      // The file format of models/data/natural/<domain>.test.jsonl reads back the same cases.
      const file = join(mkdtempSync(join(tmpdir(), 'operon-natural-')), `${domain}.test.jsonl`);
      writeFileSync(
        file,
        cases
          .map((c) =>
            JSON.stringify({ id: c.id, vars: c.variables, intent: c.intent, policyLabel: c.label, style: c.style }),
          )
          .join('\n'),
      );
      assert.deepEqual(readNaturalCases(file), cases);

      const agent = await DecisionAgent.load(domain);
      const outcomes = await decideAll(
        agent,
        cases.map((c) => c.variables),
      );
      const metrics = naturalMetrics(domain, agent.labels, cases, outcomes);
      assert.equal(metrics.cases, 4);
      assert.deepEqual(metrics.policyMismatches, []);
      assert.deepEqual(Object.keys(metrics.byStyle).sort(), ['plain', 'slang']);
      assert.equal(metrics.byStyle.plain!.cases + metrics.byStyle.slang!.cases, 4);
      const automated = outcomes.filter((o) => answerOf(o) !== 'review').length;
      assert.equal(metrics.autoRate, automated / 4);

      const report = await runChecklist(agent, domain, cases, outcomes, { seed: 3 });
      const again = await runChecklist(agent, domain, cases, outcomes, { seed: 3 });
      assert.deepEqual(again, report, 'seeded: the same copies, the same answers');
      const inv = report.invariance;
      assert.equal(inv.automated, automated);
      assert.equal(
        inv.variants,
        cases.reduce(
          (s, c) =>
            s + perturbations(String(c.variables[domain === 'loan' ? 'purpose' : 'notes']), domain, 3, c.id).length,
          0,
        ),
      );
      assert.ok(inv.variants >= 4 * 5);
      const per = Object.values(inv.byPerturbation);
      assert.equal(
        per.reduce((s, p) => s + p.variants, 0),
        inv.variants,
      );
      assert.ok(inv.flips <= inv.automated && inv.flips <= per.reduce((s, p) => s + p.flips, 0));
      assert.equal(
        per.reduce((s, p) => s + p.toReview, 0),
        inv.toReview,
      );

      const dir = report.directional;
      assert.equal(
        dir.pairs,
        cases.reduce((s, c) => s + directionalPairs(domain, c.id, c.variables, c.intent).length, 0),
      );
      assert.ok(dir.pairs > 0 && dir.failures <= dir.pairs);
      assert.equal(
        Object.values(dir.byVariable).reduce((s, v) => s + v.failures, 0),
        dir.failures,
      );

      const sw = report.sweeps;
      assert.equal(sw.points, sweepPoints(domain).length);
      assert.equal(
        Object.values(sw.byVariable).reduce((s, v) => s + v.departures.length, 0),
        sw.departures,
      );
      assert.ok(sw.departures + sw.reviews <= sw.points);
    });
  }
});
