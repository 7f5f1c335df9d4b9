/**
 * The timer event definition, as every event that has one uses it: a catch event's own wait, the
 * events after an event-based gateway, a boundary event on its host, an event subprocess's start in
 * its scope. Timers belong to the element instance that waits (`owner.timerKeys`).
 */
import type { FlowElement, TimerEvent } from '../../../model/graph.ts';
import { IncidentSignal, type Execution } from '../../execution.ts';
import type { ElementInstance } from '../../state.ts';
import { computeTimerDue, dueFromText } from '../../timers.ts';

export interface TimerDue {
  dueAt: string;
  cycle?: string;
}

/** When the timer of `event` is due, evaluated from `ei` now; a bad expression is an incident. */
export function timerDue(x: Execution, ei: ElementInstance, event: TimerEvent): TimerDue {
  const due = computeTimerDue(event.timer, x.now, x.visibleVariables(ei.key), x.minCycleIntervalMs, x.feelSession);
  if (!due.ok) {
    const code = due.code ?? (due.overBudget ? 'OPERON_ERR_FEEL_BUDGET' : 'OPERON_ERR_FEEL_EVAL');
    throw new IncidentSignal(code, `timer of "${event.id}": ${due.message}`, {
      expression: due.expression,
      timerElementId: event.id,
      ...(due.code ? { minIntervalMs: x.minCycleIntervalMs } : {}),
    });
  }
  return due;
}

/** Schedules a timer of `event` owned by `owner`. */
export function scheduleTimer(x: Execution, owner: ElementInstance, event: FlowElement, due: TimerDue): void {
  const timerKey = `${owner.key}.${x.nextKey()}`;
  x.state.timers[timerKey] = {
    ownerKey: owner.key,
    elementId: event.id,
    ...(due.cycle ? { cycle: due.cycle } : {}),
  };
  (owner.timerKeys ??= []).push(timerKey);
  x.effects.push({
    type: 'timer.schedule',
    timerKey,
    elementInstanceKey: owner.key,
    elementId: event.id,
    dueAt: due.dueAt,
    ...(due.cycle ? { cycle: due.cycle } : {}),
  });
}

/** Schedules the timers of `events` for `owner`: every due time is evaluated before the first is scheduled. */
export function openTimers(x: Execution, owner: ElementInstance, events: TimerEvent[]): void {
  const dues = events.map((event) => timerDue(x, owner, event));
  events.forEach((event, i) => scheduleTimer(x, owner, event, dues[i]!));
}

/** A repeating non-interrupting timer fired: its next repetition, if the cycle has one. */
export function scheduleNextCycle(x: Execution, owner: ElementInstance, event: FlowElement, cycle: string): void {
  const next = dueFromText('cycle', cycle, x.now, x.minCycleIntervalMs);
  if (next.ok) scheduleTimer(x, owner, event, next);
}

/** Cancels every timer `owner` still holds (its own catch, its boundary events', its event subprocesses' start timers). */
export function closeTimers(x: Execution, owner: ElementInstance): void {
  for (const timerKey of owner.timerKeys ?? []) {
    if (!x.state.timers[timerKey]) continue;
    delete x.state.timers[timerKey];
    x.effects.push({ type: 'timer.cancel', timerKey });
  }
  delete owner.timerKeys;
}
