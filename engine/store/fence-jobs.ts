/**
 * The fence: the one statement through which a worker's result ends or releases its job
 * (complete-jobs.ts for completions, BPMN errors and the incident of a result that cannot be
 * applied; fail-jobs.ts for failures). Only the lease holder gets past it: same worker, same attempt,
 * job still leased, and its instance active. The instances are locked in the same statement, in id
 * order, so two batches never deadlock on each other.
 */
import type { JobLease } from '../api.ts';
import type { OperonError } from '../errors.ts';
import { isLeaseOf, staleLeaseError } from '../jobs/fence-job.ts';
import type { Db, InstanceRow, JobRow } from './rows.ts';
import { instanceNotActive, instanceNotFound } from './step-instance.ts';

/** How a fenced job ends (or, `ready`, goes back to wait for its retry). */
export interface JobEnding {
  state: 'completed' | 'failed' | 'ready';
  /** The job's `error_message` from now on (NULL for a plain completion). */
  errorMessage: string | null;
  /** New retries; undefined keeps them. */
  retries?: number;
  /** Clears owner and lease (a failure: the job no longer belongs to the worker). */
  release?: boolean;
  /** When a job going back to `ready` may run again. */
  runAt?: Date;
}

/** One job to fence: the job, the lease that claims to hold it, and how it ends. */
export interface Fence {
  job: Pick<JobRow, 'id' | 'process_instance_id'>;
  lease: JobLease;
  ending: JobEnding;
}

/** A fenced job: what its event, history and incident need. */
export type FencedJob = Pick<
  JobRow,
  'id' | 'element_instance_key' | 'element_id' | 'type' | 'attempt' | 'trace_parent' | 'trace_state'
>;

/**
 * One round trip: locks the instances of `fences` and applies each ending where the lease still
 * holds; returns the locked instances and the jobs that were fenced.
 */
export async function lockAndFence(
  tx: Db,
  fences: Fence[],
): Promise<{ instances: Map<string, InstanceRow>; fenced: Map<string, FencedJob> }> {
  const { rows } = await tx.raw(
    `WITH locked AS MATERIALIZED (
       SELECT * FROM process_instances WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE
     ), fenced AS (
       UPDATE jobs AS j
          SET state = f.state, error_message = f.error_message, updated_at = now(),
              ended_at = CASE WHEN f.state = 'completed' THEN now() ELSE j.ended_at END,
              retries = coalesce(f.retries, j.retries),
              owner = CASE WHEN f.release THEN NULL ELSE j.owner END,
              lease_expires_at = CASE WHEN f.release THEN NULL ELSE j.lease_expires_at END,
              run_at = coalesce(f.run_at, j.run_at)
         FROM unnest(?::uuid[], ?::text[], ?::int[], ?::text[], ?::text[], ?::int[], ?::boolean[], ?::timestamptz[])
                AS f(id, owner, attempt, state, error_message, retries, release, run_at),
              locked AS l
        WHERE j.id = f.id AND j.owner = f.owner AND j.state = 'leased' AND (f.attempt IS NULL OR j.attempt = f.attempt)
          AND l.id = j.process_instance_id AND l.state = 'active'
        RETURNING j.id, j.element_instance_key, j.element_id, j.type, j.attempt, j.trace_parent, j.trace_state
     )
     SELECT 'instance' AS kind, to_jsonb(locked) AS row FROM locked
     UNION ALL
     SELECT 'job', to_jsonb(fenced) FROM fenced`,
    [
      [...new Set(fences.map(({ job }) => job.process_instance_id))],
      fences.map(({ job }) => job.id),
      fences.map(({ lease }) => lease.worker),
      fences.map(({ lease }) => lease.attempt ?? null),
      fences.map(({ ending }) => ending.state),
      fences.map(({ ending }) => ending.errorMessage),
      fences.map(({ ending }) => ending.retries ?? null),
      fences.map(({ ending }) => ending.release ?? false),
      fences.map(({ ending }) => ending.runAt ?? null),
    ] as never,
  );
  const instances = new Map<string, InstanceRow>();
  const fenced = new Map<string, FencedJob>();
  for (const { kind, row } of rows as { kind: string; row: Record<string, unknown> }[]) {
    if (kind === 'instance') instances.set(row.id as string, row as unknown as InstanceRow);
    else fenced.set(row.id as string, row as unknown as FencedJob);
  }
  return { instances, fenced };
}

/** Why a job was not fenced: its lease is gone (reported first), or its instance is gone or not active. */
export async function whyNotFenced(
  tx: Db,
  fence: Pick<Fence, 'job' | 'lease'>,
  instance: InstanceRow | undefined,
): Promise<OperonError> {
  const current = await tx<JobRow>('jobs').where({ id: fence.job.id }).first();
  if (current?.state !== 'leased' || !isLeaseOf(current, fence.lease))
    return staleLeaseError(fence.job.id, fence.lease, current);
  return instance ? instanceNotActive(instance) : instanceNotFound(fence.job.process_instance_id);
}
