/**
 * `npm run models:data` — writes reproducible synthetic cases for both domains:
 * models/.work/<domain>/{train,val,test,shifted}.jsonl, one case per line:
 * `{ id, vars, label, policyLabel, rulesLabel, intent, textDependent }`.
 *
 * `label` carries the configured label noise (train only); every other split is labelled by the
 * policy. `shifted` uses the rephrased texts that never occur in training.
 *
 * Usage: tsx models/data/generate.ts [--out DIR] [--seed N] [--train N] [--val N] [--test N]
 *        [--shifted N] [--noise P] [--domain loan|order|all]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DOMAINS, type DomainName } from './domains.ts';
import { loanPolicy, orderPolicy, type LoanCase, type LoanIntent, type OrderCase, type OrderIntent } from './policy.ts';
import { LOAN_GRAMMAR, ORDER_GRAMMAR, writeText, type Style } from './texts.ts';
import { hash, perturbText, type PerturbationName } from './perturb.ts';
import { wideLoanText, wideOrderText } from './wide.ts';

/** mulberry32: a tiny seeded PRNG, so a seed reproduces the corpus exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
function weighted<T extends string>(r: Rand, weights: Record<T, number>): T {
  const entries = Object.entries(weights) as [T, number][];
  let x = r() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of entries) if ((x -= w) < 0) return k;
  return entries[entries.length - 1]![0];
}

export type { Style } from './texts.ts';

/** A value drawn log-uniformly between lo and hi: small amounts are as common, relatively, as large ones. */
const logUniform = (r: Rand, lo: number, hi: number) => Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)));

/**
 * A number as a customer or a form would write it: continuous over the range, rounded to a grain
 * people use (to the unit most often, sometimes to tens, hundreds or thousands), never a grid.
 */
function amountLike(r: Rand, value: number, grains: readonly number[] = [1, 1, 1, 10, 100, 500, 1000]): number {
  const grain = pick(r, grains);
  return Math.max(grain === 1 ? 0 : grain, Math.round(value / grain) * grain);
}
const integer = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const tenths = (x: number) => Math.round(x * 10) / 10;

/** Where a case's free text comes from: the grammar, or sentences people wrote (models/data/handwritten). */
export interface TextSource {
  /** The share of cases whose text is a hand-written sentence (0: grammar only). */
  handwritten: number;
  /** The hand-written fold to draw from: 'train' (4 in 5 sentences) or 'dev' (the fifth, never trained on). */
  fold: 'train' | 'dev';
  /** The share of the other texts written by the wide generator (models/data/wide.ts) instead of the grammar. */
  wide: number;
  /** The share of generated texts given one meaning-preserving edit (typo, casing, synonym, a harmless clause). */
  noise: number;
}
const GRAMMAR_ONLY: TextSource = { handwritten: 0, fold: 'train', wide: 0, noise: 0 };

function writeCaseText(
  domain: DomainName,
  intent: string,
  style: Style,
  r: Rand,
  source: TextSource,
): { text: string; handwritten: boolean } {
  if (source.handwritten > 0 && r() < source.handwritten) {
    const pool = handwrittenTexts(domain, source.fold)[intent];
    if (pool && pool.length > 0) return { text: pick(r, pool), handwritten: true };
  }
  const grammar = (domain === 'loan' ? LOAN_GRAMMAR : ORDER_GRAMMAR) as Record<string, Parameters<typeof writeText>[0]>;
  let text = source.wide > 0 && r() < source.wide ? wideText(domain, intent, r) : writeText(grammar[intent]!, style, r);
  if (source.noise > 0 && r() < source.noise) text = perturbText(text, domain, pick(r, TRAINING_EDITS), r) ?? text;
  return { text, handwritten: false };
}

/** Same text for a reader: case, spacing, punctuation and emoji do not make a text new. */
const normalText = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
const wordSet = (text: string) => new Set(normalText(text).split(' ').filter(Boolean));
/** Word-set overlap (Jaccard). */
function overlap(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared || 1);
}
const naturalWords = new Map<DomainName, Set<string>[]>();
/**
 * True when `text` is a natural test case of the domain or shares 60 % or more of its distinct words
 * with one (the rule the hand-written training texts follow): such a text is never written for training.
 */
export function nearNaturalCase(domain: DomainName, text: string): boolean {
  let natural = naturalWords.get(domain);
  if (!natural) {
    const file = fileURLToPath(new URL(`./natural/${domain}.test.jsonl`, import.meta.url));
    natural = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => {
        const vars = (JSON.parse(line) as { vars: { purpose?: string; notes?: string } }).vars;
        return wordSet(vars.purpose ?? vars.notes ?? '');
      });
    naturalWords.set(domain, natural);
  }
  const own = wordSet(text);
  return natural.some((other) => overlap(own, other) >= 0.6);
}

/** A text from the wide generator (models/data/wide.ts), drawn again while it is too close to a natural test case. */
export function wideText(domain: DomainName, intent: string, r: Rand): string {
  for (;;) {
    const text = domain === 'loan' ? wideLoanText(intent as LoanIntent, r) : wideOrderText(intent as OrderIntent, r);
    if (!nearNaturalCase(domain, text)) return text;
  }
}

const TRAINING_EDITS: PerturbationName[] = [
  'typo-swap',
  'typo-drop',
  'typo-double',
  'casing',
  'synonym',
  'harmless-clause',
];

export function loanCase(
  r: Rand,
  style: Style,
  source: TextSource = GRAMMAR_ONLY,
): { vars: LoanCase; intent: LoanIntent; handwritten: boolean } {
  const intent = weighted<LoanIntent>(r, { neutral: 0.55, prohibited: 0.13, uncertain: 0.14, secured: 0.18 });
  // A mixture so that approvable, borderline and clearly bad applicants all occur often; every
  // number is continuous, and one case in five sits close to a policy threshold.
  const strong = r() < 0.6;
  // One case in four puts one number close to its policy threshold.
  const near = r() < 0.25 ? pick(r, ['income', 'debts', 'score', 'amount', 'term'] as const) : null;
  // One strong applicant in four asks for an amount and a term drawn over their whole ranges: with
  // amounts up to 35000 and mostly grid terms, the model approved 100000 over 4 months at 0.99
  // (npm run models:limits) and sent approvable amounts over terms of a few months to review.
  const wide = strong && r() < 0.25;
  const income =
    near === 'income'
      ? logUniform(r, 20000, 31000)
      : strong
        ? logUniform(r, 25000, 250000)
        : logUniform(r, 8000, 120000);
  const debts =
    near === 'debts'
      ? logUniform(r, 14000, 45000)
      : r() < 0.25
        ? 0
        : strong
          ? logUniform(r, 100, 22000)
          : logUniform(r, 100, 95000);
  const score = near === 'score' ? integer(r, 560, 700) : strong ? integer(r, 640, 850) : integer(r, 300, 790);
  const amount =
    near === 'amount'
      ? logUniform(r, 22000, 40000)
      : strong && !wide
        ? logUniform(r, 500, 35000)
        : logUniform(r, 500, 150000);
  const term =
    near === 'term'
      ? integer(r, 48, 72)
      : wide
        ? integer(r, 3, 120)
        : strong
          ? r() < 0.7
            ? pick(r, [12, 18, 24, 36, 48, 60, 60, 72])
            : integer(r, 3, 72)
          : r() < 0.6
            ? pick(r, [12, 18, 24, 36, 48, 60, 72, 84])
            : integer(r, 3, 120);
  const vars: LoanCase = {
    income: amountLike(r, income),
    debts: amountLike(r, debts),
    creditScore: score,
    amount: amountLike(r, amount, [1, 1, 10, 50, 100, 500, 1000]),
    termMonths: term,
    employment: strong
      ? pick(r, [
          'permanent',
          'permanent',
          'permanent',
          'permanent',
          'contract',
          'retired',
          'self-employed',
          'part-time',
        ])
      : pick(r, ['permanent', 'self-employed', 'contract', 'part-time', 'retired', 'student', 'unemployed']),
    purpose: '',
  };
  const text = writeCaseText('loan', intent, style, r, source);
  vars.purpose = text.text;
  return { vars, intent, handwritten: text.handwritten };
}

export function orderCase(
  r: Rand,
  style: Style,
  source: TextSource = GRAMMAR_ONLY,
): { vars: OrderCase; intent: OrderIntent; handwritten: boolean } {
  const intent = weighted<OrderIntent>(r, { neutral: 0.5, collect: 0.2, urgent: 0.18, bulky: 0.12 });
  const stockOf = () => (r() < 0.3 ? 0 : integer(r, 1, 60));
  const stock =
    r() < 0.06 ? { leeds: 0, bristol: 0, glasgow: 0 } : { leeds: stockOf(), bristol: stockOf(), glasgow: stockOf() };
  const heavy = r() < 0.25;
  const weight = heavy ? logUniform(r, 20, 500) : logUniform(r, 0.1, 35);
  const deadline =
    r() < 0.35
      ? pick(r, [4, 8, 12, 24, 36, 48, 72, 96, 120, 168, 240])
      : r() < 0.4
        ? integer(r, 16, 56)
        : integer(r, 1, 336);
  const vars: OrderCase = {
    weightKg:
      weight < 10 && r() < 0.7
        ? tenths(Math.max(0.1, weight))
        : r() < 0.5
          ? tenths(weight)
          : Math.max(1, Math.round(weight)),
    distanceKm: integer(r, 1, 1000),
    stock,
    deadlineHours: deadline,
    customerTier: pick(r, ['standard', 'standard', 'silver', 'gold', 'platinum']),
    notes: '',
  };
  const text = writeCaseText('order', intent, style, r, source);
  vars.notes = text.text;
  return { vars, intent, handwritten: text.handwritten };
}

/** Hand-written sentences by intent, split into folds by a hash of the text (stable across edits to the file). */
const handwrittenCache = new Map<string, Record<string, string[]>>();
export function handwrittenTexts(domain: DomainName, fold: 'train' | 'dev'): Record<string, string[]> {
  const key = `${domain}:${fold}`;
  let out = handwrittenCache.get(key);
  if (!out) {
    out = {};
    const file = fileURLToPath(new URL(`./handwritten/${domain}.jsonl`, import.meta.url));
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as { text: string; intent: string };
      if ((hash(row.text) % 5 === 0) !== (fold === 'dev')) continue;
      (out[row.intent] ??= []).push(row.text);
    }
    handwrittenCache.set(key, out);
  }
  return out;
}

export interface CaseRecord {
  id: string;
  vars: Record<string, unknown>;
  label: string;
  policyLabel: string;
  rulesLabel: string;
  intent: string;
  textDependent: boolean;
  /** The text is a hand-written sentence (models/data/handwritten), not the grammar's. */
  handwritten?: boolean;
}

export function makeCase(
  domain: DomainName,
  r: Rand,
  style: Style,
  noise: number,
  id: string,
  source: TextSource = GRAMMAR_ONLY,
): CaseRecord {
  const labels = DOMAINS[domain].labels;
  let vars: Record<string, unknown>, intent: string, policyLabel: string, rulesLabel: string, handwritten: boolean;
  if (domain === 'loan') {
    const c = loanCase(r, style, source);
    [vars, intent, policyLabel, rulesLabel, handwritten] = [
      c.vars as unknown as Record<string, unknown>,
      c.intent,
      loanPolicy(c.vars, c.intent),
      loanPolicy(c.vars, 'neutral'),
      c.handwritten,
    ];
  } else {
    const c = orderCase(r, style, source);
    [vars, intent, policyLabel, rulesLabel, handwritten] = [
      c.vars as unknown as Record<string, unknown>,
      c.intent,
      orderPolicy(c.vars, c.intent),
      orderPolicy(c.vars, 'neutral'),
      c.handwritten,
    ];
  }
  const label =
    noise > 0 && r() < noise
      ? pick(
          r,
          labels.filter((l) => l !== policyLabel),
        )
      : policyLabel;
  return {
    id,
    vars,
    label,
    policyLabel,
    rulesLabel,
    intent,
    textDependent: policyLabel !== rulesLabel,
    ...(handwritten ? { handwritten } : {}),
  };
}

/**
 * Text sources per split. Training mixes the train fold of the hand-written sentences (two texts in
 * five), the wide generator and the grammar (one generated text in three edited); validation, which
 * fits the calibration and the review threshold, draws half its texts from the dev fold nobody
 * trained on; test and shifted stay grammar-only, so they measure what they always measured.
 */
export const SPLIT_TEXTS: Record<'train' | 'val' | 'test' | 'shifted', TextSource> = {
  train: { handwritten: 0.4, fold: 'train', wide: 0.5, noise: 0.3 },
  val: { handwritten: 0.5, fold: 'dev', wide: 0.5, noise: 0.3 },
  test: GRAMMAR_ONLY,
  shifted: GRAMMAR_ONLY,
};

export interface GenerateOptions {
  out: string;
  seed: number;
  sizes: { train: number; val: number; test: number; shifted: number };
  noise: number;
  domains: DomainName[];
}

export function generate(options: GenerateOptions): void {
  for (const domain of options.domains) {
    const dir = join(options.out, domain);
    mkdirSync(dir, { recursive: true });
    const r = rng(options.seed * 7919 + (domain === 'loan' ? 1 : 2));
    for (const split of ['train', 'val', 'test', 'shifted'] as const) {
      const lines: string[] = [];
      for (let i = 0; i < options.sizes[split]; i++) {
        const record = makeCase(
          domain,
          r,
          split === 'shifted' ? 'shifted' : 'train',
          split === 'train' ? options.noise : 0,
          `${domain}-${split}-${i}`,
          SPLIT_TEXTS[split],
        );
        lines.push(JSON.stringify(record));
      }
      writeFileSync(join(dir, `${split}.jsonl`), `${lines.join('\n')}\n`);
    }
    writeFileSync(join(dir, 'generate.json'), JSON.stringify({ ...options, domain }, null, 2));
  }
}

/** The corpus the shipped models were trained and evaluated on (`npm run models:data`). */
export const DEFAULT_GENERATE: GenerateOptions = {
  out: 'models/.work',
  seed: 7,
  sizes: { train: 24000, val: 1500, test: 2000, shifted: 2000 },
  noise: 0.02,
  domains: ['loan', 'order'],
};

/** Per domain, the temporary folder it was generated into again (once a process). */
const regenerated = new Map<DomainName, string>();

/**
 * The file of one split of the shipped corpus (DEFAULT_GENERATE): models/.work/<domain>/<split>.jsonl
 * after `npm run models:data`, else the domain generated again from the seed into a temporary folder
 * (once a process, for every split).
 */
export function defaultSplitFile(domain: DomainName, split: 'train' | 'val' | 'test' | 'shifted'): string {
  const file = join(DEFAULT_GENERATE.out, domain, `${split}.jsonl`);
  if (existsSync(file)) return file;
  let out = regenerated.get(domain);
  if (!out) {
    out = mkdtempSync(join(tmpdir(), 'operon-corpus-'));
    generate({ ...DEFAULT_GENERATE, out, domains: [domain] });
    regenerated.set(domain, out);
  }
  return join(out, domain, `${split}.jsonl`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: DEFAULT_GENERATE.out },
      seed: { type: 'string', default: String(DEFAULT_GENERATE.seed) },
      train: { type: 'string', default: String(DEFAULT_GENERATE.sizes.train) },
      val: { type: 'string', default: String(DEFAULT_GENERATE.sizes.val) },
      test: { type: 'string', default: String(DEFAULT_GENERATE.sizes.test) },
      shifted: { type: 'string', default: String(DEFAULT_GENERATE.sizes.shifted) },
      noise: { type: 'string', default: String(DEFAULT_GENERATE.noise) },
      domain: { type: 'string', default: 'all' },
    },
  });
  const domains: DomainName[] = values.domain === 'all' ? ['loan', 'order'] : [values.domain as DomainName];
  generate({
    out: values.out!,
    seed: Number(values.seed),
    sizes: {
      train: Number(values.train),
      val: Number(values.val),
      test: Number(values.test),
      shifted: Number(values.shifted),
    },
    noise: Number(values.noise),
    domains,
  });
  console.log(`wrote ${domains.join(', ')} cases to ${values.out}`);
}
