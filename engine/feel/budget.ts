/**
 * The CPU budget for FEEL: every expression that is not proven cheap (inline.ts) runs in a worker
 * thread, and one that runs longer than `OPERON_FEEL_BUDGET_MS` (default 1000 ms) is abandoned with
 * its thread. The engine's thread never waits long for an answer:
 *
 * - `evaluateInWorker(..., { syncWaitMs })` waits synchronously (Atomics.wait) only that long; a
 *   slower expression comes back as a `pending` answer whose promise settles within the budget,
 *   while the event loop keeps serving requests (FeelSession replays the step once it has).
 * - without `syncWaitMs` the caller waits for the whole budget (callers outside a step driver).
 *
 * Workers are pooled (at most `OPERON_FEEL_WORKERS`, default 4) so that several slow expressions
 * of concurrent steps each get their own thread and their own budget.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** Time a fresh worker may take to load feelin; not counted against an expression's budget. */
const STARTUP_MS = 30_000;

/** `overBudget`: stopped for running past its time (or the worker's memory). */
export type BudgetResult = { ok: true; value: unknown } | { ok: false; message: string; overBudget?: true };

/** An answer that is not there yet: `settled` resolves with it, within the budget. */
export interface PendingAnswer {
  pending: true;
  settled: Promise<BudgetResult>;
}

/** Atomics.waitAsync (Node 16+), missing from the ES2022 lib typings. */
const waitAsyncOn = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

interface BudgetWorker {
  worker: Worker;
  /** [0] calls answered, [1] 1 once feelin is loaded (protocol of worker.mjs). */
  state: Int32Array;
  replies: MessagePort;
  /** False once abandoned or broken: never used again. */
  alive: boolean;
}

const idle: BudgetWorker[] = [];
let busy = 0;
const waiting: Array<() => void> = [];

/** The per-expression budget in ms. */
export function budgetMs(): number {
  const configured = Number(process.env.OPERON_FEEL_BUDGET_MS);
  return Number.isFinite(configured) && configured > 0 ? configured : 1000;
}

function maxWorkers(): number {
  const configured = Number(process.env.OPERON_FEEL_WORKERS);
  return Number.isInteger(configured) && configured > 0 ? configured : 4;
}

/**
 * Evaluates `expression` on plain JSON `context` in a worker. With `syncWaitMs`, an answer that
 * takes longer (or a worker that is still starting, or none free) comes back pending.
 */
export function evaluateInWorker(
  expression: string,
  context: Record<string, unknown>,
  nowIso: string | undefined,
  options: { syncWaitMs?: number } = {},
): BudgetResult | PendingAnswer {
  const { syncWaitMs } = options;
  if (syncWaitMs === undefined) {
    // A caller without a step driver cannot wait asynchronously: it takes a thread even past the pool size.
    const w = idle.pop() ?? startWorker();
    busy += 1;
    if (Atomics.wait(w.state, 1, 0, STARTUP_MS) === 'timed-out')
      return finish(w, giveUp(w, 'the FEEL worker did not start'));
    return finish(w, waitSync(w, post(w, expression, context, nowIso), budgetMs())!);
  }
  // The two late posts below read `context` after this returns: a pending answer ends the caller's
  // pass at once (FeelSession), so nothing changes the context meanwhile.
  const w = idle.length > 0 ? idle.pop()! : busy < maxWorkers() ? startWorker() : undefined;
  if (!w) return { pending: true, settled: whenFree().then(() => settleInWorker(expression, context, nowIso)) };
  busy += 1;
  if (Atomics.load(w.state, 1) === 0) {
    const settled = started(w).then(() => waitAsync(w, post(w, expression, context, nowIso)));
    return { pending: true, settled: settled.then((result) => finish(w, result)) };
  }
  const call = post(w, expression, context, nowIso);
  const quick = waitSync(w, call, Math.min(syncWaitMs, budgetMs()), true);
  if (quick) return finish(w, quick);
  return { pending: true, settled: waitAsync(w, call).then((result) => finish(w, result)) };
}

/** The same evaluation, waited for asynchronously whatever it takes (within the budget). */
function settleInWorker(
  expression: string,
  context: Record<string, unknown>,
  nowIso: string | undefined,
): Promise<BudgetResult> {
  const answer = evaluateInWorker(expression, context, nowIso, { syncWaitMs: 0 });
  return 'pending' in answer ? answer.settled : Promise.resolve(answer);
}

interface Call {
  answered: number;
  deadline: number;
}

function post(w: BudgetWorker, expression: string, context: Record<string, unknown>, nowIso: string | undefined): Call {
  const answered = Atomics.load(w.state, 0);
  w.worker.postMessage({ expression, context, nowIso });
  return { answered, deadline: performance.now() + budgetMs() };
}

/** Waits at most `waitMs`; undefined when `soft` and the worker is still busy, otherwise an answer. */
function waitSync(w: BudgetWorker, call: Call, waitMs: number, soft = false): BudgetResult | undefined {
  const until = Math.min(call.deadline, performance.now() + waitMs);
  while (Atomics.load(w.state, 0) === call.answered) {
    const left = until - performance.now();
    if (left <= 0 || Atomics.wait(w.state, 0, call.answered, left) === 'timed-out') {
      if (soft && performance.now() < call.deadline) return undefined;
      return overBudget(w);
    }
  }
  return reply(w);
}

async function waitAsync(w: BudgetWorker, call: Call): Promise<BudgetResult> {
  while (Atomics.load(w.state, 0) === call.answered) {
    if (!w.alive)
      return {
        ...giveUp(w, 'the FEEL worker stopped: the expression ran out of its 256 MB of memory'),
        overBudget: true,
      };
    const left = call.deadline - performance.now();
    if (left <= 0 || (await waitFor(w.state, 0, call.answered, left)) === 'timed-out') return overBudget(w);
  }
  return reply(w);
}

async function started(w: BudgetWorker): Promise<void> {
  await waitFor(w.state, 1, 0, STARTUP_MS);
}

/**
 * Atomics.waitAsync, holding the process open meanwhile: the workers are unref'd (an idle one must
 * not keep the engine alive), and a pending wait alone does not count as work for the event loop.
 */
async function waitFor(state: Int32Array, index: number, value: number, timeoutMs: number): Promise<string> {
  const wait = waitAsyncOn(state, index, value, timeoutMs);
  if (!wait.async) return wait.value;
  const keepAlive = setTimeout(() => {}, timeoutMs + 1_000);
  try {
    return await wait.value;
  } finally {
    clearTimeout(keepAlive);
  }
}

function reply(w: BudgetWorker): BudgetResult {
  return (
    (receiveMessageOnPort(w.replies)?.message as BudgetResult | undefined) ??
    giveUp(w, 'the FEEL worker gave no answer')
  );
}

function overBudget(w: BudgetWorker): BudgetResult {
  return { ...giveUp(w, `the expression did not finish within its time budget of ${budgetMs()} ms`), overBudget: true };
}

function giveUp(w: BudgetWorker, message: string): { ok: false; message: string } {
  w.alive = false;
  void w.worker.terminate();
  w.replies.close();
  // A fresh thread loads feelin in the background, so the next expression does not wait for that.
  if (idle.length === 0 && busy <= maxWorkers()) idle.push(startWorker());
  return { ok: false, message };
}

/** Hands the worker back (if it is still usable) and lets the next waiting evaluation in. */
function finish(w: BudgetWorker, result: BudgetResult): BudgetResult {
  busy -= 1;
  if (w.alive) idle.push(w);
  waiting.shift()?.();
  return result;
}

function whenFree(): Promise<void> {
  return new Promise((resolve) => waiting.push(resolve));
}

function startWorker(): BudgetWorker {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: { state, port: port2 },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  });
  // The engine must be able to exit while the worker idles.
  worker.unref();
  port1.unref();
  const started: BudgetWorker = { worker, state, replies: port1, alive: true };
  worker.on('error', () => {
    // Out of memory or a crash: wake whoever waits on it.
    started.alive = false;
    Atomics.notify(state, 0);
    const index = idle.indexOf(started);
    if (index >= 0) idle.splice(index, 1);
  });
  return started;
}
