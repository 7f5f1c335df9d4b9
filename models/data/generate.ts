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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DOMAINS, type DomainName } from './domains.ts';
import { loanPolicy, orderPolicy, type LoanCase, type LoanIntent, type OrderCase, type OrderIntent } from './policy.ts';
import { LOAN_GRAMMAR, ORDER_GRAMMAR, writeText, type Style } from './texts.ts';

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
const between = (r: Rand, lo: number, hi: number, step = 1) => lo + step * Math.floor((r() * (hi - lo)) / step + 0.5);
function weighted<T extends string>(r: Rand, weights: Record<T, number>): T {
  const entries = Object.entries(weights) as [T, number][];
  let x = r() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of entries) if ((x -= w) < 0) return k;
  return entries[entries.length - 1]![0];
}

export type { Style } from './texts.ts';

export function loanCase(r: Rand, style: Style): { vars: LoanCase; intent: LoanIntent } {
  const intent = weighted<LoanIntent>(r, { neutral: 0.55, prohibited: 0.13, uncertain: 0.14, secured: 0.18 });
  // A mixture so that approvable, borderline and clearly bad applicants all occur often.
  const strong = r() < 0.55;
  const vars: LoanCase = {
    income: strong ? between(r, 25000, 150000, 500) : between(r, 12000, 90000, 500),
    debts: strong ? between(r, 0, 22000, 500) : between(r, 0, 80000, 500),
    creditScore: strong ? between(r, 600, 850) : between(r, 450, 760),
    amount: strong ? between(r, 1000, 32000, 500) : between(r, 1000, 60000, 500),
    termMonths: pick(r, strong ? [12, 24, 36, 48, 60, 60, 72] : [12, 24, 36, 48, 60, 72, 84]),
    employment: strong
      ? pick(r, ['permanent', 'permanent', 'permanent', 'contract', 'retired', 'self-employed', 'part-time'])
      : pick(r, ['permanent', 'self-employed', 'contract', 'part-time', 'retired', 'student', 'unemployed']),
    purpose: writeText(LOAN_GRAMMAR[intent], style, r),
  };
  return { vars, intent };
}

export function orderCase(r: Rand, style: Style): { vars: OrderCase; intent: OrderIntent } {
  const intent = weighted<OrderIntent>(r, { neutral: 0.5, collect: 0.2, urgent: 0.18, bulky: 0.12 });
  const stockOf = () => (r() < 0.3 ? 0 : between(r, 1, 60));
  const stock = r() < 0.06 ? { leeds: 0, bristol: 0, glasgow: 0 } : { leeds: stockOf(), bristol: stockOf(), glasgow: stockOf() };
  const heavy = r() < 0.25;
  const vars: OrderCase = {
    weightKg: heavy ? between(r, 25, 120, 0.5) : between(r, 0.5, 35, 0.5),
    distanceKm: between(r, 2, 700),
    stock,
    deadlineHours: pick(r, [4, 8, 12, 24, 36, 48, 72, 96, 120, 168]),
    customerTier: pick(r, ['standard', 'standard', 'silver', 'gold', 'platinum']),
    notes: writeText(ORDER_GRAMMAR[intent], style, r),
  };
  return { vars, intent };
}

export interface CaseRecord {
  id: string;
  vars: Record<string, unknown>;
  label: string;
  policyLabel: string;
  rulesLabel: string;
  intent: string;
  textDependent: boolean;
}

export function makeCase(domain: DomainName, r: Rand, style: Style, noise: number, id: string): CaseRecord {
  const labels = DOMAINS[domain].labels;
  let vars: Record<string, unknown>, intent: string, policyLabel: string, rulesLabel: string;
  if (domain === 'loan') {
    const c = loanCase(r, style);
    [vars, intent, policyLabel, rulesLabel] = [c.vars as unknown as Record<string, unknown>, c.intent, loanPolicy(c.vars, c.intent), loanPolicy(c.vars, 'neutral')];
  } else {
    const c = orderCase(r, style);
    [vars, intent, policyLabel, rulesLabel] = [c.vars as unknown as Record<string, unknown>, c.intent, orderPolicy(c.vars, c.intent), orderPolicy(c.vars, 'neutral')];
  }
  const label = noise > 0 && r() < noise ? pick(r, labels.filter((l) => l !== policyLabel)) : policyLabel;
  return { id, vars, label, policyLabel, rulesLabel, intent, textDependent: policyLabel !== rulesLabel };
}

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
        const record = makeCase(domain, r, split === 'shifted' ? 'shifted' : 'train', split === 'train' ? options.noise : 0, `${domain}-${split}-${i}`);
        lines.push(JSON.stringify(record));
      }
      writeFileSync(join(dir, `${split}.jsonl`), lines.join('\n') + '\n');
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
    sizes: { train: Number(values.train), val: Number(values.val), test: Number(values.test), shifted: Number(values.shifted) },
    noise: Number(values.noise),
    domains,
  });
  console.log(`wrote ${domains.join(', ')} cases to ${values.out}`);
}
