/**
 * ISO 8601 timer arithmetic for timer events: durations (`PT5M`, `P1DT2H`), dates
 * (`2026-01-01T10:00:00Z`) and cycles (`R3/PT10M`, `R/PT1H`). Pure: the clock is a parameter.
 */

const DURATION = /^(-)?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

export interface IsoDuration {
  years: number; months: number; weeks: number; days: number;
  hours: number; minutes: number; seconds: number;
}

/** Parses an ISO 8601 duration; undefined when it is not one. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const num = (s: string | undefined) => (s === undefined ? 0 : Number(s.replace(',', '.')));
  const sign = match[1] ? -1 : 1;
  return {
    years: sign * num(match[2]), months: sign * num(match[3]), weeks: sign * num(match[4]), days: sign * num(match[5]),
    hours: sign * num(match[6]), minutes: sign * num(match[7]), seconds: sign * num(match[8]),
  };
}

/** `from` plus an ISO duration (calendar fields in UTC). */
export function addIsoDuration(from: Date, duration: IsoDuration): Date {
  const date = new Date(from.getTime());
  if (duration.years || duration.months) {
    // Like java.time: Jan 31 + P1M is the last day of February, not March 3.
    const day = date.getUTCDate();
    date.setUTCDate(1);
    date.setUTCMonth(date.getUTCMonth() + Math.trunc(duration.years * 12 + duration.months));
    const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
    date.setUTCDate(Math.min(day, lastDay));
  }
  const ms = ((duration.weeks * 7 + duration.days) * 86_400 + duration.hours * 3_600 + duration.minutes * 60 + duration.seconds) * 1000;
  return new Date(date.getTime() + Math.round(ms));
}

/** Parses an ISO 8601 date-time; a value without an offset is read as UTC (never the host's zone). */
export function parseIsoDate(text: string): Date | undefined {
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?(\[[^\]]+\])?$/.test(trimmed)) return undefined;
  const withoutZoneId = trimmed.replace(/\[[^\]]+\]$/, '');
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/.test(withoutZoneId) && withoutZoneId.includes('T');
  const ms = Date.parse(hasOffset ? withoutZoneId : withoutZoneId.includes('T') ? `${withoutZoneId}Z` : `${withoutZoneId}T00:00:00Z`);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export interface IsoCycle {
  /** Remaining repetitions; undefined = unbounded (`R/...`). */
  repetitions?: number;
  interval: string;
  duration: IsoDuration;
  /** `R3/2026-01-01T09:00:00Z/PT1H`: the first firing. */
  start?: Date;
}

/** Parses `R[n]/<duration>` and `R[n]/<start date>/<duration>`. */
export function parseIsoCycle(text: string): IsoCycle | undefined {
  const match = /^R(\d*)\/(?:([^/]+)\/)?(P[^/]+)$/.exec(text.trim());
  if (!match) return undefined;
  const duration = parseIsoDuration(match[3]!);
  const start = match[2] === undefined ? undefined : parseIsoDate(match[2]);
  if (!duration || (match[2] !== undefined && !start)) return undefined;
  return { repetitions: match[1] === '' ? undefined : Number(match[1]), interval: match[3]!, duration, ...(start ? { start } : {}) };
}

/** Checks a literal (non-FEEL) timer expression; returns an error message or undefined. */
export function timerSyntaxError(kind: 'duration' | 'date' | 'cycle', expression: string): string | undefined {
  const ok = kind === 'duration' ? parseIsoDuration(expression) : kind === 'date' ? parseIsoDate(expression) : parseIsoCycle(expression);
  return ok ? undefined : `not an ISO 8601 ${kind}: ${expression}`;
}
