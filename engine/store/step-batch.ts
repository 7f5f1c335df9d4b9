/**
 * What the batch writers (start-instances.ts, complete-jobs.ts) share: a step whose effects are all plain rows (element instances,
 * flows, jobs, history, instance end) joins the batch's single write (`collectPlainStep`); a step
 * with any other effect, or of a child instance, is persisted on its own by `stepInstance` /
 * `createInstance` in the same transaction.
 */
import type { StepResult } from '../runtime/contract.ts';
import { addPlainEffect, isPlainEffect, type InstanceRef, type PlainRows } from './apply-effects.ts';

/** Per request: done, or the error that request alone gets (the others are unaffected). */
export type Settled = { ok: true } | { ok: false; error: Error };

/** Whether a step's result can join the batch's shared writes. */
export function isPlainStep(result: StepResult, instance: { parent_instance_id?: string | null }): boolean {
  if (instance.parent_instance_id) return false; // reports to its parent: the single-instance path does that
  return result.effects.every((effect) => isPlainEffect(effect) || effect.type === 'instance.completed');
}

/** Collects a plain step's rows; an instance that completed joins `instancesEnded`. */
export function collectPlainStep(plain: PlainRows, ref: InstanceRef, result: StepResult, now: Date): void {
  for (const effect of result.effects) {
    if (effect.type === 'instance.completed') {
      plain.rows.instancesEnded.push(ref.id);
      plain.rows.history.push({
        process_instance_id: ref.id,
        element_instance_key: null,
        element_id: null,
        event_type: effect.type,
        payload: null,
      });
    } else addPlainEffect(plain, ref, effect, now);
  }
}
