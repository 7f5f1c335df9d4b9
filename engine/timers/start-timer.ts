/**
 * When a timer start event fires next. Pure: the clock is a parameter.
 */
import { OperonError } from '../errors.ts';
import type { TimerDefinition } from '../model/index.ts';
import { addIsoDuration, parseIsoCycle, parseIsoDate, parseIsoDuration } from '../model/timer.ts';
import { DEFAULT_MIN_CYCLE_INTERVAL_MS, dueFromText } from '../runtime/timers.ts';
import { literalTimerText } from './timer-policy.ts';

export interface StartTimerSchedule {
  dueAt: Date;
  /** What remains to repeat after this firing (`R2/PT1H`), undefined when it fires once. */
  cycle?: string;
}

/** A start timer's text: literal ISO 8601, or a FEEL string literal (`="PT1H"`); there are no variables before the start. */
function literal(expression: string): string {
  return literalTimerText(expression) ?? expression.trim();
}

/** The first firing of a timer start event deployed at `now` (a cycle must repeat no faster than `minCycleIntervalMs`). */
export function firstStartTimer(
  timer: TimerDefinition,
  now: Date,
  elementId: string,
  minCycleIntervalMs = DEFAULT_MIN_CYCLE_INTERVAL_MS,
): StartTimerSchedule {
  const text = literal(timer.expression);
  const invalid = () =>
    new OperonError(
      'OPERON_ERR_BPMN_INVALID',
      `Timer start event '${elementId}' has an invalid ${timer.kind}: ${timer.expression}`,
      {
        details: { elementId, expression: timer.expression },
      },
    );
  if (timer.kind === 'date') {
    const due = parseIsoDate(text);
    if (!due) throw invalid();
    return { dueAt: due };
  }
  if (timer.kind === 'duration') {
    const duration = parseIsoDuration(text);
    if (!duration) throw invalid();
    return { dueAt: addIsoDuration(now, duration) };
  }
  // The runtime's rule, so a start date (`R3/2026-06-01T09:00:00Z/PT1H`) is honoured the same way
  // as on catch events: first due at the start date; a start date in the past catches up to the next
  // repetition still to come.
  const due = dueFromText('cycle', text, now, minCycleIntervalMs);
  if (!due.ok && due.code) {
    throw new OperonError(due.code, `Timer start event '${elementId}': ${due.message}`, {
      details: { elementId, expression: timer.expression, minIntervalMs: minCycleIntervalMs },
    });
  }
  if (!due.ok) throw invalid();
  return { dueAt: new Date(due.dueAt), ...(due.cycle ? { cycle: due.cycle } : {}) };
}

/**
 * After a cycle timer fired at `now`: the next firing, or undefined when its repetitions are used up.
 * A cycle stored before the minimum interval was raised (or before there was one) waits at least
 * `minCycleIntervalMs`, so it cannot start instances as fast as the engine loops.
 */
export function nextCycle(
  cycleText: string,
  now: Date,
  minCycleIntervalMs = DEFAULT_MIN_CYCLE_INTERVAL_MS,
): StartTimerSchedule | undefined {
  const cycle = parseIsoCycle(cycleText);
  if (!cycle || cycle.repetitions === 0) return undefined;
  const remaining = cycle.repetitions === undefined ? undefined : cycle.repetitions - 1;
  const dueAt = addIsoDuration(now, cycle.duration);
  return {
    dueAt: dueAt.getTime() - now.getTime() < minCycleIntervalMs ? new Date(now.getTime() + minCycleIntervalMs) : dueAt,
    cycle:
      remaining === undefined ? `R/${cycle.interval}` : remaining > 0 ? `R${remaining}/${cycle.interval}` : undefined,
  };
}
