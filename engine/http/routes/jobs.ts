/**
 * External job workers (any language): activate with a lease, then complete / fail / error /
 * heartbeat carrying `worker` and the `attempt` from activation. The engine fences every call on
 * that lease, exactly as for its own workers.
 */
import type { Knex } from 'knex';
import type { FastifyRequest } from 'fastify';
import { OperonError } from '../../errors.ts';
import { forbidden } from '../identity.ts';
import { defineRoute, type Reply, type RouteContext } from '../route.ts';
import {
  ActivateJobsBody,
  ActivateJobsResponse,
  CompleteJobBody,
  FailJobBody,
  HeartbeatBody,
  HeartbeatResponse,
  JobDone,
  JobErrorBody,
  JobIdParams,
} from '../schemas.ts';

/** A retried complete or error whose first call this lease already applied: the same 200, marked as a replay. */
function replayedAnswer(jobId: string): Reply {
  return { statusCode: 200, body: { jobId, replayed: true }, headers: { 'idempotent-replayed': 'true' } };
}

/**
 * A worker API key may only take and finish jobs of its task types (docs/security.md); other
 * callers with the jobs permission (admin, the development token) any.
 */
function requireJobType(request: FastifyRequest, type: string): void {
  const allowed = request.identity?.taskTypes;
  if (request.identity?.roles.includes('admin')) return;
  if (!allowed?.includes(type))
    throw forbidden(`This key may not work on jobs of type "${type}"`, {
      field: 'type',
      type,
      taskTypes: allowed ?? [],
    });
}

/** The job's type, for requireJobType; 404 when there is no such job. */
async function jobType(db: Knex, jobId: string): Promise<string> {
  const row = (await db('jobs').where({ id: jobId }).first('type')) as { type: string } | undefined;
  if (!row) throw new OperonError('OPERON_ERR_NOT_FOUND', `No job ${jobId}`, { details: { jobId } });
  return row.type;
}

export function jobRoutes(context: RouteContext, longPolls: Set<AbortController>): void {
  const { engine, metrics, db } = context;

  defineRoute(context, {
    method: 'POST',
    url: '/api/jobs/activate',
    summary:
      'Take up to maxJobs jobs of a type under a lease of lockMs; waits up to requestTimeoutMs when none are ready',
    tag: 'jobs',
    permission: 'jobs',
    body: ActivateJobsBody,
    responses: { 200: { description: 'Activated jobs (possibly none)', schema: ActivateJobsResponse } },
    async handler({ body, request, reply }) {
      requireJobType(request, body.type);
      const controller = new AbortController();
      longPolls.add(controller);
      // A worker that hangs up must not be handed jobs it will never see.
      const onClose = () => {
        if (!reply.raw.writableEnded) controller.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const jobs = await engine.activateJobs(body, controller.signal);
        for (const job of jobs) metrics.jobActivated(job.id, job.type);
        if (jobs.length > 0)
          request.log.info(
            {
              jobs: jobs.map((j) => ({ jobId: j.id, instanceId: j.instanceId, elementId: j.elementId })),
              worker: body.worker,
            },
            'jobs activated',
          );
        return { statusCode: 200, body: { jobs } };
      } finally {
        longPolls.delete(controller);
        reply.raw.off('close', onClose);
      }
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/jobs/:id/complete',
    summary:
      'Complete a job with output variables; the same call retried by the same worker and attempt answers 200 again (replayed) and changes nothing',
    tag: 'jobs',
    permission: 'jobs',
    params: JobIdParams,
    body: CompleteJobBody,
    responses: { 200: { description: 'Completed', schema: JobDone } },
    async handler({ params, body, request }) {
      requireJobType(request, await jobType(db, params.id));
      const lease = { worker: body.worker, attempt: body.attempt };
      const { replayed } =
        // Variables and results are checked against the job's kind (a canceling listener's job takes neither).
        (body.result || Object.keys(body.variables ?? {}).length > 0) && engine.completeJobWithResult
          ? await engine.completeJobWithResult(params.id, lease, body.variables ?? {}, body.result ?? {})
          : await engine.completeJob(params.id, lease, body.variables ?? {});
      if (replayed) return replayedAnswer(params.id);
      metrics.jobFinished(params.id, 'completed');
      request.log.info({ jobId: params.id, worker: body.worker }, 'job completed');
      return { statusCode: 200, body: { jobId: params.id } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/jobs/:id/fail',
    summary: 'Report a technical failure: retried after retryBackoffMs while retries remain, then an incident',
    tag: 'jobs',
    permission: 'jobs',
    params: JobIdParams,
    body: FailJobBody,
    responses: { 200: { description: 'Failure recorded', schema: JobDone } },
    async handler({ params, body, request }) {
      requireJobType(request, await jobType(db, params.id));
      await engine.failJob(
        params.id,
        { worker: body.worker, attempt: body.attempt },
        { errorMessage: body.errorMessage, retries: body.retries, retryBackoffMs: body.retryBackoffMs },
      );
      metrics.jobFinished(params.id, 'failed');
      request.log.info({ jobId: params.id, worker: body.worker, retries: body.retries }, 'job failed');
      return { statusCode: 200, body: { jobId: params.id } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/jobs/:id/error',
    summary: 'Throw a BPMN error (business outcome) caught by an error boundary event with the same errorCode',
    tag: 'jobs',
    permission: 'jobs',
    params: JobIdParams,
    body: JobErrorBody,
    responses: { 200: { description: 'BPMN error thrown', schema: JobDone } },
    async handler({ params, body, request }) {
      requireJobType(request, await jobType(db, params.id));
      const { replayed } = await engine.throwJobError(
        params.id,
        { worker: body.worker, attempt: body.attempt },
        { errorCode: body.errorCode, errorMessage: body.errorMessage, variables: body.variables },
      );
      if (replayed) return replayedAnswer(params.id);
      metrics.jobFinished(params.id, 'error');
      request.log.info({ jobId: params.id, worker: body.worker, errorCode: body.errorCode }, 'job threw BPMN error');
      return { statusCode: 200, body: { jobId: params.id } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/jobs/:id/heartbeat',
    summary: 'Extend the lease by lockMs from now',
    tag: 'jobs',
    permission: 'jobs',
    params: JobIdParams,
    body: HeartbeatBody,
    responses: { 200: { description: 'New lease deadline', schema: HeartbeatResponse } },
    async handler({ params, body, request }) {
      requireJobType(request, await jobType(db, params.id));
      const { deadline } = await engine.heartbeatJob(
        params.id,
        { worker: body.worker, attempt: body.attempt },
        body.lockMs,
      );
      return { statusCode: 200, body: { jobId: params.id, deadline } };
    },
  });
}
