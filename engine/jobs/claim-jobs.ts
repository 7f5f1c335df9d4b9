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

/** Jobs whose type the request names: exact types, or node names and every `<name>:*` type. */
const OF_TYPES = `(j.type = ANY(?::text[]) OR j.type = ANY(?::text[]) OR split_part(j.type, ':', 1) = ANY(?::text[]))`;
/** Ready ones whose backoff has passed, and leased ones whose lease expired (their worker died). */
const CLAIMABLE = `((j.state = 'ready' AND j.run_at <= ?::timestamptz) OR (j.state = 'leased' AND j.lease_expires_at < ?::timestamptz))`;
/** How many limited jobs one claim looks at: full limits are left out first, so these are mostly runnable. */
const LIMITED_WINDOW = 200;

/**
 * Leases up to `maxJobs` claimable jobs: ready ones whose backoff has passed, and leased ones whose
 * lease expired (their worker died). SKIP LOCKED lets many workers claim concurrently without
 * waiting on each other; each claim increments `attempt`, which fences completion.
 *
 * Jobs under a concurrency limit (`jobs.concurrency_limits`, model/job-limits.ts) are claimed apart
 * (claimLimitedJobs), only when the first statement saw some waiting, so claims without limits stay
 * one statement. Then one of the free slots is kept for them, so a steady stream of unlimited jobs
 * never starves them; what they cannot take (their limits are full) goes to unlimited jobs after all.
 * They cannot starve the others in turn: they never hold more slots than their limits.
 *
 * Run it on the pool, never inside a caller's transaction: the claim commits with
 * `synchronous_commit = off`, which saves a WAL flush on the way from a new job to a running node.
 * That is safe because a claim lost in a database crash only makes the job claimable again, which
 * a worker's death does too (at-least-once); the completion that follows is fenced on this claim's
 * attempt and commits synchronously.
 */
export async function claimJobs(db: Db, request: ClaimRequest): Promise<JobRow[]> {
  if (request.maxJobs <= 0 || ((request.types ?? []).length === 0 && (request.nodeNames ?? []).length === 0)) return [];
  const first = await claimUnlimitedJobs(db, request, true);
  if (!first.limitedWaiting || first.jobs.length >= request.maxJobs) return first.jobs;
  const jobs = [
    ...first.jobs,
    ...(await claimLimitedJobs(db, { ...request, maxJobs: request.maxJobs - first.jobs.length })),
  ];
  // The kept slot went unused, and the first claim may have left unlimited jobs behind for it.
  if (jobs.length < request.maxJobs && first.jobs.length === request.maxJobs - 1)
    jobs.push(...(await claimUnlimitedJobs(db, { ...request, maxJobs: request.maxJobs - jobs.length }, false)).jobs);
  return jobs;
}

/**
 * Leases jobs without limits; says whether limited jobs of these types are claimable too, and with
 * `keepOne` leaves one of `maxJobs` for them when they are.
 */
async function claimUnlimitedJobs(
  db: Db,
  request: ClaimRequest,
  keepOne: boolean,
): Promise<{ jobs: JobRow[]; limitedWaiting: boolean }> {
  const types = request.types ?? [];
  const names = request.nodeNames ?? [];
  const { rows } = (await db.raw(
    `WITH limited AS (
       SELECT EXISTS (SELECT 1 FROM jobs AS j WHERE j.concurrency_limits IS NOT NULL AND ${CLAIMABLE} AND ${OF_TYPES})
         AS limited_waiting
     ),
     claimable AS (
       SELECT id FROM jobs AS j
       WHERE ${CLAIMABLE} AND ${OF_TYPES} AND j.concurrency_limits IS NULL
       ORDER BY run_at, created_at
       LIMIT (SELECT CASE WHEN limited_waiting AND ? THEN ? - 1 ELSE ? END FROM limited)
       FOR UPDATE SKIP LOCKED
     ),
     claimed AS (
       UPDATE jobs AS j
          SET state = 'leased', owner = ?, attempt = j.attempt + 1,
              lease_expires_at = ?::timestamptz + (? * interval '1 millisecond'), updated_at = now()
         FROM claimable, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
        WHERE j.id = claimable.id
       RETURNING j.*
     )
     SELECT claimed.*, limited.limited_waiting FROM limited LEFT JOIN claimed ON true`,
    [
      request.now,
      request.now,
      types,
      names,
      names,
      request.now,
      request.now,
      types,
      names,
      names,
      keepOne,
      request.maxJobs,
      request.maxJobs,
      request.worker,
      request.now,
      request.lockMs,
    ],
  )) as { rows: (JobRow & { limited_waiting: boolean })[] };
  const jobs: JobRow[] = [];
  for (const { limited_waiting: _, ...job } of rows) if (job.id !== null) jobs.push(job);
  return { jobs, limitedWaiting: rows[0]?.limited_waiting === true };
}

/**
 * Leases limited jobs without ever going over a limit, whichever workers claim at the same time.
 * SKIP LOCKED alone cannot promise that: two claims counting each other's uncommitted leases would
 * both see a free slot. So each claim first takes a transaction-scoped advisory lock on every limit
 * key it may claim under (in hash order, so two claims never wait on each other in a cycle); under
 * READ COMMITTED the claim statement that follows sees every lease the previous holder committed.
 */
async function claimLimitedJobs(db: Db, request: ClaimRequest): Promise<JobRow[]> {
  const types = request.types ?? [];
  const names = request.nodeNames ?? [];
  return db.transaction(async (tx) => {
    const locked = (
      (await tx.raw(
        `SELECT key, pg_advisory_xact_lock(lock) FROM (
           SELECT key, hashtextextended('operon.job-limit:' || key, 0) AS lock FROM (
             SELECT DISTINCT jsonb_object_keys(j.concurrency_limits) AS key
               FROM jobs AS j, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
              WHERE j.concurrency_limits IS NOT NULL AND ${CLAIMABLE} AND ${OF_TYPES}
           ) AS keys
           ORDER BY lock, key
         ) AS ordered`,
        [request.now, request.now, types, names, names],
      )) as { rows: { key: string }[] }
    ).rows.map((row) => row.key);
    if (locked.length === 0) return [];
    const { rows } = await tx.raw(
      `WITH running AS (
         SELECT k.key, count(*) AS n
           FROM jobs AS j, jsonb_object_keys(j.concurrency_limits) AS k(key)
          WHERE j.concurrency_limits IS NOT NULL AND j.state = 'leased' AND j.lease_expires_at >= ?::timestamptz
            AND k.key = ANY(?::text[])
          GROUP BY k.key
       ),
       candidates AS (
         SELECT j.id, j.run_at, j.created_at, j.concurrency_limits FROM jobs AS j
          WHERE j.concurrency_limits IS NOT NULL AND ${CLAIMABLE} AND ${OF_TYPES}
            -- only under limits this claim holds the lock of
            AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(j.concurrency_limits) AS k(key) WHERE k.key <> ALL(?::text[]))
            -- none of them full already
            AND NOT EXISTS (SELECT 1 FROM jsonb_each_text(j.concurrency_limits) AS l(key, slots)
                              JOIN running AS r ON r.key = l.key WHERE r.n >= l.slots::int)
          ORDER BY j.run_at, j.created_at
          LIMIT ?
          FOR UPDATE SKIP LOCKED
       ),
       ranked AS (
         SELECT c.id, c.run_at, c.created_at, l.slots::int AS slots, coalesce(r.n, 0) AS running,
                row_number() OVER (PARTITION BY l.key ORDER BY c.run_at, c.created_at, c.id) AS place
           FROM candidates AS c CROSS JOIN LATERAL jsonb_each_text(c.concurrency_limits) AS l(key, slots)
           LEFT JOIN running AS r ON r.key = l.key
       ),
       allowed AS (
         SELECT id FROM ranked
          GROUP BY id, run_at, created_at
         HAVING bool_and(running + place <= slots)
          ORDER BY run_at, created_at
          LIMIT ?
       )
       UPDATE jobs AS j
          SET state = 'leased', owner = ?, attempt = j.attempt + 1,
              lease_expires_at = ?::timestamptz + (? * interval '1 millisecond'), updated_at = now()
         FROM allowed
        WHERE j.id = allowed.id
       RETURNING j.*`,
      [
        request.now,
        locked,
        request.now,
        request.now,
        types,
        names,
        names,
        locked,
        LIMITED_WINDOW,
        request.maxJobs,
        request.worker,
        request.now,
        request.lockMs,
      ],
    );
    return rows as JobRow[];
  });
}
