// Evaluates the FEEL expressions that are not proven cheap (inline.ts) off the engine's thread, so
// the caller can give up after its time budget. Plain JS: workers do not inherit a TypeScript loader.
// Protocol: state[0] = calls answered, state[1] = 1 once feelin is loaded; replies go to `port`.
import { parentPort, workerData } from 'node:worker_threads';
import { date, dateAndTime, evaluate } from 'feelin';

const { state, port } = workerData;
Atomics.store(state, 1, 1);
Atomics.notify(state, 1);

// Same as withClock in index.ts: now() and today() answer with the step's clock.
function withClock(context, nowIso) {
  if (!nowIso) return context;
  const clock = {};
  if (!Object.hasOwn(context, 'now')) clock.now = () => dateAndTime(nowIso.replace(/\.\d{3}Z$/, 'Z'));
  if (!Object.hasOwn(context, 'today')) clock.today = () => date(nowIso.slice(0, 10));
  return { ...context, ...clock };
}

// Same as toJson in index.ts: FEEL values (dates, durations, ranges, functions) -> plain JSON, here
// so that the engine's thread gets data it can store as it is.
function toJson(value) {
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

parentPort.on('message', ({ expression, context, nowIso }) => {
  let reply;
  try {
    reply = { ok: true, value: toJson(evaluate(expression, withClock(context, nowIso)).value) };
  } catch (error) {
    reply = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  try {
    port.postMessage(reply);
  } catch {
    // A result that cannot be cloned (a FEEL function): null, as toJson would make it.
    port.postMessage({ ok: true, value: null });
  }
  Atomics.add(state, 0, 1);
  Atomics.notify(state, 0);
});
