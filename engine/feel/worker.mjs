// Evaluates FEEL expressions that may iterate (for / some / every) off the main thread, so the
// caller can give up after its time budget. Plain JS: workers do not inherit a TypeScript loader.
// Protocol: state[0] = calls answered, state[1] = 1 once feelin is loaded; replies go to `port`.
import { parentPort, workerData } from 'node:worker_threads';
import { evaluate } from 'feelin';

const { state, port } = workerData;
Atomics.store(state, 1, 1);
Atomics.notify(state, 1);

parentPort.on('message', ({ expression, context }) => {
  let reply;
  try {
    reply = { ok: true, value: evaluate(expression, context).value };
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
