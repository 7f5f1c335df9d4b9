/**
 * The synthetic data and the tokenizer: reproducible from a seed, labelled by the written policy,
 * text that carries signal the fields alone don't, a rephrased shifted split, and a tokenizer.json
 * the `tokenizers` package loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { generate, makeCase, rng } from '../../models/data/generate.ts';
import { loanPolicy, orderPolicy } from '../../models/data/policy.ts';
import { DOMAINS } from '../../models/data/domains.ts';
import { buildTokenizer } from '../../models/tokenizer/train.ts';
import { LOAN_GRAMMAR, ORDER_GRAMMAR } from '../../models/data/texts.ts';

test('the same seed gives the same cases; another seed does not', () => {
  const a = Array.from(
    { length: 50 },
    (
      (r) => (_: unknown, i: number) =>
        makeCase('loan', r, 'train', 0.1, String(i))
    )(rng(5)),
  );
  const b = Array.from(
    { length: 50 },
    (
      (r) => (_: unknown, i: number) =>
        makeCase('loan', r, 'train', 0.1, String(i))
    )(rng(5)),
  );
  const c = Array.from(
    { length: 50 },
    (
      (r) => (_: unknown, i: number) =>
        makeCase('loan', r, 'train', 0.1, String(i))
    )(rng(6)),
  );
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('policy labels, label noise only where asked, and text-dependent cases in both domains', () => {
  for (const domain of ['loan', 'order'] as const) {
    const random = rng(11);
    const noisy = Array.from({ length: 3000 }, (_, i) => makeCase(domain, random, 'train', 0.1, String(i)));
    const flipped = noisy.filter((c) => c.label !== c.policyLabel).length / noisy.length;
    assert.ok(flipped > 0.07 && flipped < 0.13, `noise ${flipped}`);
    const clean = Array.from({ length: 500 }, (_, i) => makeCase(domain, random, 'shifted', 0, String(i)));
    assert.ok(clean.every((c) => c.label === c.policyLabel));
    const textDependent = noisy.filter((c) => c.textDependent).length / noisy.length;
    assert.ok(textDependent > 0.08, `${domain}: ${textDependent} of cases depend on the text`);
    assert.equal(new Set(noisy.map((c) => c.policyLabel)).size, 3);
  }
});

test('the written policies: a gambling purpose rejects a strong applicant; a customer who collects gets pickup', () => {
  const strong = {
    income: 90000,
    debts: 1000,
    creditScore: 800,
    amount: 5000,
    termMonths: 24,
    employment: 'permanent',
    purpose: '',
  };
  assert.equal(loanPolicy(strong, 'neutral'), 'approve');
  assert.equal(loanPolicy(strong, 'prohibited'), 'reject');
  assert.equal(loanPolicy({ ...strong, creditScore: 640 }, 'secured'), 'approve');
  assert.equal(loanPolicy({ ...strong, creditScore: 640 }, 'neutral'), 'review');
  const order = {
    weightKg: 3,
    distanceKm: 20,
    stock: { leeds: 3, bristol: 0, glasgow: 0 },
    deadlineHours: 96,
    customerTier: 'standard',
    notes: '',
  };
  assert.equal(orderPolicy(order, 'collect'), 'pickup');
  assert.equal(orderPolicy(order, 'neutral'), 'warehouse');
  assert.equal(orderPolicy({ ...order, stock: { leeds: 0, bristol: 0, glasgow: 0 } }, 'collect'), 'warehouse');
});

test('shifted text uses sentence frames that never occur in training', () => {
  for (const grammar of [...Object.values(LOAN_GRAMMAR), ...Object.values(ORDER_GRAMMAR)]) {
    assert.ok(grammar.frames.shifted.length > 0);
    for (const frame of grammar.frames.shifted) assert.ok(!grammar.frames.train.includes(frame), frame);
  }
});

test('the tokenizer step writes a tokenizer.json that the tokenizers package loads, with one token per label word', async () => {
  const work = mkdtempSync(join(tmpdir(), 'operon-tok-'));
  generate({ out: work, seed: 1, sizes: { train: 300, val: 10, test: 10, shifted: 10 }, noise: 0, domains: ['loan'] });
  await buildTokenizer(work, 'loan', 1024, join(work, 'loan'));
  const tokenizer = Tokenizer.fromFile(join(work, 'loan', 'tokenizer.json'));
  for (const word of ['approve', 'reject', 'review'])
    assert.equal((await tokenizer.encode(` ${word}`)).getIds().length, 1);
  const digits = (await tokenizer.encode('income 52000')).getTokens();
  assert.deepEqual(digits.slice(-5), ['5', '2', '0', '0', '0']);
  const tokens = JSON.parse(readFileSync(join(work, 'loan', 'tokens.json'), 'utf8'));
  const ids = JSON.parse(readFileSync(join(work, 'loan', 'val.ids.json'), 'utf8'));
  assert.equal(ids.length, 10);
  assert.ok(ids.every((row: { ids: number[] }) => row.ids.every((id) => id < tokens.vocabSize)));
  // The free-text span: inside the prompt, non-empty, and it encodes exactly the purpose text.
  const cases = readFileSync(join(work, 'loan', 'val.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  for (const [i, row] of (ids as { ids: number[]; text: [number, number] }[]).entries()) {
    const [start, end] = row.text;
    assert.ok(start > 0 && end > start && end < row.ids.length);
    assert.deepEqual(row.ids.slice(start, end), (await tokenizer.encode(cases[i].vars.purpose)).getIds());
  }
});

test('generated numbers never carry more decimals than the declared inputs say the model reads', () => {
  for (const domain of ['loan', 'order'] as const) {
    const r = rng(3);
    const numbers = Object.entries(DOMAINS[domain].inputs).filter(([, spec]) => spec.type === 'number');
    assert.ok(
      numbers.every(([, spec]) => spec.decimals !== undefined),
      `${domain}: every number input has decimals`,
    );
    for (let i = 0; i < 2000; i++) {
      const c = makeCase(domain, r, 'train', 0, String(i));
      for (const [field, spec] of numbers) {
        const value = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c.vars);
        assert.equal(typeof value, 'number');
        assert.equal(Number((value as number).toFixed(spec.decimals)), value, `${domain} ${field} ${value}`);
      }
    }
  }
});

test('the shipped models declare the inputs the data was generated for (domains.ts), whenBlank included', () => {
  for (const domain of ['loan', 'order'] as const) {
    const config = JSON.parse(readFileSync(new URL(`../../models/${domain}/config.json`, import.meta.url), 'utf8'));
    assert.deepEqual(config.inputs, JSON.parse(JSON.stringify(DOMAINS[domain].inputs)), domain);
  }
});
