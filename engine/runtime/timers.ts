/**
 * Timer due dates from timer definitions. Pure: `now` is the step's clock.
 */
import { evaluateFeel, isFeelExpression, stripFeelMarker, type FeelSession } from '../feel/index.ts';
import type { TimerDefinition } from '../model/graph.ts';
import {
  addIsoDuration,
  cycleIntervalMs,
  parseIsoCycle,
  parseIsoDate,
  parseIsoDuration,
  type IsoCycle,
} from '../model/timer.ts';

export type TimerDue =
  | { ok: true; dueAt: string; cycle?: string }
  | { ok: false; message: string; expression: string; code?: 'OPERON_ERR_TIMER_CYCLE_TOO_SHORT'; overBudget?: true };

/** The shortest interval a timer cycle may repeat at unless an engine sets another (`OPERON_TIMER_MIN_INTERVAL`). */
export const DEFAULT_MIN_CYCLE_INTERVAL_MS = 1_000;

/**
 * When a timer is due, counted from `now`: a duration from now, a date as given, a cycle's first
 * interval (with the remaining cycle in `cycle`, when it repeats). `=` expressions are FEEL,
 * evaluated against `variables` (within the step's FEEL session, when given). Used by the runtime and
 * by drivers that schedule timer start events.
 */
export function computeTimerDue(
  timer: TimerDefinition,
  now: Date,
  variables: Record<string, unknown> = {},
  minCycleIntervalMs = DEFAULT_MIN_CYCLE_INTERVAL_MS,
  session?: FeelSession,
): TimerDue {
  let text = timer.expression;
  if (isFeelExpression(text)) {
    const result = evaluateFeel(stripFeelMarker(text), variables, now, session);
    if (!result.ok)
      return {
        ok: false,
        message: result.message,
        expression: timer.expression,
        ...(result.overBudget ? { overBudget: true } : {}),
      };
    if (typeof result.value !== 'string')
      return {
        ok: false,
        message: `timer expression gave ${JSON.stringify(result.value)}, not an ISO 8601 ${timer.kind}`,
        expression: timer.expression,
      };
    text = result.value;
  }
  return dueFromText(timer.kind, text, now, minCycleIntervalMs);
}

/**
 * The next firing of a remaining cycle (`R3/PT1M` -> due in 1 minute, `R2/PT1M` left). A cycle whose
 * interval is shorter than `minCycleIntervalMs` is refused: it would start work as fast as the engine can.
 */
export function dueFromText(
  kind: TimerDefinition['kind'],
  text: string,
  now: Date,
  minCycleIntervalMs = DEFAULT_MIN_CYCLE_INTERVAL_MS,
): TimerDue {
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
  const intervalMs = cycleIntervalMs(cycle.duration, cycle.start ?? now);
  if (intervalMs < minCycleIntervalMs) {
    return {
      ok: false,
      code: 'OPERON_ERR_TIMER_CYCLE_TOO_SHORT',
      message: `cycle ${text} repeats every ${intervalMs} ms, below the minimum of ${minCycleIntervalMs} ms`,
      expression: text,
    };
  }
  const { due: first, repetitions } = catchUp(cycle, now);
  const due = first < now ? now : first;
  const dueAt = due.toISOString();
  if (repetitions === undefined) return { ok: true, dueAt, cycle: `R/${cycle.interval}` };
  if (repetitions > 1) return { ok: true, dueAt, cycle: `R${repetitions - 1}/${cycle.interval}` };
  return { ok: true, dueAt };
}

/**
 * A start date in the past: the first repetition still to come (a lapsed cycle fires once, now).
 * Fixed-length intervals jump there in one step, so `R/1970-01-01T00:00:00Z/PT1S` costs no loop of a
 * billion turns; calendar intervals (months, years) are at least 28 days long and step one by one.
 */
function catchUp(cycle: IsoCycle, now: Date): { due: Date; repetitions: number | undefined } {
  let due = cycle.start ?? addIsoDuration(now, cycle.duration);
  let repetitions = cycle.repetitions;
  if (!cycle.start || due >= now) return { due, repetitions };
  const { years, months } = cycle.duration;
  const canRepeat = () => repetitions === undefined || repetitions > 1;
  if (!years && !months) {
    const intervalMs = cycleIntervalMs(cycle.duration, due);
    if (intervalMs <= 0) return { due, repetitions };
    const behind = Math.ceil((now.getTime() - due.getTime()) / intervalMs);
    const steps = repetitions === undefined ? behind : Math.min(behind, repetitions - 1);
    if (steps > 0) {
      due = new Date(due.getTime() + steps * intervalMs);
      if (repetitions !== undefined) repetitions -= steps;
    }
    return { due, repetitions };
  }
  while (due < now && canRepeat()) {
    const next = addIsoDuration(due, cycle.duration);
    if (next <= due) break;
    due = next;
    if (repetitions !== undefined) repetitions -= 1;
  }
  return { due, repetitions };
}
