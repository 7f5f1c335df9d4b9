/**
 * A token bucket per BPMN process id for instances started by timer start events. A start that
 * finds the bucket empty is not dropped: the caller moves its timer to when the next token is due.
 * Buckets live in this engine process, so N engine processes allow N times the rate.
 */
export class StartRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #delayed = new Map<string, number>();

  constructor(
    readonly startsPerSecond: number,
    readonly burst: number,
  ) {}

  /** Takes a token for one start of `bpmnProcessId` at `nowMs`; returns 0, or how many ms until one is due. */
  take(bpmnProcessId: string, nowMs: number): number {
    const bucket = this.#buckets.get(bpmnProcessId) ?? { tokens: this.burst, at: nowMs };
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + (Math.max(0, nowMs - bucket.at) * this.startsPerSecond) / 1000,
    );
    bucket.at = nowMs;
    this.#buckets.set(bpmnProcessId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    this.#delayed.set(bpmnProcessId, (this.#delayed.get(bpmnProcessId) ?? 0) + 1);
    return Math.ceil(((1 - bucket.tokens) * 1000) / this.startsPerSecond);
  }

  /** Starts delayed so far, by BPMN process id (for metrics). */
  delayed(): ReadonlyMap<string, number> {
    return this.#delayed;
  }
}
