/**
 * When a timer start event fires next. Pure: the clock is a parameter.
 */
import { OperonError } from '../errors.ts';
import type { TimerDefinition } from '../model/index.ts';
import { addIsoDuration, parseIsoCycle, parseIsoDate, parseIsoDuration } from '../model/timer.ts';
import { dueFromText } from '../runtime/timers.ts';

export interface StartTimerSchedule {
  dueAt: Date;
  /** What remains to repeat after this firing (`R2/PT1H`), undefined when it fires once. */
  cycle?: string;
}

/** A start timer's text: literal ISO 8601, or a FEEL string literal (`="PT1H"`); there are no variables before the start. */
function literal(expression: string): string {
  const text = expression.trim();
  if (!text.startsWith('=')) return text;
  const match = /^=\s*"([^"]*)"\s*$/.exec(text);
  return match ? match[1]! : text;
}

/** The first firing of a timer start event deployed at `now`. */
export function firstStartTimer(timer: TimerDefinition, now: Date, elementId: string): StartTimerSchedule {
  const text = literal(timer.expression);
  const invalid = () =>
    new OperonError('OPERON_ERR_BPMN_INVALID', `Timer start event '${elementId}' has an invalid ${timer.kind}: ${timer.expression}`, {
      details: { elementId, expression: timer.expression },
    });
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
  const due = dueFromText('cycle', text, now);
  if (!due.ok) throw invalid();
  return { dueAt: new Date(due.dueAt), ...(due.cycle ? { cycle: due.cycle } : {}) };
}

/** After a cycle timer fired at `now`: the next firing, or undefined when its repetitions are used up. */
export function nextCycle(cycleText: string, now: Date): StartTimerSchedule | undefined {
  const cycle = parseIsoCycle(cycleText);
  if (!cycle || cycle.repetitions === 0) return undefined;
  const remaining = cycle.repetitions === undefined ? undefined : cycle.repetitions - 1;
  return {
    dueAt: addIsoDuration(now, cycle.duration),
    cycle: remaining === undefined ? `R/${cycle.interval}` : remaining > 0 ? `R${remaining}/${cycle.interval}` : undefined,
  };
}
