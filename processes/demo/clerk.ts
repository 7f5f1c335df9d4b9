/** The demo's scripted clerks: the answers a careful credit officer and dispatcher give to review tasks. */

export interface ReviewAnswer {
  reviewedLabel: 'approve' | 'reject';
  reviewer: string;
}

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

export interface RoutingAnswer {
  reviewedLabel: 'warehouse' | 'courier' | 'pickup';
  reviewer: string;
}

/**
 * The dispatcher's routing, by the written routing policy: back-order when no depot has stock;
 * pickup when the customer says they will collect; heavy or pallet goods by the warehouse; a
 * deadline within a day, an urgent note within 300 km or a platinum customer within two days by
 * courier; otherwise standard shipping from the warehouse.
 */
export function clerkRouting(
  variables: Record<string, unknown>,
  reviewer = 'dispatch.demo@operon.example',
): RoutingAnswer {
  const number = (value: unknown) => (typeof value === 'number' ? value : Number.NaN);
  const stock = (variables.stock ?? {}) as Record<string, unknown>;
  const inStock = Object.values(stock).some((units) => number(units) > 0);
  const notes = String(variables.notes ?? '').toLowerCase();
  const deadline = number(variables.deadlineHours);
  const route = (): RoutingAnswer['reviewedLabel'] => {
    if (!inStock) return 'warehouse';
    if (
      /\b(collect|pick(ing)? (it )?up|fetch|grab)\b/.test(notes) &&
      !/\b(not|no|don't|won't) (be )?(collect|pick|fetch)/.test(notes)
    )
      return 'pickup';
    if (number(variables.weightKg) > 30 || /pallet|forklift|two.person|freight/.test(notes)) return 'warehouse';
    if (deadline <= 24) return 'courier';
    if (/urgent|asap|express|rush/.test(notes) && number(variables.distanceKm) <= 300) return 'courier';
    if (variables.customerTier === 'platinum' && deadline <= 48) return 'courier';
    return 'warehouse';
  };
  return { reviewedLabel: route(), reviewer };
}
