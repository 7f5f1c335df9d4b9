/**
 * The wide generator (models/data/wide.ts) writes training text only: what generate.ts takes from it
 * is never a natural test case (equal, or sharing 60 % or more of its distinct words),
 * the splits that measure the synthetic test and the shifted test stay grammar-only, and the
 * training split really uses it. Fast: no model is loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rng, SPLIT_TEXTS, loanCase, orderCase, wideText } from '../../models/data/generate.ts';
import { LOAN_INTENTS, ORDER_INTENTS } from '../../models/data/policy.ts';

const normal = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
const words = (text: string) => new Set(normal(text).split(' ').filter(Boolean));
function overlap(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared || 1);
}
const naturalTexts = (domain: 'loan' | 'order') =>
  readFileSync(`models/data/natural/${domain}.test.jsonl`, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const row = JSON.parse(line) as { id: string; vars: { purpose?: string; notes?: string } };
      return { id: row.id, text: (row.vars.purpose ?? row.vars.notes)! };
    });

const INTENTS = { loan: LOAN_INTENTS, order: ORDER_INTENTS } as const;

for (const domain of ['loan', 'order'] as const) {
  test(`the wide ${domain} generator never writes a natural test case or a close rewording of one`, () => {
    const r = rng(20261202);
    const seen = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      for (const intent of INTENTS[domain]) {
        seen.add(normal(wideText(domain, intent, r)));
      }
    }
    assert.ok(seen.size > 2000, `only ${seen.size} distinct ${domain} texts`);
    const natural = naturalTexts(domain);
    const equal = natural.filter((c) => seen.has(normal(c.text))).map((c) => `${c.id}: ${c.text}`);
    assert.deepEqual(equal, []);
    const generated = [...seen].map((t) => words(t));
    const close = natural.flatMap((c) => {
      const own = words(c.text);
      const hit = generated.find((g) => overlap(own, g) >= 0.6);
      return hit ? [`${c.id}: ${c.text} ~ ${[...hit].join(' ')}`] : [];
    });
    assert.deepEqual(close, []);
  });
}

test('test and shifted splits stay grammar-only; training and validation draw from the wide generator', () => {
  assert.equal(SPLIT_TEXTS.test.wide, 0);
  assert.equal(SPLIT_TEXTS.shifted.wide, 0);
  assert.ok(SPLIT_TEXTS.train.wide > 0 && SPLIT_TEXTS.val.wide > 0);
  const r = rng(5);
  const wideOnly = { ...SPLIT_TEXTS.train, handwritten: 0, wide: 1, noise: 0 };
  const loan = loanCase(r, 'train', wideOnly);
  const order = orderCase(r, 'train', wideOnly);
  assert.ok(loan.vars.purpose.length > 0 && order.vars.notes.length > 0);
});
