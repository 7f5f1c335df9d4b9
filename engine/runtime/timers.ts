/**
 * Timer due dates from timer definitions. Pure: `now` is the step's clock.
 */
import { evaluateFeel, isFeelExpression, stripFeelMarker, type FeelSession } from '../feel/index.ts';
import type { TimerDefinition } from '../model/graph.ts';
import { addIsoDuration, parseIsoCycle, parseIsoDate, parseIsoDuration } from '../model/timer.ts';

export type TimerDue = { ok: true; dueAt: string; cycle?: string } | { ok: false; message: string; expression: string; overBudget?: true };

/**
 * When a timer is due, counted from `now`: a duration from now, a date as given, a cycle's first
 * interval (with the remaining cycle in `cycle`, when it repeats). `=` expressions are FEEL,
 * evaluated against `variables` (within the step's FEEL session, when given). Used by the runtime and
 * by drivers that schedule timer start events.
 */
export function computeTimerDue(timer: TimerDefinition, now: Date, variables: Record<string, unknown> = {}, session?: FeelSession): TimerDue {
  let text = timer.expression;
  if (isFeelExpression(text)) {
    const result = evaluateFeel(stripFeelMarker(text), variables, now, session);
    if (!result.ok) return { ok: false, message: result.message, expression: timer.expression, ...(result.overBudget ? { overBudget: true } : {}) };
    if (typeof result.value !== 'string') return { ok: false, message: `timer expression gave ${JSON.stringify(result.value)}, not an ISO 8601 ${timer.kind}`, expression: timer.expression };
    text = result.value;
  }
  return dueFromText(timer.kind, text, now);
}

/** The next firing of a remaining cycle (`R3/PT1M` -> due in 1 minute, `R2/PT1M` left). */
export function dueFromText(kind: TimerDefinition['kind'], text: string, now: Date): TimerDue {
  if (kind === 'duration') {
    const duration = parseIsoDuration(text);
    if (!duration) return { ok: false, message: `not an ISO 8601 duration: ${text}`, expression: text };
    return { ok: true, dueAt: addIsoDuration(now, duration).toISOString() };
  }
  if (kind === 'date') {
    const date = parseIsoDate(text);
    if (!date) return { ok: false, message: `not an ISO 8601 date: ${text}`, expression: text };
    return { ok: true, dueAt: date.toISOString() };
  }
  const cycle = parseIsoCycle(text);
  if (!cycle) return { ok: false, message: `not an ISO 8601 cycle: ${text}`, expression: text };
  let due = cycle.start ?? addIsoDuration(now, cycle.duration);
  let repetitions = cycle.repetitions;
  // A start date in the past: the first repetition still to come (a lapsed cycle fires once, now).
  while (cycle.start && due < now && (repetitions === undefined || repetitions > 1)) {
    due = addIsoDuration(due, cycle.duration);
    if (repetitions !== undefined) repetitions -= 1;
  }
  if (due < now) due = now;
  const dueAt = due.toISOString();
  if (repetitions === undefined) return { ok: true, dueAt, cycle: `R/${cycle.interval}` };
  if (repetitions > 1) return { ok: true, dueAt, cycle: `R${repetitions - 1}/${cycle.interval}` };
  return { ok: true, dueAt };
}
