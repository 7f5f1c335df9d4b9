/**
 * Job activation for external workers (`POST /api/jobs/activate`, the engine's `activateJobs`): a
 * long poll that claims jobs of one type (`claimJobs`) and, while none is there, waits for a job
 * of that type to be announced (NOTIFY on the jobs channel) or for its request timeout.
 */
import type { ActivateJobsRequest, ActivatedJob } from '../api.ts';
import type { Db, JobRow } from '../store/rows.ts';
import { CHANNELS } from '../store/notify.ts';
import { workMetrics } from '../telemetry/metrics.ts';
import { claimJobs } from './claim-jobs.ts';
import type { Notifications } from './notifications.ts';

/** What activating jobs needs from the engine. */
export interface ActivateJobsContext {
  notifications: Notifications;
  /** Engine time (engine/clock.ts): what is due is compared with it, and the lease runs from it. */
  now: () => Date;
}

/**
 * Claims up to `request.maxJobs` jobs of `request.type`; with none claimable, waits up to
 * `request.requestTimeoutMs` (claiming again at least every second) or until `signal` aborts, and
 * answers what it has then (possibly none).
 */
export async function activateJobs(
  db: Db,
  context: ActivateJobsContext,
  request: ActivateJobsRequest,
  signal?: AbortSignal,
): Promise<ActivatedJob[]> {
  const deadline = Date.now() + (request.requestTimeoutMs ?? 0);
  for (;;) {
    const jobs = await claimJobs(db, {
      types: [request.type],
      worker: request.worker,
      maxJobs: request.maxJobs,
      lockMs: request.lockMs,
      now: context.now(),
    });
    for (const job of jobs) workMetrics.jobClaimed(job.type, (Date.now() - new Date(job.run_at).getTime()) / 1000);
    if (jobs.length > 0 || Date.now() >= deadline || signal?.aborted) return jobs.map(toActivatedJob);
    await context.notifications.wait(
      Math.min(1_000, deadline - Date.now()),
      (channel, payload) => channel === CHANNELS.jobs && payload === request.type,
      signal,
      [CHANNELS.jobs],
    );
  }
}

/** A claimed job as the API answers it. */
export function toActivatedJob(job: JobRow): ActivatedJob {
  return {
    id: job.id,
    type: job.type,
    instanceId: job.process_instance_id,
    elementId: job.element_id,
    elementInstanceKey: job.element_instance_key,
    bpmnProcessId: job.bpmn_process_id,
    attempt: job.attempt,
    retries: job.retries,
    worker: job.owner!,
    deadline: new Date(job.lease_expires_at!).toISOString(),
    headers: job.headers,
    variables: job.variables,
    ...(job.listener_event_type ? { listenerEventType: job.listener_event_type } : {}),
    ...(job.properties ? { properties: job.properties } : {}),
    ...(job.trace_parent ? { traceparent: job.trace_parent } : {}),
    ...(job.trace_parent && job.trace_state ? { tracestate: job.trace_state } : {}),
  };
}
