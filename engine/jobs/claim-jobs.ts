import type { Db, JobRow } from '../store/rows.ts';

export interface ClaimRequest {
  /** Exact task types to claim. */
  types?: string[];
  /** Node names: claims `name` and every `name:<anything>` type. */
  nodeNames?: string[];
  worker: string;
  maxJobs: number;
  lockMs: number;
  /** The engine clock's time: what is due is compared with it, and the lease runs from it. */
  now: Date;
}

/**
 * Leases up to `maxJobs` claimable jobs: ready ones whose backoff has passed, and leased ones whose
 * lease expired (their worker died). SKIP LOCKED lets many workers claim concurrently without
 * waiting on each other; each claim increments `attempt`, which fences completion.
 *
 * Run it on the pool, never inside a caller's transaction: the claim commits with
 * `synchronous_commit = off`, which saves a WAL flush on the way from a new job to a running node.
 * That is safe because a claim lost in a database crash only makes the job claimable again, which
 * a worker's death does too (at-least-once); the completion that follows is fenced on this claim's
 * attempt and commits synchronously.
 */
export async function claimJobs(db: Db, request: ClaimRequest): Promise<JobRow[]> {
  const types = request.types ?? [];
  const names = request.nodeNames ?? [];
  if (request.maxJobs <= 0 || (types.length === 0 && names.length === 0)) return [];
  const { rows } = await db.raw(
    `WITH claimable AS (
       SELECT id FROM jobs
       WHERE ((state = 'ready' AND run_at <= ?::timestamptz) OR (state = 'leased' AND lease_expires_at < ?::timestamptz))
         AND (type = ANY(?::text[]) OR type = ANY(?::text[]) OR split_part(type, ':', 1) = ANY(?::text[]))
       ORDER BY run_at, created_at
       LIMIT ?
       FOR UPDATE SKIP LOCKED
     )
     UPDATE jobs AS j
        SET state = 'leased', owner = ?, attempt = j.attempt + 1,
            lease_expires_at = ?::timestamptz + (? * interval '1 millisecond'), updated_at = now()
       FROM claimable, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
      WHERE j.id = claimable.id
     RETURNING j.*`,
    [request.now, request.now, types, names, names, request.maxJobs, request.worker, request.now, request.lockMs],
  );
  return rows as JobRow[];
}
