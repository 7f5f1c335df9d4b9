/**
 * A review task's answer as training data: when a completed user task carries the review variable,
 * its value is stored as `decisions.reviewed_label` of the decision the task reviews (the decision
 * whose `decisionId` the task's variables hold, else the instance's latest decision).
 */
import type { Knex } from 'knex';
import type { UserTaskView } from '../api.ts';
import type { Variables } from '../nodes/types.ts';
import { OperonError } from '../errors.ts';

export interface ReviewSettings {
  /** Name of the variable holding the reviewer's label, e.g. `reviewedLabel`. */
  variable: string;
}

export interface PendingReview {
  decisionId: string;
  label: string;
  /** Stores the label once the task is completed. */
  record(reviewer: string): Promise<void>;
}

/** Decision ids the task shows the reviewer: every top-level variable that is a decision result. */
export function reviewedDecisionIds(taskVariables: Variables): string[] {
  return Object.values(taskVariables)
    .map((value) => (value && typeof value === 'object' && 'decisionId' in value ? (value as { decisionId: unknown }).decisionId : undefined))
    .filter((id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id));
}

/**
 * Finds the decision a review answers and checks the label against the model's labels, before the
 * task is completed. Undefined when the answer holds no review or the instance has no decision.
 */
export async function prepareReview(db: Knex, task: UserTaskView, answer: Variables, settings: ReviewSettings): Promise<PendingReview | undefined> {
  if (!(settings.variable in answer)) return undefined;
  const label = answer[settings.variable];
  const field = `body.variables.${settings.variable}`;
  if (typeof label !== 'string' || label.length === 0) {
    throw new OperonError('OPERON_ERR_VALIDATION', `${settings.variable} must be a label`, { details: { field } });
  }
  const ids = reviewedDecisionIds(task.variables);
  const query = db('decisions').where({ process_instance_id: task.instanceId }).orderBy('created_at', 'desc').first('id', 'scores');
  if (ids.length > 0) query.whereIn('id', ids);
  const decision = (await query) as { id: string; scores: Record<string, number> } | undefined;
  if (!decision) return undefined;
  const labels = Object.keys(decision.scores ?? {});
  if (labels.length > 0 && !labels.includes(label)) {
    throw new OperonError('OPERON_ERR_VALIDATION', `${settings.variable} '${label}' is not one of the model's labels: ${labels.join(', ')}`, { details: { field, labels } });
  }
  return {
    decisionId: decision.id,
    label,
    async record(reviewer) {
      await db('decisions').where({ id: decision.id }).update({ reviewed_label: label, reviewed_by: reviewer, reviewed_at: db.fn.now() });
    },
  };
}
