/** The scripted credit officer of the demo: the answer a careful clerk gives to a review task. */

export interface ReviewAnswer { reviewedLabel: 'approve' | 'reject'; reviewer: string }

/**
 * Approves when the score is fair, the debts and the instalment are affordable, and the purpose is
 * not a red flag; rejects otherwise.
 */
export function clerkReview(variables: Record<string, unknown>, reviewer = 'clerk.demo@operon.example'): ReviewAnswer {
  const number = (name: string) => (typeof variables[name] === 'number' ? (variables[name] as number) : 0);
  const income = number('income');
  const monthly = number('amount') / Math.max(1, number('termMonths'));
  const purpose = String(variables.purpose ?? '').toLowerCase();
  const redFlag = /gambl|betting|casino/.test(purpose);
  const affordable = income > 0 && number('debts') < income * 0.6 && monthly * 12 < income * 0.3;
  return { reviewedLabel: !redFlag && number('creditScore') >= 600 && affordable ? 'approve' : 'reject', reviewer };
}
