/**
 * LISTEN/NOTIFY channels, and how wake-ups are sent.
 *
 * A NOTIFY inside a step's transaction would take PostgreSQL's global notification-queue lock at
 * commit and hold it across the commit's WAL flush, so every step that notifies would commit one
 * after another (no group commit): measured at about 70 steps/s on the benchmark machine. So steps
 * run through `inTransaction`, which collects the transaction's NOTIFYs and sends them after it
 * committed, coalesced with those of concurrent steps, in a small transaction of their own with
 * `synchronous_commit = off` (a notification has no durable content). A wake-up still only
 * follows a committed step; one lost in a crash between the two costs latency only, since every
 * waiter also polls.
 */
import type { Knex } from 'knex';
import type { Db } from './rows.ts';

export const CHANNELS = {
  /** Payload: the job type that became claimable. */
  jobs: 'operon_jobs',
  /** Payload: the id of a job that was cancelled (a worker running it aborts the node). */
  jobCancelled: 'operon_job_cancelled',
  /** Payload: ISO due time of a newly scheduled timer. */
  timers: 'operon_timers',
  /** Payload: instance id whose state changed (ended, or waits on something new). */
  instances: 'operon_instances',
  /**
   * Payload: the bpmn_process_id whose definitions or webhook configuration changed; empty after a
   * TRUNCATE (everything changed). Sent by triggers (migrations/000008), whoever makes the change.
   */
  webhookTargets: 'operon_webhook_targets',
} as const;

type Pending = Map<string, Set<string>>;

/** Notifications asked for inside an `inTransaction` transaction, by transaction. */
const collected = new WeakMap<object, Pending>();
/** Notifications waiting to be sent, by knex instance (pool). */
const outgoing = new WeakMap<object, { pending: Pending; flushing: Promise<void> | undefined }>();

/**
 * Asks for a NOTIFY. Inside `inTransaction` it is sent after commit; on any other connection or
 * transaction it is issued at once (and delivered by PostgreSQL at that transaction's commit).
 */
export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  const pending = collected.get(db);
  if (pending) {
    add(pending, channel, payload);
    return;
  }
  await db.raw('SELECT pg_notify(?, ?)', [channel, payload]);
}

/**
 * Runs `work` in one transaction and sends the notifications it asked for once it committed (never
 * when it rolled back). Resolves after they were sent, so a caller that awaits a step can rely on
 * its wake-ups being out.
 */
export async function inTransaction<T>(db: Knex, work: (tx: Knex.Transaction) => Promise<T>): Promise<T> {
  const pending: Pending = new Map();
  const result = await db.transaction(async (tx) => {
    collected.set(tx, pending);
    return work(tx);
  });
  if (pending.size > 0) await send(db, pending);
  return result;
}

/** Sends wake-ups for work that committed outside `inTransaction` (a single autocommit statement). */
export async function notifyAfterCommit(
  db: Knex,
  notifications: readonly (readonly [string, string])[],
): Promise<void> {
  if (notifications.length === 0) return;
  const pending: Pending = new Map();
  for (const [channel, payload] of notifications) add(pending, channel, payload);
  await send(db, pending);
}

function add(pending: Pending, channel: string, payload: string): void {
  let payloads = pending.get(channel);
  if (!payloads) pending.set(channel, (payloads = new Set()));
  payloads.add(payload);
}

/** Queues notifications for `db`; concurrent callers share one flush (duplicates sent once). */
async function send(db: Knex, pending: Pending): Promise<void> {
  let queue = outgoing.get(db);
  if (!queue) outgoing.set(db, (queue = { pending: new Map(), flushing: undefined }));
  for (const [channel, payloads] of pending) for (const payload of payloads) add(queue.pending, channel, payload);
  // Wait for a flush in progress, then flush whatever is queued (ours may already be gone with another caller's flush).
  while (queue.pending.size > 0) {
    if (queue.flushing) {
      await queue.flushing;
      continue;
    }
    const batch = queue.pending;
    queue.pending = new Map();
    queue.flushing = flush(db, batch).finally(() => (queue.flushing = undefined));
    await queue.flushing;
  }
}

async function flush(db: Knex, batch: Pending): Promise<void> {
  const channels: string[] = [];
  const payloads: string[] = [];
  for (const [channel, values] of batch)
    for (const value of values) {
      channels.push(channel);
      payloads.push(value);
    }
  try {
    // One autocommit statement; set_config(..., true) lasts until its own commit.
    await db.raw(
      `SELECT set_config('synchronous_commit', 'off', true), pg_notify(c, p) FROM unnest(?::text[], ?::text[]) AS n(c, p)`,
      [channels, payloads],
    );
  } catch {
    // Waiters poll: a notification that could not be sent costs latency only.
  }
}
