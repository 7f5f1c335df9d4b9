/**
 * One LISTEN connection per engine process, shared by the job worker, the timer loop,
 * long-polling `activateJobs` and the webhook route's cache. For waiters, notifications only shorten
 * waits: every waiter also polls, so a dropped connection or a missed NOTIFY costs latency, never
 * correctness. A cache that is invalidated by notifications asks `listening()` first: it may only
 * keep what it read while the LISTEN is in place, and only for as long as the same connection is.
 */
import type { Knex } from 'knex';
import type pg from 'pg';
import type { Logger } from '../nodes/types.ts';
import { FailureLog } from '../telemetry/failure-log.ts';
import { CHANNELS } from '../store/notify.ts';

type Listener = (channel: string, payload: string) => void;

const ALL_CHANNELS: readonly string[] = Object.values(CHANNELS);

export class Notifications {
  readonly #db: Knex;
  readonly #logger: Logger;
  readonly #listeners = new Map<Listener, ReadonlySet<string>>();
  /** Channels some listener asked for: LISTENed on the connection (never dropped again). */
  readonly #channels = new Set<string>();
  /** Channels whose LISTEN completed on the current connection (empty while there is none). */
  readonly #active = new Set<string>();
  /** Counts connections made and lost: nothing heard under one epoch covers another. */
  #epoch = 0;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #failures: FailureLog;

  constructor(db: Knex, logger: Logger) {
    this.#db = db;
    this.#logger = logger;
    this.#failures = new FailureLog(logger, {
      failed: 'LISTEN connection lost; polling until it is back',
      recovered: 'LISTEN connection back',
    });
  }

  /**
   * Subscribes to `channels` (default: all); returns the unsubscribe function. Connects lazily on
   * first use, and LISTENs to a channel only once someone asks for it: a worker never hears about
   * every instance that ends, which costs a wake-up per ended instance in every process.
   */
  on(listener: Listener, channels: readonly string[] = ALL_CHANNELS): () => void {
    this.#listeners.set(listener, new Set(channels));
    const fresh = channels.filter((channel) => !this.#channels.has(channel));
    for (const channel of fresh) this.#channels.add(channel);
    if (this.#client && fresh.length > 0) void this.#listen(this.#client, fresh);
    // While the connection is away, the scheduled reconnect (every second) tries again, not every wait.
    else if (!this.#retry) void this.connect();
    return () => this.#listeners.delete(listener);
  }

  async #listen(client: pg.Client, channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      await client.query(`LISTEN ${channel}`).then(
        () => client === this.#client && this.#active.add(channel),
        // A LISTEN cut short by close() (a start that failed, a shutdown) is no failure.
        (error: unknown) => !this.#closed && this.#logger.warn({ err: error, channel }, 'LISTEN failed'),
      );
    }
  }

  /**
   * The current connection's epoch while `channel` is LISTENed on it, else undefined (then
   * notifications on it can be missed). Equal epochs before and after a read mean that every change
   * committed after the read's snapshot will still be heard.
   */
  listening(channel: string): number | undefined {
    return this.#client && this.#active.has(channel) ? this.#epoch : undefined;
  }

  /** How many listeners (waits included) are subscribed to `channel` now: a test sees a loop parked on it. */
  listenerCount(channel: string): number {
    let count = 0;
    for (const channels of this.#listeners.values()) if (channels.has(channel)) count++;
    return count;
  }

  /**
   * Resolves after `ms`, or earlier when a notification passes `filter`, or when `signal` aborts.
   * Never rejects.
   */
  wait(
    ms: number,
    filter: (channel: string, payload: string) => boolean,
    signal?: AbortSignal,
    channels: readonly string[] = ALL_CHANNELS,
  ): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let off = () => {};
      const done = () => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      off = this.on((channel, payload) => {
        if (filter(channel, payload)) done();
      }, channels);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  connect(): Promise<void> {
    if (this.#closed || this.#client) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    try {
      const client = (await (
        this.#db.client as { acquireRawConnection(): Promise<pg.Client> }
      ).acquireRawConnection()) as pg.Client;
      if (this.#closed) {
        await client.end().catch(() => undefined);
        return;
      }
      client.on('notification', (message) => {
        for (const [listener, channels] of [...this.#listeners])
          if (channels.has(message.channel)) listener(message.channel, message.payload ?? '');
      });
      client.on('error', (error) => this.#lost(client, error));
      client.on('end', () => this.#lost(client));
      const listened = new Set(this.#channels);
      for (const channel of listened) await client.query(`LISTEN ${channel}`);
      this.#use(client, listened);
      this.#failures.succeeded();
      // Channels asked for while LISTEN ran above.
      const late = [...this.#channels].filter((channel) => !listened.has(channel));
      if (late.length > 0) await this.#listen(client, late);
    } catch (error) {
      this.#failures.failed(error, 'warn');
      this.#scheduleReconnect();
    }
  }

  #lost(client: pg.Client, error?: unknown): void {
    if (this.#client !== client) return;
    this.#use(undefined);
    if (this.#closed) return;
    this.#failures.failed(error ?? new Error('the LISTEN connection ended'), 'warn');
    this.#scheduleReconnect();
  }

  /** Makes `client` (or none) the connection, with `listened` active on it: a new epoch. */
  #use(client: pg.Client | undefined, listened: Iterable<string> = []): void {
    this.#client = client;
    this.#active.clear();
    for (const channel of listened) this.#active.add(channel);
    this.#epoch++;
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.connect();
    }, 1_000);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#connecting;
    const client = this.#client;
    this.#use(undefined);
    this.#listeners.clear();
    if (client) await client.end().catch(() => undefined);
  }
}
