/**
 * Group commit for requests that each need a transaction (job completions, instance starts).
 *
 * A request that finds no batch committing goes out at once, alone: no timer, no added latency when
 * the engine is quiet. Requests that arrive while a batch commits wait, and the next batch takes all
 * of them (up to `maxBatch`) in one transaction: under load the round trips and the commit's WAL
 * flush are shared, which is what PostgreSQL's own group commit does for concurrent transactions,
 * one level up. A second batch (up to `maxInFlight`) starts beside a committing one only when a full
 * batch is waiting: then the two overlap (one computes while PostgreSQL writes the other) without
 * splitting the work into smaller batches. Requests with the same `key` (the same instance) never
 * share a batch; the later one waits for the next.
 */
import type { Settled } from '../store/step-batch.ts';

export interface GroupCommitOptions<T, V = undefined> {
  /**
   * Runs one batch; returns one outcome per request, in order. A throw fails every request of the
   * batch: a batch function that can tell one bad request from the rest settles it alone instead
   * (engine/store/complete-jobs.ts retries a failed batch one by one itself).
   */
  run: (batch: T[]) => Promise<Settled<V>[]>;
  /** Requests that must not share a batch return the same key; undefined: may share with any. */
  key?: (request: T) => string | undefined;
  /** Most requests per transaction. Default 64. */
  maxBatch?: number;
  /**
   * Batches committing at the same time (each holds a pool connection); the ones beyond the first
   * start only when `maxBatch` requests wait. Default 1. Measured (BENCHMARKS.md): a second batch for
   * any waiting requests halved the batches and cost a fifth of the throughput at 64 jobs in flight;
   * a second one for full batches only gave a fifth more at 256.
   */
  maxInFlight?: number;
}

interface Waiting<T, V> {
  request: T;
  resolve: (value: V | undefined) => void;
  reject: (error: Error) => void;
}

export class GroupCommit<T, V = undefined> {
  readonly #options: Required<Pick<GroupCommitOptions<T, V>, 'run' | 'maxBatch' | 'maxInFlight'>> &
    GroupCommitOptions<T, V>;
  #queue: Waiting<T, V>[] = [];
  #inFlight = 0;

  constructor(options: GroupCommitOptions<T, V>) {
    this.#options = { maxBatch: 64, maxInFlight: 1, ...options };
  }

  /**
   * Resolves when the request's transaction committed, with the request's answer (`Settled.value`);
   * rejects with the request's own error.
   */
  submit(request: T): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#pump();
    });
  }

  /** Requests waiting for a batch (not those of a batch already committing). */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Rejects every waiting request with `error`. They never reached the database, so their callers
   * may be told "not done, retry": the backpressure answer when the database went away.
   */
  withdraw(error: Error): number {
    const withdrawn = this.#queue;
    this.#queue = [];
    for (const waiting of withdrawn) waiting.reject(error);
    return withdrawn.length;
  }

  #pump(): void {
    const { maxInFlight, maxBatch } = this.#options;
    while (
      this.#queue.length > 0 &&
      this.#inFlight < maxInFlight &&
      (this.#inFlight === 0 || this.#queue.length >= maxBatch)
    ) {
      const batch = this.#take();
      this.#inFlight++;
      this.#options
        .run(batch.map((waiting) => waiting.request))
        .then(
          (outcomes) =>
            batch.forEach((waiting, index) =>
              settle(waiting, outcomes[index] ?? { ok: false, error: new Error('no outcome for a batched request') }),
            ),
          (error: unknown) => batch.forEach((waiting) => waiting.reject(toError(error))),
        )
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }

  /** The oldest waiting requests with distinct keys, up to `maxBatch`; the rest keep their order. */
  #take(): Waiting<T, V>[] {
    const { key, maxBatch } = this.#options;
    const batch: Waiting<T, V>[] = [];
    const rest: Waiting<T, V>[] = [];
    const keys = new Set<string>();
    for (const waiting of this.#queue) {
      const k = key?.(waiting.request);
      if (batch.length >= maxBatch || (k !== undefined && keys.has(k))) rest.push(waiting);
      else {
        batch.push(waiting);
        if (k !== undefined) keys.add(k);
      }
    }
    this.#queue = rest;
    return batch;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function settle<T, V>(waiting: Waiting<T, V>, outcome: Settled<V>): void {
  if (outcome.ok) waiting.resolve(outcome.value);
  else waiting.reject(outcome.error);
}
