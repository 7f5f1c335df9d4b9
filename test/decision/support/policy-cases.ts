/**
 * Cases for property tests of the written policies (models/data/policy.ts): numbers drawn over the
 * valid ranges, each policy threshold and its neighbours included, with a placeholder text (the
 * policies read the text's meaning, which the tests give as an intent).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DOMAINS } from '../../../models/data/domains.ts';

export const loanCase = fc.record({
  income: fc.oneof(fc.integer({ min: 0, max: 300_000 }), fc.constantFrom(24_999, 25_000, 25_001)),
  debts: fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.constantFrom(19_999, 20_000, 39_999, 40_000)),
  creditScore: fc.oneof(fc.integer({ min: 300, max: 900 }), fc.constantFrom(579, 580, 619, 620, 679, 680)),
  amount: fc.oneof(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom(29_999, 30_000, 30_001)),
  termMonths: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constantFrom(60, 61)),
  employment: fc.constantFrom(...(DOMAINS.loan.inputs.employment as { values: string[] }).values),
  purpose: fc.constant('a purpose'),
});

export const orderCase = fc.record({
  weightKg: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constantFrom(29.9, 30, 30.1)),
  distanceKm: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(299, 300, 301)),
  stock: fc.record({
    leeds: fc.integer({ min: 0, max: 3 }),
    bristol: fc.integer({ min: 0, max: 3 }),
    glasgow: fc.integer({ min: 0, max: 3 }),
  }),
  deadlineHours: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.constantFrom(24, 25, 47, 48, 49)),
  customerTier: fc.constantFrom('standard', 'silver', 'gold', 'platinum'),
  notes: fc.constant('a note'),
});

/** The fields of a strong loan applicant who passes every limit: the e2e applicant AP-10004's. */
const STRONG_LOAN_FIELDS = {
  income: 72000,
  debts: 0,
  creditScore: 823,
  amount: 15000,
  termMonths: 48,
  employment: 'permanent',
};

/**
 * A loan case the shipped model answers approve under its threshold (0.916 against 0.95) and the
 * written policy grounds (the strong reading approves at 0.982): the tests of grounded answers
 * through the agent, the CLI and the cockpit share it. The purpose is a hand-written training text.
 */
export const GROUNDED_LOAN_CASE = {
  ...STRONG_LOAN_FIELDS,
  purpose: 'replacing the old lead water pipe that feeds the house',
};

/**
 * A loan case whose purpose (nat-loan-0125 of the hand-written natural test set, 433 characters)
 * is longer than the model reads at once: with the strong applicant's fields the shipped model
 * reads it in two overlapping parts and approves in both at or above its threshold (0.960 and
 * 0.985 against 0.95), so the answer is automated with its windows recorded.
 */
export const WINDOWED_LOAN_CASE = {
  ...STRONG_LOAN_FIELDS,
  purpose: (
    JSON.parse(
      readFileSync(new URL('../../../models/data/natural/loan.test.jsonl', import.meta.url), 'utf8')
        .split('\n')
        .find((line) => line.includes('"nat-loan-0125"'))!,
    ) as { vars: { purpose: string } }
  ).vars.purpose,
};
