/**
 * The nearest-texts check (nodes/decision/neighbours.ts): the intents it rules answers out under
 * are exact for the written policies, the reader finds the labelled texts most like a text
 * (inflections and misspellings included), malformed settings and files are refused at load, the
 * shipped loan folder's texts are what models/neighbours.ts writes, and the shipped loan model's
 * confident approval of a new franchise goes to a person while an ordinary purpose stays automated.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { loadDecisionModel, readModelConfig } from '../../nodes/decision/model.ts';
import { neighboursError, TextNeighbours, type NeighbourSettings } from '../../nodes/decision/neighbours.ts';
import {
  loanPolicy,
  orderPolicy,
  policyNever,
  type LoanIntent,
  type OrderCase,
  type OrderIntent,
} from '../../models/data/policy.ts';
import { neighbourTexts, NEIGHBOURS_FILE, writeNeighbours } from '../../models/neighbours.ts';
import { loanCase, orderCase } from './support/policy-cases.ts';

after(() => DecisionAgent.closeAll());

const LOAN_INTENTS: LoanIntent[] = ['neutral', 'prohibited', 'uncertain', 'secured'];
const ORDER_INTENTS: OrderIntent[] = ['neutral', 'collect', 'urgent', 'bulky'];
const shipped = (domain: string) => fileURLToPath(new URL(`../../models/${domain}/`, import.meta.url));

test('policyNever is exact: no listed intent ever gives the answer, and every other intent gives it for some case', () => {
  const answers = {
    loan: {
      intents: LOAN_INTENTS,
      arb: loanCase as fc.Arbitrary<object>,
      policy: (c: object, i: string) => loanPolicy(c as never, i as LoanIntent),
    },
    order: {
      intents: ORDER_INTENTS,
      arb: orderCase as fc.Arbitrary<object>,
      policy: (c: object, i: string) => orderPolicy(c as OrderCase, i as OrderIntent),
    },
  } as const;
  for (const domain of ['loan', 'order'] as const) {
    const { intents, arb, policy } = answers[domain];
    for (const [label, never] of Object.entries(policyNever(domain))) {
      fc.assert(
        fc.property(arb, fc.constantFrom(...never), (c, intent) => policy(c, intent) !== label),
        { numRuns: 2000 },
      );
      const sample = fc.sample(arb, { numRuns: 4000, seed: 11 });
      for (const intent of intents.filter((i) => !never.includes(i)))
        assert.ok(
          sample.some((c) => policy(c, intent) === label),
          `${domain}: some ${intent} case is answered ${label}, so ${intent} is not in never.${label}`,
        );
    }
  }
});

const SETTINGS: NeighbourSettings = { file: 'texts.jsonl', k: 3, share: 0.6, never: { approve: ['uncertain'] } };
const TEXTS = [
  { text: 'starting my own bakery business', intent: 'uncertain' },
  { text: 'a franchise of a burger chain', intent: 'uncertain' },
  { text: 'emigrating to Canada for good', intent: 'uncertain' },
  { text: 'a new kitchen and flooring', intent: 'neutral' },
  { text: 'a used car for the school run', intent: 'neutral' },
  { text: 'not a business loan, a car for my daughter', intent: 'neutral' },
];

test('the reader: nearest texts first, through inflections, misspellings and casing; the share of an intent', () => {
  const reader = new TextNeighbours(TEXTS, SETTINGS);
  assert.equal(reader.size, TEXTS.length);
  assert.equal(reader.nearest('STARTING A BUSINESS', 1)[0]!.text, 'starting my own bakery business');
  assert.equal(reader.nearest('a franchize of a coffee chain', 1)[0]!.text, 'a franchise of a burger chain');
  assert.equal(reader.nearest('emigrated to canada', 1)[0]!.text, 'emigrating to Canada for good');
  const near = reader.nearest('new kitchen cupboards');
  assert.equal(near[0]!.text, 'a new kitchen and flooring');
  assert.ok(
    near.every((n, i) => i === 0 || n.similarity <= near[i - 1]!.similarity),
    'most similar first',
  );
  assert.ok(near[0]!.similarity > 0 && near[0]!.similarity <= 1 + 1e-9);
  assert.deepEqual(reader.nearest('zzzz qqqq'), [], 'a text sharing no term has no neighbours');
  assert.equal(reader.shareIn('zzzz qqqq', ['uncertain']).share, 0);
  const { share } = reader.shareIn('opening a bakery franchise', ['uncertain']);
  assert.ok(share > 0.6, `share ${share}`);
});

test('the reason: only for the answers never lists, with the share and the nearest text of the intent', () => {
  const reader = new TextNeighbours(TEXTS, SETTINGS);
  assert.equal(reader.reason('reject', { purpose: 'starting a bakery business' }), null, 'reject is not ruled out');
  assert.equal(reader.reason('approve', { purpose: 'a new kitchen floor' }), null);
  const reason = reader.reason('approve', { purpose: 'starting a bakery business' });
  assert.match(
    reason ?? '',
    /^purpose reads like labelled texts of intent uncertain \(\d+% of its 3 nearest, e\.g\. "starting my own bakery business"\), under which the written policy never answers approve: a person checks the answer approve$/,
  );
});

test('malformed settings are named, and a folder with them, without its file or with a bad line does not load', async () => {
  const labels = ['approve', 'reject', 'review'];
  assert.equal(neighboursError(undefined, labels), null);
  assert.equal(neighboursError(SETTINGS, labels), null);
  assert.match(neighboursError([], labels)!, /must be an object/);
  assert.match(neighboursError({ ...SETTINGS, file: '../config.json' }, labels)!, /file name in the model folder/);
  assert.match(neighboursError({ ...SETTINGS, k: 0 }, labels)!, /k must be/);
  assert.match(neighboursError({ ...SETTINGS, share: 1.5 }, labels)!, /share must be/);
  assert.match(neighboursError({ ...SETTINGS, never: { courier: ['collect'] } }, labels)!, /'courier', which is not/);
  assert.match(neighboursError({ ...SETTINGS, never: { approve: [] } }, labels)!, /non-empty list/);

  const models = mkdtempSync(join(tmpdir(), 'operon-neighbours-'));
  cpSync(shipped('loan'), join(models, 'loan'), { recursive: true });
  const dir = join(models, 'loan');
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, neighbours: { ...SETTINGS, never: { approve: 'uncertain' } } }));
  assert.throws(() => readModelConfig(dir, 'loan'), /neighbours.never.approve must be a non-empty list/);
  writeFileSync(file, JSON.stringify({ ...config, neighbours: SETTINGS }));
  await assert.rejects(loadDecisionModel(dir, 'loan'), /neighbours.file texts.jsonl is missing/);
  writeFileSync(join(dir, 'texts.jsonl'), '{"text":"a car","intent":"neutral"}\n{"text":"a van"}\n');
  await assert.rejects(loadDecisionModel(dir, 'loan'), /texts.jsonl:2 needs "text" and "intent" strings/);
});

test('the shipped loan folder: its labelled texts are the train fold models/neighbours.ts writes, and never is the policy', () => {
  const config = readModelConfig(shipped('loan'), 'loan');
  assert.deepEqual(config.neighbours, { file: NEIGHBOURS_FILE, k: 15, share: 0.55, never: policyNever('loan') });
  const rows = readFileSync(join(shipped('loan'), NEIGHBOURS_FILE), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  assert.deepEqual(rows, neighbourTexts('loan'));
  assert.ok(rows.length > 1000, `${rows.length} texts`);
});

test('models/neighbours.ts rewrites the setting in place, on one line, also when a tool spread it over several', () => {
  const models = mkdtempSync(join(tmpdir(), 'operon-neighbours-write-'));
  cpSync(shipped('loan'), join(models, 'loan'), { recursive: true });
  const file = join(models, 'loan', 'config.json');
  const shippedConfig = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, `${JSON.stringify(shippedConfig, null, 2)}\n`);
  writeNeighbours(models, 'loan', 9, 0.6);
  const text = readFileSync(file, 'utf8');
  assert.equal(text.match(/"neighbours"/g)?.length, 1);
  assert.match(
    text,
    /^ {2}"neighbours": \{"file":"neighbours.jsonl","k":9,"share":0.6,"never":\{"approve":\["prohibited","uncertain"\]\}\},$/m,
  );
  assert.deepEqual(JSON.parse(text), {
    ...shippedConfig,
    neighbours: { ...shippedConfig.neighbours, k: 9, share: 0.6 },
  });
});

test('the shipped loan model: a new franchise confidently approved goes to a person; an ordinary purpose stays automated', async () => {
  const agent = await DecisionAgent.load('loan');
  const strong = {
    income: 85000,
    debts: 2000,
    creditScore: 790,
    amount: 8000,
    termMonths: 24,
    employment: 'permanent',
  };
  const franchise = { ...strong, purpose: 'NEW FRANCHISE - BURGER VAN' };
  assert.equal(loanPolicy(franchise, 'uncertain'), 'review', 'the written policy sends a new business to a person');
  const result = await agent.infer(franchise);
  assert.equal(result.label, 'approve');
  assert.ok(result.confidence >= result.threshold, `the model is sure: ${result.confidence}`);
  assert.equal(result.needsReview, true);
  assert.deepEqual(
    result.reviewReasons.map((r) => r.replace(/\(\d+% of its 15 nearest, e\.g\. "[^"]+"\)/, '(N)')),
    [
      'purpose reads like labelled texts of intent uncertain (N), under which the written policy never answers approve: a person checks the answer approve',
    ],
  );
  const boiler = await agent.infer({ ...strong, purpose: 'a new boiler before winter' });
  assert.deepEqual([boiler.label, boiler.needsReview], ['approve', false]);
  const negated = await agent.infer({ ...strong, purpose: 'not for a business, just a new boiler before winter' });
  assert.deepEqual(
    [negated.label, negated.needsReview],
    ['approve', false],
    'a negated business reads like the negated training texts',
  );
});
