/**
 * A completed review task's answer as the decision's reviewed label, on every completion path (API,
 * cockpit, embedding code): when the answer carries `reviewedLabel`, the decision the task shows
 * (its `decisionId`, else the instance's latest) gets `reviewed_label`, `reviewed_by`, `reviewed_at`.
 */
import type { Knex } from 'knex';
import type { Variables } from '../nodes/types.ts';
import type { UserTaskRow } from './rows.ts';
import { prepareReview } from './review.ts';

/** The answer variable that holds the reviewer's label, and the one that names the reviewer. */
export const REVIEWED_LABEL_VARIABLE = 'reviewedLabel';
export const REVIEWER_VARIABLE = 'reviewer';

/**
 * Validates the label against the model's labels (OPERON_ERR_VALIDATION otherwise) and stores it in
 * `tx`, so a refused label completes nothing; returns what was recorded (for the audit trail). No-op
 * (undefined) when the answer has no `reviewedLabel` or the instance has no decision.
 */
export async function recordReviewedLabel(
  tx: Knex,
  task: UserTaskRow,
  answer: Variables,
  completedBy?: string,
): Promise<{ decisionId: string; label: string; reviewer: string; model: string; overruled: boolean } | undefined> {
  if (!(REVIEWED_LABEL_VARIABLE in answer)) return undefined;
  const view = { instanceId: task.process_instance_id, variables: (task.variables ?? {}) as Variables } as Parameters<
    typeof prepareReview
  >[1];
  const pending = await prepareReview(tx, view, answer, { variable: REVIEWED_LABEL_VARIABLE });
  if (!pending) return undefined;
  // The completer is who signed in (docs/security.md); the variable only names a reviewer when the
  // completion names nobody (the development token, embedding code).
  const named = answer[REVIEWER_VARIABLE];
  const reviewer = completedBy ?? (typeof named === 'string' && named.length > 0 ? named : 'api');
  await pending.record(reviewer);
  return {
    decisionId: pending.decisionId,
    label: pending.label,
    reviewer,
    model: pending.model,
    overruled: pending.overruled,
  };
}
