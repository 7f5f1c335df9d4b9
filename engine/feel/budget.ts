/**
 * A time budget for FEEL expressions that iterate (`for`, `some`, `every`): they run in a worker
 * thread while the caller waits synchronously (Atomics.wait) at most `OPERON_FEEL_BUDGET_MS`
 * (default 1000 ms), and so do the regular-expression built-ins (matches, replace, split) and any
 * expression over 2,000 characters. A runaway expression then becomes an incident instead of
 * hanging the engine; the worker is replaced. Short expressions without these run inline.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

// Regular-expression built-ins can backtrack catastrophically (ReDoS), so they count as iterating.
const ITERATION = /\b(for|some|every|matches|replace|split)\b/;
/** Longer expressions run in the worker too: feelin's parser is superlinear on deeply nested input. */
const INLINE_MAX_CHARS = 2_000;
/** Time a fresh worker may take to load feelin; not counted against an expression's budget. */
const STARTUP_MS = 30_000;

interface BudgetWorker {
  worker: Worker;
  state: Int32Array;
  replies: MessagePort;
}

let current: BudgetWorker | undefined;

/** Does this expression need the budget (can it iterate)? String literals do not count. */
export function mayIterate(expression: string): boolean {
  if (expression.length > INLINE_MAX_CHARS) return true;
  return ITERATION.test(expression.replace(/"(?:[^"\\]|\\.)*"/g, '""'));
}

function budgetMs(): number {
  const configured = Number(process.env.OPERON_FEEL_BUDGET_MS);
  return Number.isFinite(configured) && configured > 0 ? configured : 1000;
}

export type BudgetResult = { ok: true; value: unknown } | { ok: false; message: string };

/** Evaluates in the worker; gives up after the budget. `context` must be plain JSON data. */
export function evaluateWithBudget(expression: string, context: Record<string, unknown>, nowIso?: string): BudgetResult {
  const w = (current ??= startWorker());
  if (Atomics.wait(w.state, 1, 0, STARTUP_MS) === 'timed-out') return giveUp(w, 'the FEEL worker did not start');
  const answered = Atomics.load(w.state, 0);
  w.worker.postMessage({ expression, context, nowIso });
  const budget = budgetMs();
  const deadline = performance.now() + budget;
  while (Atomics.load(w.state, 0) === answered) {
    const left = deadline - performance.now();
    if (left <= 0 || Atomics.wait(w.state, 0, answered, left) === 'timed-out') {
      return giveUp(w, `the expression did not finish within its time budget of ${budget} ms`);
    }
  }
  const reply = receiveMessageOnPort(w.replies)?.message as BudgetResult | undefined;
  return reply ?? giveUp(w, 'the FEEL worker gave no answer');
}

function giveUp(w: BudgetWorker, message: string): BudgetResult {
  void w.worker.terminate();
  w.replies.close();
  if (current === w) current = undefined;
  return { ok: false, message };
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
  const started: BudgetWorker = { worker, state, replies: port1 };
  worker.on('error', () => {
    if (current === started) current = undefined;
  });
  return started;
}
