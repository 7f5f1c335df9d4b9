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
  /** The model that made the decision. */
  model: string;
  /** The reviewer chose another label than the model's best answer (its top label a reviewer may choose). */
  overruled: boolean;
  /** Stores the label once the task is completed. */
  record(reviewer: string): Promise<void>;
}

/**
 * Labels that mean "ask a person" (the loan model's `review`): the question a review task answers,
 * so a reviewer can never give them as the answer.
 */
export const ABSTAIN_LABELS: readonly string[] = ['review'];

/** The labels a reviewer may answer with: the model's labels less the abstaining ones. */
export function reviewerLabels(modelLabels: string[]): string[] {
  return modelLabels.filter((label) => !ABSTAIN_LABELS.includes(label));
}

/** Decision ids the task shows the reviewer: every top-level variable that is a decision result. */
export function reviewedDecisionIds(taskVariables: Variables): string[] {
  return Object.values(taskVariables)
    .map((value) =>
      value && typeof value === 'object' && 'decisionId' in value
        ? (value as { decisionId: unknown }).decisionId
        : undefined,
    )
    .filter((id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id));
}

/**
 * Finds the decision a review answers and checks the label against the labels a reviewer may
 * choose (the model's, less `review`), before the task is completed. Undefined when the answer holds no review or the instance has no decision.
 */
export async function prepareReview(
  db: Knex,
  task: UserTaskView,
  answer: Variables,
  settings: ReviewSettings,
): Promise<PendingReview | undefined> {
  if (!(settings.variable in answer)) return undefined;
  const label = answer[settings.variable];
  const field = `body.variables.${settings.variable}`;
  if (typeof label !== 'string' || label.length === 0) {
    throw new OperonError('OPERON_ERR_VALIDATION', `${settings.variable} must be a label`, { details: { field } });
  }
  const ids = reviewedDecisionIds(task.variables);
  const query = db('decisions')
    .where({ process_instance_id: task.instanceId })
    .orderBy('created_at', 'desc')
    .first('id', 'scores', 'model_name');
  if (ids.length > 0) query.whereIn('id', ids);
  const decision = (await query) as { id: string; scores: Record<string, number>; model_name: string } | undefined;
  if (!decision) return undefined;
  const modelLabels = Object.keys(decision.scores ?? {});
  const labels = reviewerLabels(modelLabels);
  if (modelLabels.length > 0 && !labels.includes(label)) {
    const why = modelLabels.includes(label)
      ? 'asks for a review, it does not answer one'
      : "is not one of the model's labels";
    throw new OperonError(
      'OPERON_ERR_VALIDATION',
      `${settings.variable} '${label}' ${why}; a reviewer chooses one of: ${labels.join(', ')}`,
      { details: { field, labels } },
    );
  }
  const scores = decision.scores ?? {};
  const modelAnswer = labels.reduce<string | undefined>(
    (best, candidate) => (best === undefined || (scores[candidate] ?? 0) > (scores[best] ?? 0) ? candidate : best),
    undefined,
  );
  return {
    decisionId: decision.id,
    label,
    model: decision.model_name,
    overruled: modelAnswer !== undefined && modelAnswer !== label,
    async record(reviewer) {
      await db('decisions')
        .where({ id: decision.id })
        .update({ reviewed_label: label, reviewed_by: reviewer, reviewed_at: db.fn.now() });
    },
  };
}
