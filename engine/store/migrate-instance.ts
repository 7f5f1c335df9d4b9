/**
 * Moves one locked instance to another process definition (engine/runtime/migration.ts decides;
 * this writes). `migrateInstance` runs inside the caller's transaction (a batch operation's item);
 * `migrateOneInstance`, the engine's `migrateInstance`, in its own. The instance row, its element instances,
 * jobs, user tasks, incidents, timers and subscriptions, a history row and an audit entry commit
 * together, or a refusal throws and nothing changed. A dry run computes the same plan and writes
 * nothing.
 */
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import { migrateInstanceSettled, type ElementMapping, type MigratedElement } from '../runtime/index.ts';
import { jobLimitsOf } from '../model/job-limits.ts';
import type { DefinitionRef, JobRow } from './rows.ts';
import type { Db } from './rows.ts';
import type { GraphCache } from './graph-cache.ts';
import { applyEffects } from './apply-effects.ts';
import { appendAudit, type Actor } from './audit-log.ts';
import { findDefinition, findDefinitionByProcessId } from './find-definition.ts';
import { lockInstance } from './lock-instance.ts';
import { inTransaction } from './notify.ts';
import { instanceNotActive, instanceNotFound, stepInstance } from './step-instance.ts';
import { updateInstance } from './update-instance.ts';

/** Which definition to migrate to: its id, or a process id and version. */
export type MigrationTarget = { definitionId: string } | { bpmnProcessId: string; version: number };

/** What a migration did, or would do (dry run), to one instance. */
export type MigrationOutcome =
  | {
      instanceId: string;
      ok: true;
      from: { definitionId: string; bpmnProcessId: string; version: number };
      to: { definitionId: string; bpmnProcessId: string; version: number };
      elements: MigratedElement[];
    }
  | {
      instanceId: string;
      ok: false;
      code: 'OPERON_ERR_MIGRATION_REFUSED' | 'OPERON_ERR_INSTANCE_NOT_ACTIVE' | 'OPERON_ERR_NOT_FOUND';
      reason: string;
      elementId?: string;
      elementInstanceKey?: string;
    };

/**
 * Migrates one instance in a transaction of `db`, as the engine's `migrateInstance` asks: finds the
 * target, plans and (unless `dryRun`) applies. A dry run answers a refusal as its outcome; any other
 * outcome that is not ok throws (OPERON_ERR_MIGRATION_REFUSED, OPERON_ERR_NOT_FOUND,
 * OPERON_ERR_INSTANCE_NOT_ACTIVE), so the transaction rolls back.
 */
export async function migrateOneInstance(
  db: Knex,
  context: { graphs: GraphCache; now: () => Date },
  instanceId: string,
  migration: { target: MigrationTarget; mappings: ElementMapping[]; dryRun?: boolean },
  actor: Actor,
): Promise<MigrationOutcome> {
  const dryRun = migration.dryRun === true;
  return inTransaction(db, async (tx) => {
    const target = await resolveMigrationTarget(tx, migration.target);
    const outcome = await migrateInstance(tx, context.graphs, instanceId, target, migration.mappings, {
      now: context.now(),
      dryRun,
      actor,
    });
    if (!outcome.ok && (!dryRun || outcome.code !== 'OPERON_ERR_MIGRATION_REFUSED'))
      throw new OperonError(outcome.code, `Cannot migrate instance ${instanceId}: ${outcome.reason}`, {
        details: {
          instanceId,
          reason: outcome.reason,
          ...(outcome.elementId !== undefined ? { elementId: outcome.elementId } : {}),
          ...(outcome.elementInstanceKey !== undefined ? { elementInstanceKey: outcome.elementInstanceKey } : {}),
        },
      });
    return outcome;
  });
}

/** The target definition, or OPERON_ERR_NOT_FOUND naming the field. */
export async function resolveMigrationTarget(db: Db, target: MigrationTarget): Promise<DefinitionRef> {
  const found =
    'definitionId' in target
      ? await findDefinition(db, target.definitionId)
      : await findDefinitionByProcessId(db, target.bpmnProcessId, target.version);
  if (!found)
    throw new OperonError('OPERON_ERR_NOT_FOUND', 'The target process definition does not exist', {
      details: { field: 'targetProcessDefinition', ...target },
    });
  return { id: found.id, bpmn_process_id: found.bpmn_process_id, version: found.version };
}

/**
 * Plans the migration of `instanceId` to `target` on its stored snapshot and, unless `dryRun`,
 * applies it. Never throws for a refusal: the outcome says why (the caller decides whether that is
 * a 409 or an item result). The instance row stays locked until the caller's transaction ends.
 */
export async function migrateInstance(
  tx: Db,
  graphs: GraphCache,
  instanceId: string,
  target: DefinitionRef,
  mappings: ElementMapping[],
  options: { now: Date; dryRun: boolean; actor: Actor },
): Promise<MigrationOutcome> {
  const instance = await lockInstance(tx, instanceId);
  if (!instance) return refused(instanceId, instanceNotFound(instanceId));
  if (instance.state !== 'active') return refused(instanceId, instanceNotActive(instance));
  const from = {
    definitionId: instance.definition_id,
    bpmnProcessId: instance.bpmn_process_id,
    version: instance.version,
  };
  const to = { definitionId: target.id, bpmnProcessId: target.bpmn_process_id, version: target.version };
  const source = await graphs.get(tx, instance.definition_id);
  const targetGraph = await graphs.get(tx, target.id);
  const plan = await migrateInstanceSettled(
    source,
    targetGraph,
    instance.snapshot,
    mappings,
    graphs.stepContext(options.now),
  );
  if (!plan.ok)
    return {
      instanceId,
      ok: false,
      code: 'OPERON_ERR_MIGRATION_REFUSED',
      reason: plan.reason,
      ...(plan.elementId !== undefined ? { elementId: plan.elementId } : {}),
      ...(plan.elementInstanceKey !== undefined ? { elementInstanceKey: plan.elementInstanceKey } : {}),
    };
  const outcome: MigrationOutcome = { instanceId, ok: true, from, to, elements: plan.elements };
  if (options.dryRun) return outcome;

  const now = options.now;
  await tx('process_instances')
    .where({ id: instanceId })
    .update({ definition_id: target.id, bpmn_process_id: target.bpmn_process_id, version: target.version });
  for (const element of plan.elements) {
    const byKey = { process_instance_id: instanceId, element_instance_key: element.elementInstanceKey };
    const targetElement = targetGraph.elements[element.targetElementId]!;
    await tx('element_instances')
      .where({ ...byKey, state: 'active' })
      .update({ element_id: element.targetElementId, element_name: targetElement.name ?? null });
    const jobs = (await tx('jobs')
      .where(byKey)
      .whereNotIn('state', ['completed', 'cancelled'])
      .update({ element_id: element.targetElementId, bpmn_process_id: target.bpmn_process_id })
      .returning(['id', 'type', 'listener_event_type'])) as Pick<JobRow, 'id' | 'type' | 'listener_event_type'>[];
    // A moved job is under the target's limits from now on.
    for (const job of jobs) {
      const limits = jobLimitsOf(targetGraph, element.targetElementId, job.type, job.listener_event_type ?? undefined);
      await tx('jobs')
        .where({ id: job.id })
        .update({ concurrency_limits: limits ? JSON.stringify(limits) : null });
    }
    await tx('user_tasks').where(byKey).whereIn('state', ['open', 'completing']).update({
      element_id: element.targetElementId,
    });
    await tx('incidents')
      .where({ ...byKey, state: 'open' })
      .update({ element_id: element.targetElementId });
  }
  for (const [timerKey, elementId] of Object.entries(plan.keptTimers))
    await tx('timers')
      .where({ process_instance_id: instanceId, timer_key: timerKey, state: 'scheduled' })
      .update({ element_id: elementId });
  await tx('timers')
    .where({ process_instance_id: instanceId, state: 'scheduled' })
    .update({ definition_id: target.id });
  const ref = { id: instanceId, definitionId: target.id, bpmnProcessId: target.bpmn_process_id };
  const followUps = await applyEffects(tx, ref, plan.effects, now, [
    {
      process_instance_id: instanceId,
      element_instance_key: null,
      event_type: 'instance.migrated',
      payload: { from, to, mappings, elements: plan.elements },
    },
  ]);
  await updateInstance(
    tx,
    instanceId,
    { snapshot: plan.snapshot, effects: plan.effects, state: 'active', variables: instance.variables },
    now,
  );
  await appendAudit(tx, [
    {
      actor: options.actor,
      action: 'instance.migrate',
      target: { kind: 'instance', id: instanceId },
      instanceId,
      change: { from, to, mappings },
    },
  ]);
  // A message buffered for a subscription the target opened correlates now, as after any step.
  for (const event of followUps) await stepInstance(tx, graphs, instanceId, event, now);
  return outcome;
}

function refused(instanceId: string, error: OperonError): MigrationOutcome {
  return {
    instanceId,
    ok: false,
    code: error.code as 'OPERON_ERR_INSTANCE_NOT_ACTIVE' | 'OPERON_ERR_NOT_FOUND',
    reason: error.message,
  };
}
