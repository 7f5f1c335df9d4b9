/**
 * ISO 8601 timer arithmetic for timer events: durations (`PT5M`, `P1DT2H`), dates
 * (`2026-01-01T10:00:00Z`) and cycles (`R3/PT10M`, `R/PT1H`). Pure: the clock is a parameter.
 */

const DURATION =
  /^(-)?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/** Parses an ISO 8601 duration; undefined when it is not one. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const num = (s: string | undefined) => (s === undefined ? 0 : Number(s.replace(',', '.')));
  const sign = match[1] ? -1 : 1;
  return {
    years: sign * num(match[2]),
    months: sign * num(match[3]),
    weeks: sign * num(match[4]),
    days: sign * num(match[5]),
    hours: sign * num(match[6]),
    minutes: sign * num(match[7]),
    seconds: sign * num(match[8]),
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
  const ms =
    ((duration.weeks * 7 + duration.days) * 86_400 +
      duration.hours * 3_600 +
      duration.minutes * 60 +
      duration.seconds) *
    1000;
  return new Date(date.getTime() + Math.round(ms));
}

/**
 * Parses an ISO 8601 date-time. An offset (`Z`, `+02:00`) wins; otherwise a zone id
 * (`2026-05-01T10:00:00@Europe/Berlin` as FEEL writes it, or `[Europe/Berlin]`) gives the local
 * time's offset; a value with neither is read as UTC (never the host's zone).
 */
export function parseIsoDate(text: string): Date | undefined {
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:?\d{2})?(?:@([\w/+-]+)|\[([\w/+-]+)\])?$/.exec(
      text.trim(),
    );
  if (!match) return undefined;
  const [, day, time = '00:00:00', offset, atZone, bracketZone] = match;
  const local = `${day}T${time.length === 5 ? `${time}:00` : time}`;
  const zone = atZone ?? bracketZone;
  if (offset || !zone) {
    const ms = Date.parse(`${local}${offset ? normalizeOffset(offset) : 'Z'}`);
    return Number.isNaN(ms) ? undefined : new Date(ms);
  }
  return zonedToUtc(local, zone);
}

function normalizeOffset(offset: string): string {
  return offset === 'Z' || offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

/** A wall-clock time in an IANA zone -> the instant (Intl knows the zone rules, DST included). */
function zonedToUtc(local: string, zone: string): Date | undefined {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  } catch {
    return undefined;
  }
  const asUtc = Date.parse(`${local}Z`);
  if (Number.isNaN(asUtc)) return undefined;
  const offsetAt = (instant: number) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
    const wall = Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    );
    return wall - (instant - (instant % 1000));
  };
  // Twice: the offset at the guessed instant may differ from the one at the real instant (DST).
  let instant = asUtc - offsetAt(asUtc);
  instant = asUtc - offsetAt(instant);
  return new Date(instant);
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
  const repetitions = match[1] === '' ? undefined : Number(match[1]);
  // A count past 2^53 would lose its digits on the way back to text (`R1e+21/...`) and end the cycle silently.
  if (!duration || (match[2] !== undefined && !start)) return undefined;
  if (repetitions !== undefined && !Number.isSafeInteger(repetitions)) return undefined;
  return { repetitions, interval: match[3]!, duration, ...(start ? { start } : {}) };
}

/**
 * How long one interval of a cycle lasts when it starts at `from`, in milliseconds (calendar fields
 * make it depend on the date; zero and negative durations give zero or less).
 */
export function cycleIntervalMs(duration: IsoDuration, from: Date): number {
  return addIsoDuration(from, duration).getTime() - from.getTime();
}

/** Checks a literal (non-FEEL) timer expression; returns an error message or undefined. */
export function timerSyntaxError(kind: 'duration' | 'date' | 'cycle', expression: string): string | undefined {
  const ok =
    kind === 'duration'
      ? parseIsoDuration(expression)
      : kind === 'date'
        ? parseIsoDate(expression)
        : parseIsoCycle(expression);
  return ok ? undefined : `not an ISO 8601 ${kind}: ${expression}`;
}
