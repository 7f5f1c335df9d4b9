/**
 * The holdout sets (models/data/natural/{loan,order}.holdout.jsonl): a second pair of hand-written
 * measuring sets, written after the shipped models by a hand that had not read the natural test
 * sets' sentences. Like the natural sets they are labelled by the written policy and exactly what the
 * label scripts make from their drafts; unlike a set written beside the training texts, none of
 * their texts is a training text, a text the generators write (grammar or wide), or a close
 * rewording of one, so what the shipped models do on them is measured on wording they never saw.
 * Fast: no model is loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loanCase, orderCase, rng, wideText } from '../../models/data/generate.ts';
import { LOAN_INTENTS, loanPolicy, ORDER_INTENTS, orderPolicy, type OrderCase } from '../../models/data/policy.ts';
import { labelCases, readDraft } from '../../models/data/natural/label-loan.ts';
import { labelTestSet, parseDraft } from '../../models/data/natural/label-order.ts';
import { CONTRAST_SETS, contrastCases } from '../../models/eval.ts';

const normal = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim() || text.trim();
const words = (text: string) => new Set(normal(text).split(' ').filter(Boolean));
/** Share of distinct words two texts have in common (Jaccard). */
function overlap(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared || 1);
}
const jsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));

interface Row {
  id: string;
  vars: Record<string, unknown>;
  intent: string;
  policyLabel: string;
  style: string;
}
const INTENTS = { loan: LOAN_INTENTS, order: ORDER_INTENTS } as const;
/** The measured sets beside the natural test set: the holdout, and the third to the tenth written later still (the eighth: loan only; the ninth and tenth: order only). */
const SETS = {
  holdout: { seed: 26, loanPrefix: 'hold-loan', orderPrefix: 'hold-order', minCases: 170, minPerIntent: 25 },
  third: { seed: 35, loanPrefix: 'third-loan', orderPrefix: 'third-order', minCases: 120, minPerIntent: 15 },
  fourth: { seed: 44, loanPrefix: 'fourth-loan', orderPrefix: 'fourth-order', minCases: 80, minPerIntent: 15 },
  fifth: { seed: 53, loanPrefix: 'fifth-loan', orderPrefix: 'fifth-order', minCases: 80, minPerIntent: 15 },
  sixth: { seed: 62, loanPrefix: 'sixth-loan', orderPrefix: 'sixth-order', minCases: 80, minPerIntent: 15 },
  seventh: { seed: 71, loanPrefix: 'seventh-loan', orderPrefix: 'seventh-order', minCases: 80, minPerIntent: 15 },
  // Loan only: written to measure a loan model continued on new training texts.
  eighth: { seed: 0, loanPrefix: 'eighth-loan', orderPrefix: null, minCases: 80, minPerIntent: 15 },
  // Order only: written to measure an order ensemble of four members.
  ninth: { seed: 80, loanPrefix: null, orderPrefix: 'ninth-order', minCases: 80, minPerIntent: 15 },
  // Order only: written to measure an order ensemble with a member trained on newer data.
  tenth: { seed: 89, loanPrefix: null, orderPrefix: 'tenth-order', minCases: 80, minPerIntent: 15 },
} as const;
type SetName = keyof typeof SETS;
/** The id prefix of a set's cases in a domain, null when the set was not written for it. */
const prefixOf = (domain: 'loan' | 'order', set: SetName) =>
  domain === 'loan' ? SETS[set].loanPrefix : SETS[set].orderPrefix;
const measured = (domain: 'loan' | 'order', set: SetName) =>
  jsonl(`models/data/natural/${domain}.${set}.jsonl`) as Row[];
const textOf = (row: Row) => String(row.vars.purpose ?? row.vars.notes);

for (const set of Object.keys(SETS) as SetName[]) {
  const { seed, loanPrefix, orderPrefix, minCases, minPerIntent } = SETS[set];
  test(`each ${set} set is what its label script makes from its draft, labelled by the written policy`, () => {
    const loan = loanPrefix === null ? [] : measured('loan', set);
    if (loanPrefix !== null)
      assert.deepEqual(loan, labelCases(readDraft(`models/data/natural/loan.${set}.draft.txt`), loanPrefix));
    const order = orderPrefix === null ? [] : measured('order', set);
    if (orderPrefix !== null)
      assert.deepEqual(
        order,
        labelTestSet(parseDraft(readFileSync(`models/data/natural/order.${set}.draft.txt`, 'utf8')), seed, orderPrefix),
      );
    for (const row of loan) assert.equal(row.policyLabel, loanPolicy(row.vars as never, row.intent as never), row.id);
    for (const row of order)
      assert.equal(row.policyLabel, orderPolicy(row.vars as unknown as OrderCase, row.intent as never), row.id);
    for (const [domain, rows] of [
      ['loan', loan],
      ['order', order],
    ] as const) {
      if (prefixOf(domain, set) === null) continue;
      assert.ok(rows.length >= minCases, `${domain}: ${rows.length} cases`);
      assert.equal(new Set(rows.map((r) => normal(textOf(r)))).size, rows.length, `${domain}: no text twice`);
      for (const intent of INTENTS[domain])
        assert.ok(rows.filter((r) => r.intent === intent).length >= minPerIntent, `${domain}: ${intent}`);
    }
  });
}

/**
 * Holdout cases known to be close to a sentence the grammar can write, found by the sample below
 * after the loan generator's draws changed (2026-12-04): the holdout writer wrote them without
 * the grammar, but they match one of its templates. Listed, not hidden: docs/decisions.md names them.
 */
const KNOWN_CLOSE: Record<string, string> = {
  'hold-loan-0154': 'the secured template "<purpose> with my husband as guarantor" (models/data/texts.ts)',
};

for (const domain of ['loan', 'order'] as const) {
  test(`no ${domain} text of a later measured set or a contrast set is a training text, a generated text or a close rewording of one`, () => {
    const training = (jsonl(`models/data/handwritten/${domain}.jsonl`) as { text: string }[]).map((t) => t.text);
    const generated = new Set<string>();
    const r = rng(20261204);
    for (let i = 0; i < 1500; i++) for (const intent of INTENTS[domain]) generated.add(wideText(domain, intent, r));
    for (const style of ['train', 'shifted'] as const) {
      const g = rng(16);
      for (let i = 0; i < 5000; i++)
        generated.add(domain === 'loan' ? loanCase(g, style).vars.purpose : orderCase(g, style).vars.notes);
    }
    const natural = (jsonl(`models/data/natural/${domain}.test.jsonl`) as Row[]).map(textOf);
    const others = [...training, ...generated].map((text) => [text, words(text)] as const);
    /** The training or generated text sharing 60 % or more of `text`'s words (its own text included). */
    const closeTo = (text: string) => {
      const own = words(text);
      return others.find(([, other]) => overlap(own, other) >= 0.6)?.[0];
    };
    // The contrast sets (eval:model `contrast:`, `meaning-first:`) are measured on wording no training text has either.
    for (const set of CONTRAST_SETS) {
      const texts = contrastCases(domain, 'models/data/natural', set)?.texts.map((t) => t.text) ?? [];
      if (set === 'contrast') assert.ok(texts.length >= 20, set);
      assert.deepEqual(
        texts.flatMap((text) => {
          const hit = closeTo(text);
          return hit ? [`${text} ~ ${hit}`] : [];
        }),
        [],
        set,
      );
    }
    const sets = (Object.keys(SETS) as SetName[]).filter((set) => prefixOf(domain, set) !== null);
    for (const set of sets) {
      // A later set is measured on wording no earlier set has either.
      const earlier = sets.slice(0, sets.indexOf(set)).flatMap((s) => measured(domain, s).map(textOf));
      const seenExactly = new Set([...training, ...generated, ...natural, ...earlier].map(normal));
      const rows = measured(domain, set);
      assert.deepEqual(
        rows.filter((row) => seenExactly.has(normal(textOf(row)))).map((row) => `${row.id}: ${textOf(row)}`),
        [],
        set,
      );
      const close = rows.flatMap((row) => {
        if (KNOWN_CLOSE[row.id]) return [];
        const hit = closeTo(textOf(row));
        return hit ? [`${row.id}: ${textOf(row)} ~ ${hit}`] : [];
      });
      assert.deepEqual(close, [], set);
    }
  });
}
