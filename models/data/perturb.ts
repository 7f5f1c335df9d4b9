/**
 * A CheckList-style behavioural suite (Ribeiro et al. 2020, "Beyond Accuracy") for the decision
 * models, as pure and seeded functions:
 * - meaning-preserving perturbations of a case's free text (typos, casing, synonyms, clause order,
 *   a harmless closing clause): an automated answer must not change under any of them;
 * - directional pairs: the same case with one field moved just across a policy threshold; the
 *   answer must follow the policy (or go to a person);
 * - number sweeps: one field stepped over its whole range for a fixed neutral text.
 *
 * The suite's perturbations never touch a decisive word (the words the policy's intents are written
 * in, from the slots of models/data/texts.ts, plus negations, depots and numbers), so the policy
 * label of a perturbed case is the original's. models/checklist.ts runs the suite against a model.
 * One perturbation outside the suite, `typo-decisive`, misspells a decisive word on purpose.
 */
import { rng } from './generate.ts';
import type { DomainName } from './domains.ts';
import { loanPolicy, orderPolicy, type LoanCase, type LoanIntent, type OrderCase, type OrderIntent } from './policy.ts';
import { LOAN_GRAMMAR, ORDER_GRAMMAR, type Grammar } from './texts.ts';

export type PerturbationName =
  | 'typo-swap'
  | 'typo-drop'
  | 'typo-double'
  | 'casing'
  | 'synonym'
  | 'reorder'
  | 'harmless-clause'
  | 'typo-decisive';
/**
 * The meaning-preserving suite. `typo-decisive` (a misspelt decisive word, such as "urgnet" or
 * "colect") keeps the meaning for a reader but is not in it: a model may rightly send such a text to
 * a person, so it is measured on its own (models/eval.ts, "misspelt").
 */
export const PERTURBATIONS: readonly PerturbationName[] = [
  'typo-swap',
  'typo-drop',
  'typo-double',
  'casing',
  'synonym',
  'reorder',
  'harmless-clause',
];

/** The free-text variable of each domain. */
export const TEXT_VARIABLE: Record<DomainName, 'purpose' | 'notes'> = { loan: 'purpose', order: 'notes' };

const FILLER_WORDS = new Set([
  'a',
  'an',
  'the',
  'my',
  'our',
  'your',
  'to',
  'of',
  'on',
  'in',
  'it',
  'is',
  'for',
  'and',
  'own',
  'new',
  'next',
  'very',
  'as',
  'from',
  'with',
  'this',
  'that',
  'after',
  'so',
  'we',
  'i',
  'me',
]);

/** The words of a grammar's decisive slots (the slot values that carry an intent), fillers removed. */
function slotWords(grammar: Grammar, slots: string[]): string[] {
  const words = slots.flatMap((slot) => {
    const split = grammar.slots[slot];
    return split ? [...split.train, ...split.shifted] : [];
  });
  return [
    ...new Set(
      words
        .flatMap((value) => value.toLowerCase().split(/[^a-z']+/))
        .filter((w) => w.length > 1 && !FILLER_WORDS.has(w)),
    ),
  ].sort();
}

/**
 * Decisive words per domain and intent: from the slots of texts.ts that carry the intent, plus the
 * words the policy's frames and everyday wording use for it. A word is decisive when it equals one
 * of these or starts with a listed stem (`gambl` covers gamble, gambling, gambler).
 */
export const DECISIVE_WORDS: { loan: Record<LoanIntent, string[]>; order: Record<OrderIntent, string[]> } = {
  loan: {
    neutral: [],
    prohibited: [
      ...slotWords(LOAN_GRAMMAR.prohibited, ['gamble', 'spec', 'debt']),
      'gambl',
      'bet',
      'bookie',
      'casino',
      'poker',
      'crypto',
      'bitcoin',
      'coin',
      'forex',
      'payday',
      'lender',
      'shark',
      'loss',
      'lost',
      'win',
      'invest',
      'trading',
      'speculat',
      'repay',
      'settle',
      'owe',
    ],
    uncertain: [
      ...slotWords(LOAN_GRAMMAR.uncertain, ['business', 'country']),
      'business',
      'startup',
      'start',
      'launch',
      'job',
      'income',
      'employer',
      'tax',
      'arrears',
      'legal',
      'court',
      'emigrat',
      'abroad',
      'overseas',
      'relocat',
      'moving',
      'months',
    ],
    secured: [
      ...slotWords(LOAN_GRAMMAR.secured, ['asset', 'person']),
      'secur',
      'guarant',
      'collateral',
      'backed',
      'cosign',
      'co-sign',
    ],
  },
  order: {
    neutral: [],
    collect: [
      ...slotWords(ORDER_GRAMMAR.collect, ['collect', 'depot']),
      'collect',
      'pick',
      'pickup',
      'fetch',
      'grab',
      'swing',
      'depot',
      'warehouse',
      'store',
      'counter',
      'click',
      'myself',
      'person',
      'deliver',
      'delivery',
      'send',
      'leeds',
      'bristol',
      'glasgow',
    ],
    urgent: [
      ...slotWords(ORDER_GRAMMAR.urgent, ['urgent', 'rush', 'reason']),
      'urgent',
      'asap',
      'rush',
      'expedit',
      'express',
      'hurry',
      'quick',
      'fast',
      'critical',
      'today',
      'tonight',
      'tomorrow',
      'morning',
      'hour',
      'hrs',
      'day',
      'week',
      'wait',
      'soon',
      'deadline',
    ],
    bulky: [
      ...slotWords(ORDER_GRAMMAR.bulky, ['bulky', 'size']),
      'pallet',
      'forklift',
      'freight',
      'lorry',
      'crate',
      'heavy',
      'bulky',
      'oversize',
      'two',
      'people',
      'carry',
      'dock',
      'bay',
      'kg',
      'tonne',
      'ton',
    ],
  },
};

/** Words that invert or qualify a statement: never touched in any domain. */
const NEGATIONS = [
  'not',
  'no',
  'never',
  'without',
  'nothing',
  'none',
  'nor',
  "don't",
  'dont',
  "won't",
  'wont',
  "can't",
  'cant',
  "isn't",
  'isnt',
  "n't",
  'instead',
  'except',
  'but',
  'unless',
  'only',
];

const decisiveSets = new Map<DomainName, string[]>();
function decisiveList(domain: DomainName): string[] {
  let list = decisiveSets.get(domain);
  if (!list) {
    list = [...new Set([...Object.values(DECISIVE_WORDS[domain]).flat(), ...NEGATIONS])];
    decisiveSets.set(domain, list);
  }
  return list;
}

/** True when a word carries the decision (or a number): perturbations leave it alone. */
export function isDecisive(word: string, domain: DomainName): boolean {
  const w = word.toLowerCase().replace(/[^a-z0-9'-]/g, '');
  if (w.length === 0) return false;
  if (/\d/.test(w)) return true;
  return decisiveList(domain).some((d) => w === d || (d.length >= 3 && w.startsWith(d)));
}

/** Replacements that keep the meaning; applied only where neither side is decisive. */
const SYNONYMS: Record<string, string> = {
  hi: 'hello',
  hello: 'hi',
  hey: 'hello',
  thanks: 'cheers',
  cheers: 'thanks',
  please: 'kindly',
  need: 'require',
  want: 'would like',
  buy: 'purchase',
  buying: 'purchasing',
  car: 'vehicle',
  money: 'funds',
  big: 'large',
  large: 'big',
  small: 'little',
  little: 'small',
  leave: 'drop',
  door: 'entrance',
  neighbour: 'neighbor',
  neighbor: 'neighbour',
  holiday: 'vacation',
  wedding: 'marriage ceremony',
  fix: 'repair',
  repair: 'fix',
  help: 'assist',
  also: 'as well',
  maybe: 'perhaps',
  perhaps: 'maybe',
  really: 'truly',
  sofa: 'couch',
  couch: 'sofa',
  present: 'gift',
  gift: 'present',
  box: 'parcel',
  parcel: 'package',
  package: 'parcel',
  ring: 'call',
  call: 'phone',
};

/** Closing clauses that change nothing about a case. */
const HARMLESS_CLAUSES = [
  'thanks in advance',
  'have a nice day',
  'many thanks',
  'kind regards',
  'hope this helps',
  'sent from my phone',
];

/** Clause openers that tie a clause to the one before it: such texts are not reordered. */
const CONNECTIVES =
  /^(but|and|so|because|though|although|except|unless|however|which|then|or|instead|otherwise|if|since|as)\b|\b(anymore|instead|no longer|either)\b/i;

type Random = () => number;
const pickIndex = (random: Random, n: number) => Math.floor(random() * n);

/** A word (split on whitespace) a typo may hit: letters only, >= 4 long, not decisive. */
const plainTarget = (token: string, domain: DomainName) =>
  /^[A-Za-z]{4,}[.,!?]?$/.test(token) && !isDecisive(token, domain);

/** A word `typo-decisive` may hit: decisive, >= 5 letters, not a negation (a typo must not turn it into its opposite). */
function decisiveTarget(token: string, domain: DomainName): boolean {
  const word = token.replace(/[.,!?]$/, '').toLowerCase();
  return /^[a-z]{5,}$/.test(word) && isDecisive(word, domain) && !NEGATIONS.includes(word);
}

function typo(
  text: string,
  domain: DomainName,
  random: Random,
  edit: (word: string, at: number) => string,
  target = plainTarget,
): string | null {
  const tokens = text.split(/(\s+)/);
  // Odd indexes are the whitespace between words.
  const targets = tokens.flatMap((token, i) => (i % 2 === 0 && target(token, domain) ? [i] : []));
  if (targets.length === 0) return null;
  const index = targets[pickIndex(random, targets.length)]!;
  const token = tokens[index]!;
  const word = token.replace(/[.,!?]$/, '');
  // An inner position: the first and last letters stay, as in most real typos.
  const at = 1 + pickIndex(random, word.length - 2);
  const edited = edit(word, at);
  if (edited === word) return null;
  tokens[index] = edited + token.slice(word.length);
  return tokens.join('');
}

/** The three typos, at an inner position `at` of a word. */
const TYPO_EDITS: Record<'typo-swap' | 'typo-drop' | 'typo-double', (word: string, at: number) => string> = {
  'typo-swap': (w, at) => {
    const i = Math.min(at, w.length - 3);
    return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
  },
  'typo-drop': (w, at) => w.slice(0, at) + w.slice(at + 1),
  'typo-double': (w, at) => w.slice(0, at) + w[at] + w.slice(at),
};

/** One perturbation of a text, or null when it does not apply (nothing to change). */
export function perturbText(text: string, domain: DomainName, name: PerturbationName, random: Random): string | null {
  if (text.trim().length === 0) return null;
  let out: string | null;
  switch (name) {
    case 'typo-swap':
    case 'typo-drop':
    case 'typo-double':
      out = typo(text, domain, random, TYPO_EDITS[name]);
      break;
    case 'typo-decisive': {
      // One of the three edits, on a word that carries the decision.
      const edits = Object.values(TYPO_EDITS);
      out = typo(text, domain, random, edits[pickIndex(random, edits.length)]!, decisiveTarget);
      break;
    }
    case 'casing':
      out =
        text === text.toUpperCase()
          ? text.toLowerCase()
          : random() < 0.5
            ? text.toUpperCase()
            : text.replace(/(^|\s)([a-z])/g, (_, space: string, c: string) => space + c.toUpperCase());
      break;
    case 'synonym': {
      const tokens = text.split(/(\b)/);
      const candidates = tokens.flatMap((t, i) => {
        const replacement = SYNONYMS[t.toLowerCase()];
        return replacement &&
          replacement !== t.toLowerCase() &&
          !isDecisive(t, domain) &&
          !replacement.split(' ').some((w) => isDecisive(w, domain))
          ? [i]
          : [];
      });
      if (candidates.length === 0) return null;
      const index = candidates[pickIndex(random, candidates.length)]!;
      const original = tokens[index]!;
      const replacement = SYNONYMS[original.toLowerCase()]!;
      tokens[index] =
        original[0] === original[0]!.toUpperCase() ? replacement[0]!.toUpperCase() + replacement.slice(1) : replacement;
      out = tokens.join('');
      break;
    }
    case 'reorder': {
      const clauses = text
        .trim()
        .replace(/[.!]+$/, '')
        .split(/, |\. |; /)
        .map((c) => c.trim())
        .filter(Boolean);
      if (clauses.length < 2 || clauses.some((c) => CONNECTIVES.test(c))) return null;
      const shift = 1 + pickIndex(random, clauses.length - 1);
      out = [...clauses.slice(shift), ...clauses.slice(0, shift)].join(', ');
      break;
    }
    case 'harmless-clause': {
      const clause = HARMLESS_CLAUSES[pickIndex(random, HARMLESS_CLAUSES.length)]!;
      const trimmed = text.trimEnd();
      out = /[.!?]$/.test(trimmed)
        ? `${trimmed} ${clause[0]!.toUpperCase()}${clause.slice(1)}`
        : `${trimmed}, ${clause}`;
      break;
    }
  }
  return out !== null && out !== text ? out : null;
}

/** A 32-bit hash of a string (FNV-1a), to seed each case's perturbations independently. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Every applicable meaning-preserving perturbation of a text, each once; the same for the same seed and id. */
export function perturbations(
  text: string,
  domain: DomainName,
  seed: number,
  id = text,
): { name: PerturbationName; text: string }[] {
  return PERTURBATIONS.flatMap((name) => {
    const out = perturbText(text, domain, name, rng(hash(`${seed}:${id}:${name}`)));
    return out === null ? [] : [{ name, text: out }];
  });
}

/** One policy threshold: a field set just below and just above it (or to two values the policy treats differently). */
export interface Threshold {
  variable: string;
  low: unknown;
  high: unknown;
}

/** The policy's thresholds (models/data/policy.ts), with values on either side. */
export const THRESHOLDS: Record<DomainName, Threshold[]> = {
  loan: [
    { variable: 'creditScore', low: 579, high: 581 },
    { variable: 'creditScore', low: 619, high: 621 },
    { variable: 'creditScore', low: 679, high: 681 },
    { variable: 'debts', low: 19999, high: 20001 },
    { variable: 'debts', low: 39999, high: 40001 },
    { variable: 'amount', low: 29999, high: 30001 },
    { variable: 'termMonths', low: 60, high: 61 },
    { variable: 'income', low: 24999, high: 25001 },
    { variable: 'employment', low: 'permanent', high: 'unemployed' },
  ],
  order: [
    { variable: 'weightKg', low: 29, high: 31 },
    { variable: 'deadlineHours', low: 23, high: 25 },
    { variable: 'deadlineHours', low: 47, high: 49 },
    { variable: 'distanceKm', low: 299, high: 301 },
    { variable: 'stock', low: { leeds: 0, bristol: 0, glasgow: 0 }, high: { leeds: 4, bristol: 0, glasgow: 0 } },
  ],
};

/** The written policy's label for a case of either domain. */
export function policyLabel(domain: DomainName, vars: Record<string, unknown>, intent: string): string {
  return domain === 'loan'
    ? loanPolicy(vars as unknown as LoanCase, intent as LoanIntent)
    : orderPolicy(vars as unknown as OrderCase, intent as OrderIntent);
}

export interface DirectionalPair {
  id: string;
  variable: string;
  low: { vars: Record<string, unknown>; policyLabel: string };
  high: { vars: Record<string, unknown>; policyLabel: string };
}

/** For each threshold where the policy answers the two sides differently: the case on either side. */
export function directionalPairs(
  domain: DomainName,
  id: string,
  vars: Record<string, unknown>,
  intent: string,
): DirectionalPair[] {
  return THRESHOLDS[domain].flatMap((t) => {
    const low = { ...vars, [t.variable]: t.low };
    const high = { ...vars, [t.variable]: t.high };
    const labels = [policyLabel(domain, low, intent), policyLabel(domain, high, intent)] as const;
    if (labels[0] === labels[1]) return [];
    return [
      {
        id: `${id}:${t.variable}:${String(JSON.stringify(t.low))}-${String(JSON.stringify(t.high))}`,
        variable: t.variable,
        low: { vars: low, policyLabel: labels[0] },
        high: { vars: high, policyLabel: labels[1] },
      },
    ];
  });
}

export interface SweepPoint {
  variable: string;
  value: number;
  vars: Record<string, unknown>;
  policyLabel: string;
}

const range = (from: number, to: number, step: number) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => Math.round((from + i * step) * 100) / 100);

/** A neutral case per domain and the ranges each numeric field is swept over (every threshold inside). */
export const SWEEPS: Record<
  DomainName,
  { base: Record<string, unknown>; sweeps: { variable: string; values: number[]; with?: Record<string, unknown> }[] }
> = {
  loan: {
    base: {
      income: 58000,
      debts: 6000,
      creditScore: 720,
      amount: 14000,
      termMonths: 36,
      employment: 'permanent',
      purpose: 'a new kitchen for our flat',
    },
    sweeps: [
      { variable: 'creditScore', values: range(300, 850, 10) },
      { variable: 'debts', values: range(0, 60000, 1000) },
      { variable: 'amount', values: range(1000, 60000, 1000) },
      { variable: 'termMonths', values: range(6, 120, 6) },
      { variable: 'income', values: range(10000, 150000, 5000) },
    ],
  },
  order: {
    base: {
      weightKg: 4.2,
      distanceKm: 120,
      stock: { leeds: 4, bristol: 2, glasgow: 0 },
      deadlineHours: 72,
      customerTier: 'standard',
      notes: 'leave it at the front door',
    },
    sweeps: [
      { variable: 'weightKg', values: range(0.5, 60, 0.5) },
      { variable: 'deadlineHours', values: range(1, 120, 1) },
      { variable: 'deadlineHours', values: range(1, 120, 1), with: { customerTier: 'platinum' } },
      { variable: 'distanceKm', values: range(10, 800, 10) },
    ],
  },
};

/** Every point of the domain's number sweeps, labelled by the policy (neutral text). */
export function sweepPoints(domain: DomainName): SweepPoint[] {
  const { base, sweeps } = SWEEPS[domain];
  return sweeps.flatMap(({ variable, values, with: extra }) =>
    values.map((value) => {
      const vars = { ...base, ...extra, [variable]: value };
      return {
        variable: extra
          ? `${variable}(${Object.entries(extra)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join(',')})`
          : variable,
        value,
        vars,
        policyLabel: policyLabel(domain, vars, 'neutral'),
      };
    }),
  );
}
