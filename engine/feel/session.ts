/**
 * FEEL answers for one runtime step that is computed in passes, so that a slow expression never
 * holds the engine's thread.
 *
 * A step is pure and synchronous, but an expression that runs in the worker may take up to the
 * whole budget. The session waits only briefly for each answer; when one takes longer, the pass is
 * abandoned (`pending`), the driver awaits the answer with the event loop free (`settle`), and runs
 * the step again from its input. A step is deterministic, so the n-th worker evaluation of the next
 * pass is the same expression on the same data: it is answered from `answers` without the worker.
 */
import { evaluateInWorker, type BudgetResult } from './budget.ts';

/** How long the engine's thread waits for a worker answer before the pass is abandoned. */
const SYNC_WAIT_MS = 20;

/** The answer given to the rest of an abandoned pass: it ends the pass early and is never kept. */
export const PENDING: BudgetResult = { ok: false, message: 'the step is waiting for a FEEL answer' };

export class FeelSession {
  private readonly answers: { expression: string; result: BudgetResult }[] = [];
  private cursor = 0;
  private waitingFor: Promise<void> | undefined;

  /** True once an answer of this pass is not there yet: the pass is void, stop it early. */
  get pending(): boolean {
    return this.waitingFor !== undefined;
  }

  /** Evaluates in the worker, or answers from an earlier pass of the same step. */
  evaluate(expression: string, context: Record<string, unknown>, nowIso: string | undefined): BudgetResult {
    if (this.waitingFor) return PENDING;
    const index = this.cursor++;
    const known = this.answers[index];
    if (known?.expression === expression) return known.result;
    this.answers.length = index;
    const answer = evaluateInWorker(expression, context, nowIso, { syncWaitMs: SYNC_WAIT_MS });
    if (!('pending' in answer)) {
      this.answers[index] = { expression, result: answer };
      return answer;
    }
    this.waitingFor = answer.settled.then((result) => {
      this.answers[index] = { expression, result };
    });
    return PENDING;
  }

  /** Waits (without blocking) for the answer the last pass lacked, and rewinds for the next pass. */
  async settle(): Promise<void> {
    const waiting = this.waitingFor;
    this.waitingFor = undefined;
    this.cursor = 0;
    await waiting;
  }
}
