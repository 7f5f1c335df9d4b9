/**
 * Limits that keep timers from starting work faster than the engine can carry: the shortest interval
 * a timer cycle may repeat at, and how many instances timer start events may start per second and
 * process.
 */
import { OperonError } from '../errors.ts';
import { parseIsoDuration } from '../model/timer.ts';
import type { ProcessGraph } from '../model/index.ts';
import { cycleIntervalMs, parseIsoCycle } from '../model/timer.ts';
import { DEFAULT_MIN_CYCLE_INTERVAL_MS } from '../runtime/timers.ts';

export { DEFAULT_MIN_CYCLE_INTERVAL_MS };

/** Instances the timer start events of one process may start per second (and the burst above it). */
export const DEFAULT_TIMER_STARTS_PER_SECOND = 50;

export interface TimerPolicy {
  /** Shortest interval a timer cycle may repeat at, in ms (`OPERON_TIMER_MIN_INTERVAL`, default 1 s). */
  minCycleIntervalMs: number;
  /** Timer-started instances per second and process, per engine process (`OPERON_TIMER_START_RATE`, default 50). */
  startsPerSecond: number;
  /** Starts a process may make at once before the rate applies. Default: one second's worth. */
  startBurst: number;
}

/**
 * The policy from explicit options, else the environment, else the defaults. Durations in the
 * environment are ISO 8601 (`PT1S`) or milliseconds (`1000`).
 */
export function resolveTimerPolicy(
  options: Partial<TimerPolicy> = {},
  env: NodeJS.ProcessEnv = process.env,
): TimerPolicy {
  const minCycleIntervalMs =
    options.minCycleIntervalMs ?? envDurationMs(env, 'OPERON_TIMER_MIN_INTERVAL') ?? DEFAULT_MIN_CYCLE_INTERVAL_MS;
  const startsPerSecond =
    options.startsPerSecond ?? envNumber(env, 'OPERON_TIMER_START_RATE') ?? DEFAULT_TIMER_STARTS_PER_SECOND;
  const startBurst = options.startBurst ?? Math.max(1, Math.ceil(startsPerSecond));
  if (!(minCycleIntervalMs >= 1)) {
    throw new OperonError(
      'OPERON_ERR_VALIDATION',
      `the minimum timer interval must be at least 1 ms, got ${minCycleIntervalMs}`,
    );
  }
  if (!(startsPerSecond > 0) || !(startBurst >= 1)) {
    const message = `the timer start rate must be positive, got ${startsPerSecond}/s with a burst of ${startBurst}`;
    throw new OperonError('OPERON_ERR_VALIDATION', message);
  }
  return { minCycleIntervalMs, startsPerSecond, startBurst };
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value))
    throw new OperonError('OPERON_ERR_VALIDATION', `${name} must be a number, got '${text}'`);
  return value;
}

function envDurationMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const duration = parseIsoDuration(text);
  if (!duration || duration.years || duration.months) {
    const message = `${name} must be an ISO 8601 duration without years or months (PT1S) or milliseconds, got '${text}'`;
    throw new OperonError('OPERON_ERR_VALIDATION', message);
  }
  return cycleIntervalMs(duration, new Date(0));
}

/** A timer text known before any variable exists: plain ISO 8601 or a FEEL string literal (`="R/PT1H"`). */
export function literalTimerText(expression: string): string | undefined {
  const text = expression.trim();
  if (!text.startsWith('=')) return text;
  const match = /^=\s*"([^"]*)"\s*$/.exec(text);
  return match ? match[1]! : undefined;
}

/**
 * Refuses a deployment whose literal timer cycles (start, boundary, intermediate and event
 * subprocess timers) repeat more often than `minCycleIntervalMs`. Cycles computed by FEEL are
 * checked when they are evaluated (an incident) instead.
 */
export function checkTimerCycles(graph: ProcessGraph, minCycleIntervalMs: number, now: Date): void {
  for (const element of Object.values(graph.elements)) {
    const timer = 'timer' in element ? element.timer : undefined;
    if (timer?.kind !== 'cycle') continue;
    const text = literalTimerText(timer.expression);
    const cycle = text === undefined ? undefined : parseIsoCycle(text);
    if (!cycle) continue;
    const intervalMs = cycleIntervalMs(cycle.duration, cycle.start ?? now);
    if (intervalMs >= minCycleIntervalMs) continue;
    const message =
      `${graph.bpmnProcessId}: timer "${element.id}" repeats every ${intervalMs} ms (${timer.expression}); ` +
      `the minimum interval is ${minCycleIntervalMs} ms`;
    const { bpmnProcessId } = graph;
    const details = {
      bpmnProcessId,
      elementId: element.id,
      expression: timer.expression,
      intervalMs,
      minIntervalMs: minCycleIntervalMs,
    };
    throw new OperonError('OPERON_ERR_TIMER_CYCLE_TOO_SHORT', message, { details });
  }
}
