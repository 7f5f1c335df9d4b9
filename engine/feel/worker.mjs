// Evaluates the FEEL expressions that are not proven cheap (inline.ts) off the engine's thread, so
// the caller can give up after its time budget. Plain JS: workers do not inherit a TypeScript loader.
// Protocol: state[0] = calls answered, state[1] = 1 once feelin is loaded; replies go to `port`.
import { parentPort, workerData } from 'node:worker_threads';
import { toJson, withClock } from './values.mjs';
import { evaluateCamunda } from './builtins.mjs';

const { state, port } = workerData;
Atomics.store(state, 1, 1);
Atomics.notify(state, 1);

parentPort.on('message', ({ expression, context, nowIso }) => {
  let reply;
  try {
    reply = { ok: true, value: toJson(evaluateCamunda(expression, withClock(context, nowIso)).value) };
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
