/**
 * Idempotency keys (and webhook-id deduplication) on top of the `idempotency_keys` table.
 *
 * The key row is written by the start itself, in the transaction that inserts the instance
 * (engine/store/idempotency-keys.ts): either both exist or neither. So a request whose server
 * died, or whose database went away, before its start committed left no trace and its retry
 * starts the instance; one that died after the commit left both, and its retry gets the stored
 * answer (same status, same `instanceId`). A repeat with the same request hash gets the stored
 * response; with another hash 422. A repeat that arrives while the first is still committing
 * waits for that transaction and then gets its response: there is no in-flight state to wait out.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import { IdempotencyKeyTaken } from '../store/idempotency-keys.ts';

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

export interface IdempotentResult extends StoredResponse {
  /** true when the response was stored by an earlier request with the same key. */
  replayed: boolean;
}

export interface IdempotencyClaim {
  scope: string;
  key: string;
  requestHash: string;
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

/** The stored response for the key; 422 when it was used with another request; undefined when unused. */
async function storedResponse(db: Knex, claim: IdempotencyClaim): Promise<StoredResponse | undefined> {
  const { scope, key } = claim;
  const row = (await db('idempotency_keys')
    .where({ scope, key })
    .first('request_hash', 'state', 'status_code', 'response')) as KeyRow | undefined;
  if (row?.state !== 'completed') return undefined;
  if (row.request_hash !== claim.requestHash) {
    throw new OperonError(
      'OPERON_ERR_IDEMPOTENCY_MISMATCH',
      'This Idempotency-Key was used before with a different request',
      { details: { idempotencyKey: key } },
    );
  }
  return { statusCode: row.status_code ?? 200, body: row.response };
}

/**
 * Runs `execute` at most once per (scope, key) and answers repeats with its response. `execute`
 * must pass the claim to the start (`StartInstanceOptions.idempotency`), which writes the key row
 * in its own transaction or rejects with `IdempotencyKeyTaken` when another request committed the
 * key first; then that request's response is the answer.
 */
export async function withIdempotencyKey(
  db: Knex,
  claim: IdempotencyClaim,
  execute: (claim: IdempotencyClaim) => Promise<StoredResponse>,
): Promise<IdempotentResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const stored = await storedResponse(db, claim);
    if (stored) return { ...stored, replayed: true };
    try {
      return { ...(await execute(claim)), replayed: false };
    } catch (error) {
      if (!(error instanceof IdempotencyKeyTaken)) throw error;
      // Taken means committed: the next look finds the row (unless the retention sweep just removed it).
    }
  }
  throw new OperonError(
    'OPERON_ERR_IDEMPOTENCY_IN_FLIGHT',
    'The row of this Idempotency-Key was removed while the request ran (retention sweep); retry',
    { details: { idempotencyKey: claim.key } },
  );
}

/**
 * Forgets keys older than `retentionMs` (a repeat after that starts a new instance, as with any
 * idempotency window). Also clears `in_flight` rows written by servers before migration 000010.
 */
export async function deleteExpiredIdempotencyKeys(db: Knex, retentionMs: number): Promise<number> {
  return db('idempotency_keys')
    .where('created_at', '<', db.raw(`now() - make_interval(secs => ?)`, [retentionMs / 1000]))
    .delete();
}
