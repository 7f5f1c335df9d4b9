// FEEL values to and from the engine, shared by the engine's thread (index.ts) and the FEEL worker
// (worker.mjs). Plain JS: workers do not inherit a TypeScript loader. Types: values.d.mts.
import { date, dateAndTime } from 'feelin';

/**
 * FEEL's `now()` and `today()` answer with the step's clock, so an expression gives the same value
 * when a step is replayed (the runtime never reads the machine's clock). A variable of that name wins.
 */
export function withClock(context, nowIso) {
  if (!nowIso) return context;
  const clock = {};
  if (!Object.hasOwn(context, 'now')) clock.now = () => dateAndTime(nowIso.replace(/\.\d{3}Z$/, 'Z'));
  if (!Object.hasOwn(context, 'today')) clock.today = () => date(nowIso.slice(0, 10));
  return { ...context, ...clock };
}

/** FEEL values (dates, durations, ranges, functions) -> plain JSON values, storable in jsonb. */
export function toJson(value) {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number(value);
    case 'object': {
      if (Array.isArray(value)) return value.map(toJson);
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        if (typeof value.iso === 'string') return value.iso;
        if (typeof value.toJSON === 'function') return toJson(value.toJSON());
        const text = String(value);
        return text === '[object Object]' ? null : text;
      }
      const out = {};
      for (const [key, entry] of Object.entries(value)) out[key] = toJson(entry);
      return out;
    }
    default:
      return null;
  }
}
