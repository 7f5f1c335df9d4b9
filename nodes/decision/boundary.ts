/**
 * Nearness to a decision boundary as a selective-prediction signal: an answer the model would act
 * on is scored again with each declared number moved a little (by `relative` of its value, down and
 * up). When one of those copies gets another label, the case sits where the model's own answer
 * changes: a clerk would look twice at it, and so does Operon (the case goes to review). The copies
 * are scored together in one batch after the case itself, 2 per declared number: on the shipped
 * models that is 11-13 forward passes, p50 15-17 ms on 2 cores (bench:decision), so the shipped
 * configs leave it off.
 *
 * This reads only the model's answers, never the policy: it finds the model's boundaries, wherever
 * they are, including a boundary the model learned in the wrong place.
 */
import { valueAt } from '../../engine/model/typed-variables.ts';
import { type DecisionInputs, withValueAt } from './inputs.ts';

export interface BoundarySettings {
  /** How far each number is moved, as a share of its value (0.1 = 10 % down and 10 % up). */
  relative: number;
}

export interface Nudge {
  field: string;
  from: number;
  to: number;
  variables: Record<string, unknown>;
}

/** The nudged copies of a case: each declared number (not zero) moved down and up; integers stay integers. */
export function nudges(inputs: DecisionInputs, variables: Record<string, unknown>, relative: number): Nudge[] {
  const out: Nudge[] = [];
  if (!(relative > 0)) return out;
  for (const [field, spec] of Object.entries(inputs)) {
    if (spec.type !== 'number') continue;
    const from = valueAt(variables, field);
    if (typeof from !== 'number' || !Number.isFinite(from) || from === 0) continue;
    const moved = [from * (1 - relative), from * (1 + relative)].map((v) =>
      Number.isInteger(from) ? Math.round(v) : Math.round(v * 1000) / 1000,
    );
    for (const to of new Set(moved)) {
      if (to === from) continue;
      out.push({ field, from, to, variables: withValueAt(variables, field.split('.'), to) });
    }
  }
  return out;
}
