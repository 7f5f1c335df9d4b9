/**
 * The loan domain's hand-written data (issue #16): the natural test set is well formed, labelled by
 * the written policy, covers every intent and label, and shares no text with the generator's output
 * or with the hand-written training texts, which are well formed and distinct too. Fast: no model
 * is loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loanCase, rng } from '../../models/data/generate.ts';
import { LOAN_INTENTS, loanPolicy } from '../../models/data/policy.ts';
import { applicantFor, readDraft, STYLES } from '../../models/data/natural/label-loan.ts';

const TEST_SET = 'models/data/natural/loan.test.jsonl';
const TRAINING_TEXTS = 'models/data/handwritten/loan.jsonl';
const INTENTS = LOAN_INTENTS;
const LABELS = ['approve', 'reject', 'review'] as const;

const NaturalLoanCase = z.strictObject({
  id: z.string().regex(/^nat-loan-\d{4}$/),
  vars: z.strictObject({
    income: z.number().int().nonnegative(),
    debts: z.number().int().nonnegative(),
    creditScore: z.number().int().min(300).max(850),
    amount: z.number().int().positive(),
    termMonths: z.number().int().positive(),
    employment: z.enum(['permanent', 'self-employed', 'contract', 'part-time', 'retired', 'student', 'unemployed']),
    purpose: z.string().min(1),
  }),
  intent: z.enum(INTENTS),
  policyLabel: z.enum(LABELS),
  style: z.enum(STYLES),
});

const HandwrittenLoanText = z.strictObject({ text: z.string().min(1), intent: z.enum(INTENTS), style: z.enum(STYLES) });

function readJsonl(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** Same text up to case, punctuation and spacing (a text of only symbols or emoji stays as written). */
const normal = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim() || text.trim();

const natural = readJsonl(TEST_SET).map((row, i) => {
  const parsed = NaturalLoanCase.safeParse(row);
  assert.ok(parsed.success, `${TEST_SET} line ${i + 1}: ${parsed.error?.message}`);
  return parsed.data;
});

const handwritten = readJsonl(TRAINING_TEXTS).map((row, i) => {
  const parsed = HandwrittenLoanText.safeParse(row);
  assert.ok(parsed.success, `${TRAINING_TEXTS} line ${i + 1}: ${parsed.error?.message}`);
  return parsed.data;
});

const words = (text: string) => new Set(normal(text).split(' '));

/** Share of distinct words two texts have in common (Jaccard). */
function overlap(x: Set<string>, y: Set<string>): number {
  let shared = 0;
  for (const word of x) if (y.has(word)) shared++;
  return shared / (x.size + y.size - shared);
}

test('the natural loan test set: at least 300 well-formed cases with unique ids and purposes', () => {
  assert.ok(natural.length >= 300, `${natural.length} cases`);
  assert.equal(new Set(natural.map((c) => c.id)).size, natural.length, 'ids are unique');
  const purposes = natural.map((c) => normal(c.vars.purpose));
  assert.equal(new Set(purposes).size, purposes.length, 'no purpose is repeated');
});

test('every natural loan case is labelled by the written policy, and every intent and label occurs', () => {
  for (const c of natural) assert.equal(c.policyLabel, loanPolicy(c.vars, c.intent), `${c.id}: ${c.vars.purpose}`);
  for (const intent of INTENTS)
    assert.ok(
      natural.some((c) => c.intent === intent),
      `intent ${intent}`,
    );
  for (const label of LABELS)
    assert.ok(
      natural.some((c) => c.policyLabel === label),
      `label ${label}`,
    );
  const textDependent = natural.filter((c) => c.policyLabel !== loanPolicy(c.vars, 'neutral'));
  assert.ok(textDependent.length >= natural.length / 4, `${textDependent.length} cases depend on the purpose`);
});

test('the natural loan test set is exactly what label-loan.ts makes from the hand-written draft', () => {
  const draft = readDraft('models/data/natural/loan.test.draft.txt');
  assert.equal(draft.length, natural.length);
  draft.forEach((line, i) => {
    const c = natural[i]!;
    assert.deepEqual([c.vars, c.intent, c.style], [applicantFor(line), line.intent, line.style], c.id);
  });
});

test('no natural loan purpose is a text the synthetic generator writes, in either style', () => {
  const generated = new Set<string>();
  for (const [style, seed] of [
    ['train', 101],
    ['shifted', 202],
  ] as const) {
    const random = rng(seed);
    for (let i = 0; i < 20000; i++) generated.add(normal(loanCase(random, style).vars.purpose));
  }
  const clashes = natural.filter((c) => generated.has(normal(c.vars.purpose))).map((c) => `${c.id}: ${c.vars.purpose}`);
  assert.deepEqual(clashes, []);
});

test('the hand-written loan training texts: at least 1000 distinct, well-formed texts in every intent, made from their draft', () => {
  assert.ok(handwritten.length >= 1000, `${handwritten.length} texts`);
  const texts = handwritten.map((t) => normal(t.text));
  assert.equal(new Set(texts).size, texts.length, 'no text is repeated');
  for (const intent of INTENTS) {
    const share = handwritten.filter((t) => t.intent === intent).length / handwritten.length;
    assert.ok(share >= 0.1, `intent ${intent}: ${share}`);
  }
  const draft = readDraft('models/data/handwritten/loan.draft.txt');
  assert.deepEqual(
    handwritten,
    draft.map((line) => ({ text: line.purpose, intent: line.intent, style: line.style })),
  );
});

test('no hand-written training text repeats or closely rephrases a natural test purpose', () => {
  const testPurposes = new Set(natural.map((c) => normal(c.vars.purpose)));
  assert.deepEqual(
    handwritten.filter((t) => testPurposes.has(normal(t.text))).map((t) => t.text),
    [],
  );
  const testWords = natural.map((c) => [c, words(c.vars.purpose)] as const);
  const close = handwritten.flatMap((t) => {
    const own = words(t.text);
    return testWords
      .filter(([, other]) => overlap(own, other) >= 0.6)
      .map(([c]) => `${t.text} ~ ${c.id}: ${c.vars.purpose}`);
  });
  assert.deepEqual(close, []);
});
