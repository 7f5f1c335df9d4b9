/**
 * The engine's clock: the one time source for everything it schedules and everything it compares
 * against a schedule. A timer's `due_at`, a job's `run_at` and `lease_expires_at`, a buffered
 * message's `expires_at` and a message id's `forget_at` are written from `clock.now()`, and the
 * queries that ask "is it due?" pass `clock.now()` as a parameter instead of PostgreSQL's `now()`,
 * so writer and reader always agree, even when several engine processes share a database.
 *
 * Production uses `systemClock`. Tests use a `ManualClock` and move it with `advance()`: the worker
 * hears the move and fires what came due at once, so no test sleeps for engine time.
 */

export interface Clock {
  /** The current engine time. */
  now(): Date;
  /**
   * Calls `listener` whenever the clock jumps (a manual clock moved by a test), so waiting loops
   * re-check what came due instead of sleeping out a wait computed from the old time. A clock that
   * only runs forward on its own needs no such call. Returns the unsubscribe function.
   */
  onJump?(listener: () => void): () => void;
}

/** The machine's clock. Engine processes sharing a database need their clocks in sync (NTP). */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that stands still until told to move: `advance(ms)` or `set(date)`. Starts at `start`
 * (default: the system time when it is created), so rows it writes sit next to real ones.
 */
export class ManualClock implements Clock {
  #ms: number;
  readonly #listeners = new Set<() => void>();

  constructor(start: Date = new Date()) {
    this.#ms = start.getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  /** Moves the clock forward by `ms` and wakes whoever waits on it. */
  advance(ms: number): Date {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward (advance by ${ms} ms)`);
    return this.set(new Date(this.#ms + ms));
  }

  /** Moves the clock to `date` (not backwards) and wakes whoever waits on it. */
  set(date: Date): Date {
    if (date.getTime() < this.#ms) throw new RangeError(`a clock only moves forward (to ${date.toISOString()})`);
    this.#ms = date.getTime();
    for (const listener of [...this.#listeners]) listener();
    return this.now();
  }

  onJump(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
