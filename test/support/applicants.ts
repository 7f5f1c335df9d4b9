/**
 * A loan applicant the e2e tests send by webhook beside the README's sample application
 * (`SAMPLE_APPLICATION`, engine/cli/stack.ts: AP-10004, score 823 and no debts at the bureau).
 * On file at the demo credit bureau (processes/demo-apps/data.ts), which supplies the score and
 * debts. Each test adds its own applicationId and purpose.
 */

/** AP-10002, score 611 with a car loan and a credit card at the bureau. */
export const BORDERLINE_APPLICANT = {
  applicantId: 'AP-10002',
  applicantName: 'Jonas Weber',
  income: 38000,
  amount: 18000,
  termMonths: 36,
  employment: 'contract',
};
