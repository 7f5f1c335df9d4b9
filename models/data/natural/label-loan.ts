/**
 * Turns the hand-written loan drafts into the committed JSON Lines files of issue #16
 * (format: DATA-FORMAT.md).
 *
 * Draft lines are `<intent> <style> [amount=N] <purpose>`; blank lines and `#` comments are skipped.
 * - `test`: models/data/natural/loan.test.draft.txt -> loan.test.jsonl. Each case gets applicant
 *   figures drawn from a generator seeded by its own purpose (adding a case never changes another),
 *   continuous and often at a policy threshold; `policyLabel` comes from loanPolicy, never by hand.
 * - `train`: models/data/handwritten/loan.draft.txt -> loan.jsonl, texts only.
 *
 * - `holdout`: models/data/natural/loan.holdout.draft.txt -> loan.holdout.jsonl, the same way.
 * - `third`: models/data/natural/loan.third.draft.txt -> loan.third.jsonl, the same way.
 * - `fourth`: models/data/natural/loan.fourth.draft.txt -> loan.fourth.jsonl, the same way.
 *
 * Usage: npx tsx models/data/natural/label-loan.ts test|holdout|third|fourth|fifth|sixth|seventh|eighth|train
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { rng } from '../generate.ts';
import { STYLES } from './styles.ts';
import { LOAN_INTENTS, loanPolicy, type LoanCase, type LoanIntent } from '../policy.ts';

export { STYLES };

export interface DraftLine {
  intent: LoanIntent;
  style: string;
  amount?: number;
  purpose: string;
}

/** Reads a draft file; throws on an unknown intent or style with the line number. */
export function readDraft(path: string): DraftLine[] {
  const out: DraftLine[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      if (raw.trim() === '' || raw.startsWith('#')) return;
      const m = /^(\S+) (\S+) (?:amount=(\d+) )?(.+)$/.exec(raw);
      if (!m) throw new Error(`${path}:${i + 1}: not "<intent> <style> <purpose>"`);
      const [, intent, style, amount, purpose] = m;
      if (!(LOAN_INTENTS as readonly string[]).includes(intent!)) throw new Error(`${path}:${i + 1}: intent ${intent}`);
      if (!(STYLES as readonly string[]).includes(style!)) throw new Error(`${path}:${i + 1}: style ${style}`);
      out.push({
        intent: intent as LoanIntent,
        style: style!,
        amount: amount ? Number(amount) : undefined,
        purpose: purpose!,
      });
    });
  return out;
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
/** A whole number in [lo, hi] that is not a round grid value (never a multiple of 50 unless lo=hi). */
function continuous(r: Rand, lo: number, hi: number): number {
  const x = Math.round(lo + r() * (hi - lo));
  return x % 50 === 0 && hi - lo > 100 ? x + 1 + Math.floor(r() * 48) : x;
}
const TERMS = [6, 10, 12, 18, 24, 30, 36, 42, 48, 54, 60];
const GOOD_JOBS = ['permanent', 'permanent', 'permanent', 'contract', 'retired'];
const ANY_JOB = ['permanent', 'self-employed', 'contract', 'part-time', 'retired', 'student', 'unemployed'];

/** An applicant who meets every rule at the 680 score. */
function strong(r: Rand): Omit<LoanCase, 'purpose'> {
  return {
    income: continuous(r, 26000, 135000),
    debts: r() < 0.15 ? 0 : continuous(r, 200, 18500),
    creditScore: continuous(r, 685, 845),
    amount: continuous(r, 1200, 29800),
    termMonths: pick(r, TERMS),
    employment: pick(r, GOOD_JOBS),
  };
}

/** One field moved onto (or just across) a policy threshold. */
function nearThreshold(r: Rand): Omit<LoanCase, 'purpose'> {
  const c = strong(r);
  const edge = pick(r, ['score', 'score', 'debts', 'debts', 'amount', 'term', 'income', 'job'] as const);
  if (edge === 'score') c.creditScore = pick(r, [579, 580, 581, 619, 620, 621, 679, 680, 681]);
  if (edge === 'debts') c.debts = pick(r, [19999, 20000, 20001, 39999, 40000, 40250]);
  if (edge === 'amount') c.amount = pick(r, [29999, 30000, 30001, 30450]);
  if (edge === 'term') c.termMonths = pick(r, [60, 61, 66, 72]);
  if (edge === 'income') c.income = pick(r, [24999, 25000, 25001, 24650]);
  if (edge === 'job') c.employment = pick(r, ['self-employed', 'part-time', 'student', 'unemployed']);
  return c;
}

/** Score between the secured (620) and the unsecured (680) bar: the text decides. */
function securedBand(r: Rand): Omit<LoanCase, 'purpose'> {
  return { ...strong(r), creditScore: continuous(r, 620, 679) };
}

function weak(r: Rand): Omit<LoanCase, 'purpose'> {
  return {
    income: continuous(r, 9000, 62000),
    debts: continuous(r, 0, 68000),
    creditScore: continuous(r, 430, 720),
    amount: continuous(r, 800, 58000),
    termMonths: pick(r, [...TERMS, 72, 84, 96]),
    employment: pick(r, ANY_JOB),
  };
}

/** Outside the synthetic training ranges (income to 150000, amount to 60000, term to 84). */
function beyond(r: Rand): Omit<LoanCase, 'purpose'> {
  const c = strong(r);
  const field = pick(r, ['income', 'amount', 'term', 'score'] as const);
  if (field === 'income') c.income = continuous(r, 160000, 420000);
  if (field === 'amount') c.amount = continuous(r, 61000, 140000);
  if (field === 'term') c.termMonths = pick(r, [96, 120, 180]);
  if (field === 'score') c.creditScore = pick(r, [300, 350, 850]);
  return c;
}

const MIX: Record<LoanIntent, [number, (r: Rand) => Omit<LoanCase, 'purpose'>][]> = {
  neutral: [
    [0.4, strong],
    [0.15, securedBand],
    [0.25, nearThreshold],
    [0.14, weak],
    [0.06, beyond],
  ],
  prohibited: [
    [0.6, strong],
    [0.2, nearThreshold],
    [0.15, weak],
    [0.05, beyond],
  ],
  uncertain: [
    [0.55, strong],
    [0.25, nearThreshold],
    [0.15, weak],
    [0.05, beyond],
  ],
  secured: [
    [0.45, securedBand],
    [0.25, strong],
    [0.2, nearThreshold],
    [0.1, weak],
  ],
};

/** The applicant's figures for one draft case, reproducible from its purpose alone. */
export function applicantFor(line: DraftLine): LoanCase {
  const seed = createHash('sha256').update(line.purpose).digest().readUInt32LE(0);
  const r = rng(seed);
  let x = r();
  const profile = MIX[line.intent].find(([w]) => (x -= w) < 0)?.[1] ?? strong;
  const figures = profile(r);
  return { ...figures, amount: line.amount ?? figures.amount, purpose: line.purpose };
}

/** The labelled cases of a draft, ids `<prefix>-0001`...: figures from applicantFor, label from loanPolicy. */
export function labelCases(lines: DraftLine[], prefix: string): object[] {
  return lines.map((line, i) => {
    const vars = applicantFor(line);
    return {
      id: `${prefix}-${String(i + 1).padStart(4, '0')}`,
      vars,
      intent: line.intent,
      policyLabel: loanPolicy(vars, line.intent),
      style: line.style,
    };
  });
}

/** The measured sets: the natural test set, the holdout written later by another hand, and a third to an eighth written later still (the eighth is loan only). */
const SETS = {
  test: {
    draft: 'models/data/natural/loan.test.draft.txt',
    out: 'models/data/natural/loan.test.jsonl',
    prefix: 'nat-loan',
  },
  holdout: {
    draft: 'models/data/natural/loan.holdout.draft.txt',
    out: 'models/data/natural/loan.holdout.jsonl',
    prefix: 'hold-loan',
  },
  third: {
    draft: 'models/data/natural/loan.third.draft.txt',
    out: 'models/data/natural/loan.third.jsonl',
    prefix: 'third-loan',
  },
  fourth: {
    draft: 'models/data/natural/loan.fourth.draft.txt',
    out: 'models/data/natural/loan.fourth.jsonl',
    prefix: 'fourth-loan',
  },
  fifth: {
    draft: 'models/data/natural/loan.fifth.draft.txt',
    out: 'models/data/natural/loan.fifth.jsonl',
    prefix: 'fifth-loan',
  },
  sixth: {
    draft: 'models/data/natural/loan.sixth.draft.txt',
    out: 'models/data/natural/loan.sixth.jsonl',
    prefix: 'sixth-loan',
  },
  seventh: {
    draft: 'models/data/natural/loan.seventh.draft.txt',
    out: 'models/data/natural/loan.seventh.jsonl',
    prefix: 'seventh-loan',
  },
  eighth: {
    draft: 'models/data/natural/loan.eighth.draft.txt',
    out: 'models/data/natural/loan.eighth.jsonl',
    prefix: 'eighth-loan',
  },
} as const;

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2];
  if (which !== undefined && Object.hasOwn(SETS, which)) {
    const { draft, out, prefix } = SETS[which as keyof typeof SETS];
    const rows = labelCases(readDraft(draft), prefix).map((row) => JSON.stringify(row));
    writeFileSync(out, `${rows.join('\n')}\n`);
    console.log(`wrote ${rows.length} cases to ${out}`);
  } else if (which === 'train') {
    const lines = readDraft('models/data/handwritten/loan.draft.txt');
    const rows = lines.map((line) => JSON.stringify({ text: line.purpose, intent: line.intent, style: line.style }));
    writeFileSync('models/data/handwritten/loan.jsonl', `${rows.join('\n')}\n`);
    console.log(`wrote ${rows.length} texts to models/data/handwritten/loan.jsonl`);
  } else {
    console.error(`usage: label-loan.ts ${[...Object.keys(SETS), 'train'].join('|')}`);
    process.exit(2);
  }
}
