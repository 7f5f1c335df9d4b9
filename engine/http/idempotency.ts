/**
 * Idempotency keys (and webhook-id deduplication) on top of the `idempotency_keys` table.
 *
 * The first request with a key inserts an `in_flight` row (the primary key makes this a race-free
 * claim), runs, and stores its response. A repeat with the same request hash gets the stored
 * response; with another hash 422; while the first still runs 409. If the first request fails, its
 * row is deleted so nothing is left behind and the client may retry.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

export interface IdempotentResult extends StoredResponse {
  /** true when the response was stored by an earlier request with the same key. */
  replayed: boolean;
}

/** SHA-256 over the parts that make two requests "the same request". */
export function requestHash(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex');
}

interface KeyRow {
  request_hash: string;
  state: 'in_flight' | 'completed';
  status_code: number | null;
  response: unknown;
}

/**
 * Runs `execute` at most once per (scope, key). `execute` returns the response to store and the
 * instance it created (kept for people reading the table).
 */
export async function withIdempotencyKey(
  db: Knex,
  claim: { scope: string; key: string; requestHash: string },
  execute: () => Promise<StoredResponse & { instanceId?: string }>,
): Promise<IdempotentResult> {
  const { scope, key } = claim;
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await db('idempotency_keys')
      .insert({ scope, key, request_hash: claim.requestHash, state: 'in_flight' })
      .onConflict(['scope', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length === 1) return { ...(await runClaimed(db, claim, execute)), replayed: false };

    const row = (await db('idempotency_keys').where({ scope, key }).first('request_hash', 'state', 'status_code', 'response')) as KeyRow | undefined;
    if (!row) continue; // the first request failed and released the key between our insert and select
    if (row.request_hash !== claim.requestHash) {
      throw new OperonError('OPERON_ERR_IDEMPOTENCY_MISMATCH', 'This Idempotency-Key was used before with a different request', { details: { idempotencyKey: key } });
    }
    if (row.state === 'in_flight') {
      throw new OperonError('OPERON_ERR_IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed; retry later', { details: { idempotencyKey: key } });
    }
    return { statusCode: row.status_code ?? 200, body: row.response, replayed: true };
  }
  throw new OperonError('OPERON_ERR_IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is being retried concurrently; retry later', { details: { idempotencyKey: key } });
}

async function runClaimed(
  db: Knex,
  claim: { scope: string; key: string },
  execute: () => Promise<StoredResponse & { instanceId?: string }>,
): Promise<StoredResponse> {
  let result: StoredResponse & { instanceId?: string };
  try {
    result = await execute();
  } catch (error) {
    await db('idempotency_keys').where({ scope: claim.scope, key: claim.key, state: 'in_flight' }).delete();
    throw error;
  }
  await db('idempotency_keys')
    .where({ scope: claim.scope, key: claim.key })
    .update({
      state: 'completed',
      status_code: result.statusCode,
      response: JSON.stringify(result.body),
      instance_id: result.instanceId ?? null,
      completed_at: db.fn.now(),
    });
  return { statusCode: result.statusCode, body: result.body };
}

/**
 * Forgets keys older than `retentionMs` (a repeat after that starts a new instance, as with any
 * idempotency window). Also clears `in_flight` rows left by a server that died mid-request.
 */
export async function deleteExpiredIdempotencyKeys(db: Knex, retentionMs: number): Promise<number> {
  return db('idempotency_keys')
    .where('created_at', '<', db.raw(`now() - make_interval(secs => ?)`, [retentionMs / 1000]))
    .delete();
}
