/**
 * Whether PostgreSQL can be reached, as far as this process knows, so that the API can answer 503
 * with `Retry-After` at once instead of letting each request find out (a pool waiting for
 * connections that cannot be made, a 500 much later).
 *
 * Nothing is probed while all goes well. A request that fails with a connection error (or a start
 * that waits unusually long) makes it probe at once, on a connection of its own with a short
 * timeout: the pool may hold broken connections, and a busy pool must not look like a dead server.
 * A probe that fails twice in a row (the second with five times the timeout, so a slow machine is not
 * taken for a dead server) marks the database unavailable, and it is probed every `probeIntervalMs`
 * until it answers again.
 */
import pg from 'pg';
import { isTransientDatabaseError } from './transient-error.ts';

export interface DatabaseAvailabilityOptions {
  /**
   * Connection settings (the knex pool's `connection`: a connection string, pg's config object, or
   * the provider a host list uses, which picks the read-write host and is resolved for each probe).
   */
  connection: string | pg.ClientConfig | (() => Promise<pg.ClientConfig>);
  /** Connect + `SELECT 1` must finish within this long. Default 1,000 ms. */
  probeTimeoutMs?: number;
  /** While unavailable, probe this often. Default 500 ms. */
  probeIntervalMs?: number;
  onChange?: (available: boolean, error?: unknown) => void;
}

export class DatabaseAvailability {
  readonly #options: Required<Omit<DatabaseAvailabilityOptions, 'onChange'>> &
    Pick<DatabaseAvailabilityOptions, 'onChange'>;
  #available = true;
  #probing: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: DatabaseAvailabilityOptions) {
    this.#options = { probeTimeoutMs: 1_000, probeIntervalMs: 500, ...options };
  }

  /** false from a failed probe until a probe succeeds again. */
  get available(): boolean {
    return this.#available;
  }

  /** A request failed: a connection error makes it probe now. */
  report(error: unknown): void {
    if (isTransientDatabaseError(error)) this.suspect();
  }

  /** Something looks wrong (an error, a slow start): probe now unless a probe is under way. */
  suspect(): void {
    if (this.#closed || this.#probing || !this.#available) return;
    this.#probing = this.#probeAndRecord().finally(() => {
      this.#probing = undefined;
    });
  }

  /** Resolves once the current probe (if any) is done; for tests and shutdown. */
  async settled(): Promise<void> {
    await this.#probing;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  async #probeAndRecord(): Promise<void> {
    let failure = await this.#probe(this.#options.probeTimeoutMs);
    // A server that refuses fails the second probe at once too; one that is only slow (a machine at
    // load average 30 forks a backend in over a second) gets five times as long before the API
    // starts answering 503 to everyone.
    if (failure !== undefined && this.#available && !this.#closed) {
      failure = await this.#probe(this.#options.probeTimeoutMs * 5);
    }
    if (this.#closed) return;
    const available = failure === undefined;
    if (available !== this.#available) {
      this.#available = available;
      this.#options.onChange?.(available, failure);
    }
    if (!available) {
      this.#retry = setTimeout(() => {
        this.#probing = this.#probeAndRecord().finally(() => {
          this.#probing = undefined;
        });
      }, this.#options.probeIntervalMs);
      this.#retry.unref();
    }
  }

  /** undefined when PostgreSQL answered `SELECT 1` in time, else why not. */
  async #probe(probeTimeoutMs: number): Promise<unknown> {
    const { connection } = this.#options;
    let config: pg.ClientConfig;
    try {
      config =
        typeof connection === 'function'
          ? await connection()
          : typeof connection === 'string'
            ? { connectionString: connection }
            : connection;
    } catch (error) {
      return error ?? new Error('probe failed');
    }
    const { expirationChecker: _, ...settings } = config as pg.ClientConfig & { expirationChecker?: unknown };
    config = settings;
    const client = new pg.Client({
      ...config,
      application_name: 'operon-probe',
      connectionTimeoutMillis: probeTimeoutMs,
      query_timeout: probeTimeoutMs,
    });
    client.on('error', () => undefined); // a connection dying after the probe is not this probe's concern
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      return error ?? new Error('probe failed');
    } finally {
      client.end().catch(() => undefined);
    }
  }
}
