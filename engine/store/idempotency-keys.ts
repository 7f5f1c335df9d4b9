/**
 * Idempotency keys written in the transaction that starts their instance (engine/http/idempotency.ts
 * reads them back for a retry).
 *
 * A key row exists exactly when its instance was committed: there is no "in flight" row a dead
 * server could leave behind. While the starting transaction is open, PostgreSQL's unique index on
 * (scope, key) is the claim: a second start with the same key waits on the first one's
 * transaction and then either finds the key taken (the first committed: it answers with the first
 * instance) or inserts it itself (the first rolled back, or its server or connection died, which
 * rolls it back too). So a retry after any crash proceeds, and never starts a second instance.
 */
import type { Db } from './rows.ts';

/** What a start with an Idempotency-Key (or webhook-id) stores for the retries of its caller. */
export interface IdempotencyRecord {
  /** What the key belongs to, e.g. `webhook:order-routing` or `start`. */
  scope: string;
  key: string;
  /** SHA-256 of the request: a retry with another request is refused (422). */
  requestHash: string;
  /** HTTP status of the first answer (201, 202), given to every retry too. Its body is `{ instanceId }`. */
  statusCode: number;
}

/** A start was not carried out: another start with the same key committed first. */
export class IdempotencyKeyTaken extends Error {
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(`Idempotency key ${scope}/${key} belongs to an instance started by another request`);
    this.name = 'IdempotencyKeyTaken';
  }
}

/**
 * Inserts the key rows of starts about to be written, in their transaction; returns the instance
 * ids whose key another committed start holds (those starts must not be written). Rows go in
 * (scope, key) order, so two transactions with overlapping keys wait for each other in the same
 * order and never deadlock. Two starts with the same key must not be in one call.
 */
export async function claimIdempotencyKeys(
  tx: Db,
  starts: { instanceId: string; idempotency: IdempotencyRecord }[],
): Promise<Set<string>> {
  if (starts.length === 0) return new Set();
  const rows = starts
    .map(({ instanceId, idempotency }) => ({
      scope: idempotency.scope,
      key: idempotency.key,
      request_hash: idempotency.requestHash,
      status_code: idempotency.statusCode,
      instance_id: instanceId,
    }))
    .sort((a, b) => (a.scope === b.scope ? compare(a.key, b.key) : compare(a.scope, b.scope)));
  const { rows: inserted } = (await tx.raw(
    `INSERT INTO idempotency_keys (scope, key, request_hash, state, status_code, response, instance_id, completed_at)
     SELECT scope, key, request_hash, 'completed', status_code, jsonb_build_object('instanceId', instance_id), instance_id, now()
       FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (scope text, key text, request_hash text, status_code int, instance_id uuid))
            WITH ORDINALITY AS r(scope, key, request_hash, status_code, instance_id, ord)
      ORDER BY ord
     ON CONFLICT (scope, key) DO NOTHING
     RETURNING instance_id`,
    [JSON.stringify(rows)],
  )) as { rows: { instance_id: string }[] };
  const claimed = new Set(inserted.map((row) => row.instance_id));
  return new Set(starts.map((start) => start.instanceId).filter((id) => !claimed.has(id)));
}

/** Code-point order, the same in every process (localeCompare is not). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
