/**
 * Work done by a job worker: service and send tasks, business rule and script tasks with a
 * zeebe:taskDefinition, message throw events. The element waits for its job; the job's result
 * completes it, a BPMN error is thrown at it.
 */
import type { FlowElement, JobDefinition } from '../../model/graph.ts';
import { jobLimitsOf } from '../../model/job-limits.ts';
import type { Variables } from '../../nodes/types.ts';
import type { Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { throwError } from './definitions/error.ts';
import type { ElementKind } from './kind.ts';

/** Creates the element's job and makes it wait for it. */
export function createJob(x: Execution, ei: ElementInstance, element: FlowElement & { job: JobDefinition }): void {
  const job = element.job;
  const taskType = x.textValue(job.taskType, ei.key);
  const retries = x.retries(job.retries, job.retriesExpression, ei);
  ei.wait = 'job';
  const limits = jobLimitsOf(x.graph, element.id, taskType);
  x.effects.push({
    type: 'job.create',
    elementInstanceKey: ei.key,
    elementId: element.id,
    taskType,
    retries,
    headers: job.headers,
    input: x.variablesForEffect(ei.key),
    ...(element.properties ? { properties: element.properties } : {}),
    ...(limits ? { limits } : {}),
  });
}

/** The element's job completed (its variables), or threw a BPMN error. */
export function jobDone(
  x: Execution,
  ei: ElementInstance,
  outcome: { completed: Variables | undefined } | { errorCode: string; errorMessage?: string; variables?: Variables },
): void {
  delete ei.wait;
  if ('completed' in outcome) x.complete(ei, outcome.completed);
  else throwError(x, ei, outcome.errorCode, outcome.errorMessage, outcome.variables);
}

/** Cancels the element's job, if it still waits for it (a listener's job is the core's to cancel). */
export function closeJob(x: Execution, ei: ElementInstance): void {
  if (ei.wait === 'job') x.effects.push({ type: 'job.cancel', elementInstanceKey: ei.key });
}

/** Service and send tasks. */
export const serviceTask: ElementKind<FlowElement & { job: JobDefinition }> = {
  activate: createJob,
  closeWaits: closeJob,
};
