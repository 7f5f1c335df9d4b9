/**
 * Published message ids (`message_ids`): a publish repeating a remembered id is a duplicate, a
 * sender's retry whose first answer was lost, and changes nothing.
 *
 * The id is claimed in the same transaction as what the message did (correlated to an instance,
 * started one, was buffered), so either both commit or neither: a crash in between leaves neither,
 * and the retry delivers the message. Two publishes of one id at once serialize on the primary key;
 * the second sees the first's row and rolls its own work back.
 */
import type { Db } from './rows.ts';

/** What a published message did, remembered with its id. */
export interface MessageIdOutcome {
  /** The instance it was correlated to, or started, when published. */
  processInstanceId?: string;
  /** The `messages` row it was buffered as. */
  bufferedMessage?: string;
}

export interface MessageIdClaim {
  name: string;
  messageId: string;
  /** How long the id is remembered: at least the message's time to live. */
  rememberMs: number;
  /** The engine clock's time of the publish: `forget_at` runs from it. */
  now: Date;
}

/** The answer a duplicate gets: what the first publish did, as far as it is known now. */
export interface RememberedMessage {
  correlated: boolean;
  instanceId?: string;
}

/**
 * Claims the id in the caller's transaction. false: it is remembered (a duplicate) and the caller
 * must roll its work back. An id whose `forget_at` passed but was not swept yet is taken over.
 */
export async function claimMessageId(tx: Db, claim: MessageIdClaim, outcome: MessageIdOutcome): Promise<boolean> {
  const { rows } = await tx.raw(
    `INSERT INTO message_ids AS m (name, message_id, process_instance_id, buffered_message, forget_at)
     VALUES (?, ?, ?, ?, ?::timestamptz + make_interval(secs => ?))
     ON CONFLICT (name, message_id) DO UPDATE
        SET process_instance_id = excluded.process_instance_id, buffered_message = excluded.buffered_message,
            created_at = now(), forget_at = excluded.forget_at
      WHERE m.forget_at <= ?::timestamptz
     RETURNING m.name`,
    [
      claim.name,
      claim.messageId,
      outcome.processInstanceId ?? null,
      outcome.bufferedMessage ?? null,
      claim.now,
      claim.rememberMs / 1000,
      claim.now,
    ],
  );
  return (rows as unknown[]).length === 1;
}

/**
 * The remembered publish of this id at `now` (the engine clock's time), if any: a buffered message
 * that was correlated later counts as correlated.
 */
export async function findRememberedMessage(
  db: Db,
  name: string,
  messageId: string,
  now: Date,
): Promise<RememberedMessage | undefined> {
  const { rows } = await db.raw(
    `SELECT coalesce(m.process_instance_id, b.process_instance_id) AS instance_id
       FROM message_ids m LEFT JOIN messages b ON b.id = m.buffered_message AND b.state = 'correlated'
      WHERE m.name = ? AND m.message_id = ? AND m.forget_at > ?::timestamptz`,
    [name, messageId, now],
  );
  const row = (rows as { instance_id: string | null }[])[0];
  if (!row) return undefined;
  return row.instance_id ? { correlated: true, instanceId: row.instance_id } : { correlated: false };
}

/** Forgets ids whose time is up at `now`, the engine clock's time (the timer loop calls this now and then). */
export async function forgetMessageIds(db: Db, now: Date): Promise<number> {
  return db('message_ids').where('forget_at', '<=', now).delete();
}
