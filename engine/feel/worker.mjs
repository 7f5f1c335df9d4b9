// Evaluates FEEL expressions that may iterate (for / some / every) off the main thread, so the
// caller can give up after its time budget. Plain JS: workers do not inherit a TypeScript loader.
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

parentPort.on('message', ({ expression, context, nowIso }) => {
  let reply;
  try {
    reply = { ok: true, value: evaluate(expression, withClock(context, nowIso)).value };
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
