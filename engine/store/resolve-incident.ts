/**
 * Resolving an incident: the incident row is resolved (with its history row and audit entry) and
 * the instance resumes in the same transaction: a failed job gets its retries back and is
 * claimable at once, an engine failure's event (`retry_event`: a timer that fired, a job result that
 * could not be applied) is applied again.
 */
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import type { RuntimeEvent } from '../runtime/contract.ts';
import type { GraphCache } from './graph-cache.ts';
import type { IncidentRow, InstanceRow, JobRow } from './rows.ts';
import { appendHistory } from './append-history.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { lockInstance } from './lock-instance.ts';
import { CHANNELS, inTransaction, notify } from './notify.ts';
import { stepInstance } from './step-instance.ts';

/** What resolving an incident needs from the engine. */
export interface ResolveIncidentContext {
  graphs: GraphCache;
  /** Engine time (engine/clock.ts). */
  now: () => Date;
}

/** Resolves an open incident in a transaction of `db` (a savepoint when `db` is itself a transaction). */
export async function resolveIncident(
  db: Knex,
  context: ResolveIncidentContext,
  incidentId: string,
  actor: Actor,
): Promise<void> {
  const incident = await db<IncidentRow>('incidents').where({ id: incidentId }).first();
  if (!incident)
    throw new OperonError('OPERON_ERR_NOT_FOUND', `Incident ${incidentId} does not exist`, {
      details: { incidentId },
    });
  await inTransaction(db, async (tx) => {
    const instance = await lockInstance(tx, incident.process_instance_id);
    const open = await tx<IncidentRow>('incidents').where({ id: incidentId, state: 'open' }).forUpdate().first();
    if (!open)
      throw new OperonError('OPERON_ERR_CONFLICT', `Incident ${incidentId} is already resolved`, {
        details: { incidentId },
      });
    await tx('incidents').where({ id: incidentId }).update({ state: 'resolved', resolved_at: tx.fn.now() });
    await appendHistory(tx, [
      {
        process_instance_id: open.process_instance_id,
        element_instance_key: open.element_instance_key,
        element_id: open.element_id,
        event_type: 'incident.resolved',
        payload: { incidentId },
      },
    ]);
    await resume(tx, context, open, instance);
    await appendAudit(tx, [
      {
        actor,
        action: 'incident.resolve',
        target: { kind: 'incident', id: incidentId },
        instanceId: open.process_instance_id,
        change: { elementId: open.element_id, code: open.code, jobId: open.job_id ?? null },
      },
    ]);
  });
}

/** After an incident is resolved: its job is claimable again (retry), or the engine's retry event is applied. */
async function resume(
  tx: Knex.Transaction,
  context: ResolveIncidentContext,
  open: IncidentRow,
  instance: InstanceRow | undefined,
): Promise<void> {
  if (instance?.state !== 'active') return;
  if (open.job_id) {
    // The job gets its retries back and is claimable at once.
    const jobs = await tx<JobRow>('jobs')
      .where({ id: open.job_id, state: 'failed' })
      .update({
        state: 'ready',
        retries: tx.raw('greatest(max_retries, 1)'),
        owner: null,
        lease_expires_at: null,
        run_at: context.now(),
        updated_at: tx.fn.now(),
      })
      .returning('*');
    if (jobs[0]) await notify(tx, CHANNELS.jobs, jobs[0].type);
    return;
  }
  const event = (open.retry_event as RuntimeEvent | null) ?? {
    type: 'incident.resolved',
    elementInstanceKey: open.element_instance_key,
  };
  await stepInstance(tx, context.graphs, instance.id, event, context.now(), instance);
}
