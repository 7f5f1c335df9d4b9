/**
 * The written lending and routing policies that label the synthetic cases. A case's free text is
 * classified into an *intent* by the generator that wrote it (the policy never reads the text
 * itself), so labels are exact; `rulesOnly*` is the same policy blind to the text, the baseline the
 * GPT must beat on text-dependent cases.
 */

import type { GroundingSettings } from '../../nodes/decision/grounding.ts';

/** What a loan purpose means to the lending policy. */
export const LOAN_INTENTS = ['neutral', 'prohibited', 'uncertain', 'secured'] as const;
export type LoanIntent = (typeof LOAN_INTENTS)[number];
/** What an order note means to the routing policy. */
export const ORDER_INTENTS = ['neutral', 'collect', 'urgent', 'bulky'] as const;
export type OrderIntent = (typeof ORDER_INTENTS)[number];

export interface LoanCase {
  income: number;
  debts: number;
  creditScore: number;
  amount: number;
  termMonths: number;
  employment: string;
  purpose: string;
}

export interface OrderCase {
  weightKg: number;
  distanceKm: number;
  stock: { leeds: number; bristol: number; glasgow: number };
  deadlineHours: number;
  customerTier: string;
  notes: string;
}

/**
 * Rule 2 of the lending policy, the hard limits: the fields alone reject the application, whatever
 * its text says. The shipped loan process decides these with a DMN table before the GPT
 * (processes/loan-hard-limits.dmn; test/dmn/loan-hard-limits.test.ts checks that the table and
 * this function agree on every side of every threshold).
 */
export const LOAN_HARD_LIMITS = {
  /** A credit score below this rejects. */
  minCreditScore: 580,
  /** Open debts of this much or more reject. */
  maxDebts: 40000,
  /** This employment rejects. */
  rejectedEmployment: 'unemployed',
} as const;

/** Which hard limit rejects the case, in the policy's order; null when none does. */
export function loanHardLimit(
  c: Pick<LoanCase, 'creditScore' | 'employment' | 'debts'>,
): 'credit-score' | 'unemployed' | 'debts' | null {
  if (c.creditScore < LOAN_HARD_LIMITS.minCreditScore) return 'credit-score';
  if (c.employment === LOAN_HARD_LIMITS.rejectedEmployment) return 'unemployed';
  if (c.debts >= LOAN_HARD_LIMITS.maxDebts) return 'debts';
  return null;
}

/**
 * Lending policy, in order:
 * 1. A prohibited purpose (gambling, betting, crypto speculation, repaying a payday loan) -> reject.
 * 2. Credit score below 580, unemployed, or debts of 40000 or more -> reject.
 * 3. A purpose that makes repayment uncertain (new business, income not started yet, tax arrears,
 *    moving abroad) -> review.
 * 4. Approve when score >= 680 (>= 620 if the loan is secured by collateral or a guarantor named in
 *    the purpose), debts < 20000, amount <= 30000, term <= 60 months, income >= 25000 and
 *    employment is permanent, contract or retired.
 * 5. Otherwise -> review.
 */
export function loanPolicy(c: LoanCase, intent: LoanIntent): 'approve' | 'reject' | 'review' {
  if (intent === 'prohibited') return 'reject';
  if (loanHardLimit(c) !== null) return 'reject';
  if (intent === 'uncertain') return 'review';
  const limits = LOAN_APPROVAL_LIMITS;
  const approvable =
    c.creditScore >= (intent === 'secured' ? limits.minCreditScoreSecured : limits.minCreditScore) &&
    c.debts < limits.maxDebts &&
    c.amount <= limits.maxAmount &&
    c.termMonths <= limits.maxTermMonths &&
    c.income >= limits.minIncome &&
    limits.employment.includes(c.employment);
  return approvable ? 'approve' : 'review';
}

/** Rule 4 of the lending policy: what an approval needs. */
export const LOAN_APPROVAL_LIMITS = {
  /** Lowest credit score approved without security... */
  minCreditScore: 680,
  /** ...and with collateral or a guarantor named in the purpose. */
  minCreditScoreSecured: 620,
  /** Debts below this. */
  maxDebts: 20000,
  maxAmount: 30000,
  maxTermMonths: 60,
  minIncome: 25000,
  employment: ['permanent', 'contract', 'retired'] as readonly string[],
} as const;

/**
 * Routing policy, in order:
 * 1. No stock at any depot -> warehouse (back-order from the central warehouse).
 * 2. The customer says they will collect -> pickup.
 * 3. Heavier than 30 kg, or the notes ask for pallet / two-person / forklift handling -> warehouse.
 * 4. Deadline within 24 hours -> courier.
 * 5. The notes say it is urgent and the distance is at most 300 km -> courier.
 * 6. Platinum customers with a deadline within 48 hours -> courier.
 * 7. Otherwise -> warehouse (standard shipping).
 */
export function orderPolicy(c: OrderCase, intent: OrderIntent): 'warehouse' | 'courier' | 'pickup' {
  const { leeds, bristol, glasgow } = c.stock;
  const limits = ORDER_LIMITS;
  if (leeds + bristol + glasgow === 0) return 'warehouse';
  if (intent === 'collect') return 'pickup';
  if (c.weightKg > limits.maxParcelKg || intent === 'bulky') return 'warehouse';
  if (c.deadlineHours <= limits.courierDeadlineHours) return 'courier';
  if (intent === 'urgent' && c.distanceKm <= limits.urgentMaxDistanceKm) return 'courier';
  if (c.customerTier === 'platinum' && c.deadlineHours <= limits.platinumDeadlineHours) return 'courier';
  return 'warehouse';
}

/** The numbers of the routing policy. */
export const ORDER_LIMITS = {
  /** Heavier parcels go from the warehouse. */
  maxParcelKg: 30,
  /** A deadline this close goes by courier. */
  courierDeadlineHours: 24,
  /** An urgent note sends a parcel by courier up to this distance. */
  urgentMaxDistanceKm: 300,
  /** A platinum customer's deadline this close goes by courier. */
  platinumDeadlineHours: 48,
} as const;

/** Rule 4's limits on the fields as FEEL conditions, with this lowest credit score. */
function loanApprovalConditions(minCreditScore: number): string[] {
  const l = LOAN_APPROVAL_LIMITS;
  return [
    `creditScore >= ${minCreditScore}`,
    `debts < ${l.maxDebts}`,
    `amount <= ${l.maxAmount}`,
    `termMonths <= ${l.maxTermMonths}`,
    `income >= ${l.minIncome}`,
    `employment in [${l.employment.map((e) => JSON.stringify(e)).join(', ')}]`,
  ];
}

/**
 * What each answer needs of the fields, whatever the text says, as FEEL conditions: the
 * policies above read with every text-dependent rule taken at its most permissive (a guarantor
 * named, an urgent note). An answer whose case fails one cannot be the policy's answer, so a
 * model folder's `requires` (nodes/decision/requires.ts) sends it to a person. Exact both ways
 * (test/decision/requires.test.ts): every policy answer meets them, and every case that meets
 * them has a text that makes the policy give that answer.
 */
export function policyRequirements(domain: 'loan' | 'order'): Record<string, string[]> {
  if (domain === 'loan') return { approve: loanApprovalConditions(LOAN_APPROVAL_LIMITS.minCreditScoreSecured) };
  const o = ORDER_LIMITS;
  const inStock = 'stock.leeds + stock.bristol + stock.glasgow > 0';
  return {
    courier: [
      inStock,
      `weightKg <= ${o.maxParcelKg}`,
      `deadlineHours <= ${o.courierDeadlineHours} or distanceKm <= ${o.urgentMaxDistanceKm} or (customerTier = "platinum" and deadlineHours <= ${o.platinumDeadlineHours})`,
    ],
    pickup: [inStock],
  };
}

/**
 * Each threshold of the policies above with a value on its inclusive side, which the policy treats
 * as it treats the threshold (nodes/decision/edges.ts): an urgent parcel goes by courier up to
 * 300 km, so 300 is treated as 299; 40,000 of debts rejects, so 40,000 is treated as 40,001. The
 * `like` values sit one unit of the field's resolution (whole numbers; weight in tenths) inside.
 * Exact (test/models/policy-edges.test.ts): on sampled cases the policy gives the same answer at
 * `at` and at `like`, and another answer on the far side for some of them.
 */
export function policyEdges(domain: 'loan' | 'order'): { field: string; at: number; like: number }[] {
  if (domain === 'loan') {
    const h = LOAN_HARD_LIMITS;
    const l = LOAN_APPROVAL_LIMITS;
    return [
      { field: 'creditScore', at: h.minCreditScore, like: h.minCreditScore + 1 },
      { field: 'debts', at: h.maxDebts, like: h.maxDebts + 1 },
      { field: 'creditScore', at: l.minCreditScoreSecured, like: l.minCreditScoreSecured + 1 },
      { field: 'creditScore', at: l.minCreditScore, like: l.minCreditScore + 1 },
      { field: 'debts', at: l.maxDebts, like: l.maxDebts + 1 },
      { field: 'amount', at: l.maxAmount, like: l.maxAmount - 1 },
      { field: 'termMonths', at: l.maxTermMonths, like: l.maxTermMonths - 1 },
      { field: 'income', at: l.minIncome, like: l.minIncome + 1 },
    ];
  }
  const o = ORDER_LIMITS;
  return [
    { field: 'weightKg', at: o.maxParcelKg, like: o.maxParcelKg - 0.1 },
    { field: 'deadlineHours', at: o.courierDeadlineHours, like: o.courierDeadlineHours - 1 },
    { field: 'distanceKm', at: o.urgentMaxDistanceKm, like: o.urgentMaxDistanceKm - 1 },
    { field: 'deadlineHours', at: o.platinumDeadlineHours, like: o.platinumDeadlineHours - 1 },
  ];
}

/**
 * Per answer and per intent of a text, FEEL conditions on the fields under which the policies above
 * do not give that answer for a text of that intent (`["true"]`: whatever the fields). The
 * lending policy never approves a prohibited or an uncertain purpose, and approves an ordinary one
 * only within its limits (a secured one within the secured limits); the routing policy never sends
 * a collection or a bulky parcel by courier, sends an urgent parcel by courier only when it is in
 * stock, light enough and due soon or within 300 km, and so on. The nearest-texts check
 * (nodes/decision/neighbours.ts) sends an automated answer to a person when the case's text reads
 * like texts of intents that rule it out for the case's fields. Exact
 * (test/decision/neighbours.test.ts): on sampled cases the conditions hold exactly when the
 * policy gives another answer.
 */
export function policyNever(domain: 'loan' | 'order'): Record<string, Record<string, string[]>> {
  // Written without not(...): the check compiles comparisons, and/or and sums (requires.ts), while
  // not() goes to feelin, about 0.2 ms a condition on every automated answer.
  if (domain === 'loan') {
    const l = LOAN_APPROVAL_LIMITS;
    const otherJob = l.employment.map((e) => `employment != ${JSON.stringify(e)}`).join(' and ');
    const outside = (minCreditScore: number) => [
      `creditScore < ${minCreditScore} or debts >= ${l.maxDebts} or amount > ${l.maxAmount} or termMonths > ${l.maxTermMonths} or income < ${l.minIncome} or (${otherJob})`,
    ];
    return {
      approve: {
        prohibited: ['true'],
        uncertain: ['true'],
        neutral: outside(l.minCreditScore),
        secured: outside(l.minCreditScoreSecured),
      },
    };
  }
  const o = ORDER_LIMITS;
  const stock = 'stock.leeds + stock.bristol + stock.glasgow';
  const soon = `deadlineHours <= ${o.courierDeadlineHours} or (customerTier = "platinum" and deadlineHours <= ${o.platinumDeadlineHours})`;
  const notSoon = `deadlineHours > ${o.courierDeadlineHours} and (customerTier != "platinum" or deadlineHours > ${o.platinumDeadlineHours})`;
  const courier = `${stock} > 0 and weightKg <= ${o.maxParcelKg} and (${soon})`;
  const urgentCourier = `${stock} > 0 and weightKg <= ${o.maxParcelKg} and (${soon} or distanceKm <= ${o.urgentMaxDistanceKm})`;
  return {
    courier: {
      collect: ['true'],
      bulky: ['true'],
      neutral: [`${stock} = 0 or weightKg > ${o.maxParcelKg} or (${notSoon})`],
      urgent: [`${stock} = 0 or weightKg > ${o.maxParcelKg} or (${notSoon} and distanceKm > ${o.urgentMaxDistanceKm})`],
    },
    pickup: { neutral: ['true'], urgent: ['true'], bulky: ['true'], collect: [`${stock} = 0`] },
    warehouse: { neutral: [courier], urgent: [urgentCourier], collect: [`${stock} > 0`] },
  };
}

/**
 * The unvouched-words check (nodes/decision/vouch.ts): per answer, the intents whose ruling it out calls
 * for every word of the text to be vouched for by training texts of the intents that allow it, and
 * the grounding readings (policyGrounding) under which the answer stands anyway; null for a domain
 * without it. Order: an urgent note the model cannot read ("Make it snappy") would send a parcel
 * within 300 km by courier, so the warehouse there needs a note of known ordinary or bulky words,
 * unless the model reads it as bulky (`soon` = warehouse: a bulky parcel goes from the warehouse
 * whatever else the note says). Loan: not measured, so not set.
 */
export function policyVouch(domain: 'loan' | 'order'): { against: Record<string, string[]>; unless: string[] } | null {
  if (domain === 'loan') return null;
  return { against: { warehouse: ['urgent'] }, unless: ['soon = "warehouse"'] };
}

/**
 * Reference cases on which each meaning of a text gets its own answer under the policies above,
 * and, per answer, FEEL conditions on the fields and on the model's answers to those references
 * that make the policy give it (nodes/decision/grounding.ts). The model reads the text; the policy
 * decides the numbers.
 *
 * Loan: `strong` is an applicant every limit approves, so the policy approves it exactly when the
 * purpose is ordinary or secured; `secured` is the same applicant with a score of 650, approved
 * only when the purpose names collateral or a guarantor. A case whose fields pass every limit is
 * approved when `strong` approves and its score reaches 680, or `secured` approves too. Order: `later` (deadline 72 h, 120 km, standard tier) and `soon` (deadline 12 h)
 * tell the four meanings of a note apart: collect (pickup, pickup), urgent (courier, courier),
 * bulky (warehouse, warehouse), neutral (warehouse, courier). test/decision/grounding.test.ts
 * checks both ways: each reference gets those answers, and every case meeting an answer's
 * conditions with the readings of a meaning gets that answer.
 */
export function policyGrounding(domain: 'loan' | 'order'): GroundingSettings {
  if (domain === 'loan') {
    const l = LOAN_APPROVAL_LIMITS;
    const strong = {
      income: 85000,
      debts: 2000,
      creditScore: 790,
      amount: 8000,
      termMonths: 24,
      employment: 'permanent',
    };
    return {
      readings: { strong, secured: { ...strong, creditScore: 650 } },
      threshold: 0.98,
      thresholds: { secured: 0.9 },
      answers: {
        approve: [
          'strong = "approve"',
          `creditScore >= ${l.minCreditScore} or secured = "approve"`,
          ...loanApprovalConditions(l.minCreditScoreSecured),
        ],
      },
    };
  }
  const o = ORDER_LIMITS;
  const stocked = { 'stock.leeds': 5, 'stock.bristol': 3, 'stock.glasgow': 2 };
  const reference = { weightKg: 4, distanceKm: 120, ...stocked, customerTier: 'standard' };
  const inStock = 'stock.leeds + stock.bristol + stock.glasgow > 0';
  const noStock = 'stock.leeds + stock.bristol + stock.glasgow = 0';
  const platinumSoon = `(customerTier = "platinum" and deadlineHours <= ${o.platinumDeadlineHours})`;
  const notPlatinumSoon = `(customerTier != "platinum" or deadlineHours > ${o.platinumDeadlineHours})`;
  const neutral = '(later = "warehouse" and soon = "courier")';
  const urgent = '(later = "courier" and soon = "courier")';
  const bulky = '(later = "warehouse" and soon = "warehouse")';
  return {
    readings: {
      later: { ...reference, deadlineHours: 72 },
      soon: { ...reference, deadlineHours: 12 },
    },
    // `soon` at 0.99 for the ensemble shipped as 20261205.0858: at 0.98 it grounds "I'm near the Bristol
    // depot but I'd still like it delivered" as a collection (soon pickup 0.983); docs/decisions.md "Grounded answers".
    threshold: 0.99,
    thresholds: { later: 0.96 },
    answers: {
      pickup: ['later = "pickup"', 'soon = "pickup"', inStock],
      courier: [
        inStock,
        `weightKg <= ${o.maxParcelKg}`,
        `${neutral} or ${urgent}`,
        `deadlineHours <= ${o.courierDeadlineHours} or (${urgent.slice(1, -1)} and distanceKm <= ${o.urgentMaxDistanceKm}) or ${platinumSoon}`,
      ],
      warehouse: [
        `${noStock} or ${bulky} or ((${neutral} or ${urgent}) and (weightKg > ${o.maxParcelKg} or (deadlineHours > ${o.courierDeadlineHours} and ${notPlatinumSoon} and (${neutral} or distanceKm > ${o.urgentMaxDistanceKm}))))`,
      ],
    },
  };
}

/** The rules-only baseline: the same policy, reading the fields but not the text. */
export const rulesOnlyLoan = (c: LoanCase) => loanPolicy(c, 'neutral');
export const rulesOnlyOrder = (c: OrderCase) => orderPolicy(c, 'neutral');
