import type { Logger } from '../nodes/types.ts';

/** How often a failure that keeps happening is logged again while it lasts. */
export const REPEAT_LOG_MS = 30_000;

/**
 * Logs a failure that a loop retries on its own (the database away, a network cut) once when it
 * starts, then once every REPEAT_LOG_MS with the number of failures since, and once when the loop
 * succeeds again, with how many times and how long it failed. A worker polls every second from
 * several loops: without this, a one-minute database outage wrote hundreds of identical errors.
 */
export class FailureLog {
  readonly #logger: Logger;
  readonly #message: string;
  readonly #recovered: string;
  readonly #fields: Record<string, unknown>;
  #since: number | undefined;
  #loggedAt = 0;
  #failures = 0;

  /** `messages.failed` on failures, `messages.recovered` on the first success after them. */
  constructor(logger: Logger, messages: { failed: string; recovered: string }, fields: Record<string, unknown> = {}) {
    this.#logger = logger;
    this.#message = messages.failed;
    this.#recovered = messages.recovered;
    this.#fields = fields;
  }

  failed(error: unknown, level: 'warn' | 'error' = 'error'): void {
    const now = Date.now();
    this.#failures++;
    if (this.#since === undefined) {
      this.#since = now;
      this.#loggedAt = now;
      this.#logger[level]({ ...this.#fields, err: error }, this.#message);
    } else if (now - this.#loggedAt >= REPEAT_LOG_MS) {
      this.#loggedAt = now;
      this.#logger[level](
        { ...this.#fields, err: error, failures: this.#failures, failingMs: now - this.#since },
        `${this.#message} (still failing)`,
      );
    }
  }

  succeeded(): void {
    if (this.#since === undefined) return;
    this.#logger.info(
      { ...this.#fields, failures: this.#failures, failingMs: Date.now() - this.#since },
      this.#recovered,
    );
    this.#since = undefined;
    this.#failures = 0;
  }
}
