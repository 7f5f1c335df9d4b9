/**
 * A batch operation's dry run: the items it would have now and what each would do, computed on
 * the stored snapshots with the pure runtime, in a transaction that is always rolled back. A
 * migrate item's answer comes from the function the real item runs (with `dryRun`), so the report
 * says what the operation would do to each snapshot as stored now.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { stepSettled } from '../runtime/index.ts';
import type { GraphCache } from './graph-cache.ts';
import { SYSTEM_ACTOR } from './audit-log.ts';
import { matchingInstances, type BatchFilter, type BatchKind, type BatchRequest } from './batch-operations.ts';
import { activeKeysOf, migrationVerdict, type Verdict } from './batch-process.ts';
import { lockInstance } from './lock-instance.ts';
import { migrateInstance } from './migrate-instance.ts';

/** Most instances one dry run reports; `truncated` says when more matched. */
export const DRY_RUN_LIMIT = 500;

export interface DryRunItem {
  instanceId: string;
  state: 'done' | 'failed' | 'skipped';
  result: string | null;
  error: string | null;
  details: Record<string, unknown> | null;
}

export async function dryRunBatchOperation(
  db: Knex,
  engine: { graphs: GraphCache; clock: Clock },
  input: { kind: BatchKind; filter: BatchFilter; request?: BatchRequest },
): Promise<{ total: number; truncated: boolean; items: DryRunItem[] }> {
  const tx = await db.transaction();
  try {
    const rows = (await matchingInstances(tx, input.kind, input.filter, input.request)
      .orderBy([{ column: 'p.started_at' }, { column: 'p.id' }])
      .limit(DRY_RUN_LIMIT + 1)
      .select('p.id')) as { id: string }[];
    const total = Number(
      (await matchingInstances(tx, input.kind, input.filter, input.request).count('* as n').first())?.n ?? rows.length,
    );
    const items: DryRunItem[] = [];
    for (const { id } of rows.slice(0, DRY_RUN_LIMIT)) {
      const verdict = await simulate(tx, engine, id, input);
      items.push({
        instanceId: id,
        state: verdict.state,
        result: verdict.result ?? null,
        error: verdict.error ?? null,
        details: verdict.details ?? null,
      });
    }
    return { total, truncated: rows.length > DRY_RUN_LIMIT, items };
  } finally {
    // Nothing a dry run did may stay, whatever it touched.
    await tx.rollback();
  }
}

async function simulate(
  tx: Knex.Transaction,
  engine: { graphs: GraphCache; clock: Clock },
  instanceId: string,
  input: { kind: BatchKind; filter: BatchFilter; request?: BatchRequest },
): Promise<NonNullable<Verdict>> {
  const request = input.request;
  if (input.kind === 'migrate' && request?.kind === 'migrate') {
    const target = { id: request.targetDefinitionId, bpmn_process_id: request.bpmnProcessId, version: request.version };
    const outcome = await migrateInstance(tx, engine.graphs, instanceId, target, request.mappings, {
      now: engine.clock.now(),
      dryRun: true,
      actor: SYSTEM_ACTOR,
    });
    return migrationVerdict(outcome);
  }
  const instance = await lockInstance(tx, instanceId);
  if (instance?.state !== 'active')
    return {
      state: 'skipped',
      result: instance ? `instance is already ${instance.state}` : 'instance no longer exists',
    };
  if (input.kind === 'modify' && request?.kind === 'modify') {
    const terminate = activeKeysOf(instance.snapshot, request.terminateElementIds);
    if (request.terminateElementIds.length > 0 && terminate.length === 0)
      return { state: 'skipped', result: `not active in ${request.terminateElementIds.join(', ')}` };
    const graph = await engine.graphs.get(tx, instance.definition_id);
    const now = engine.clock.now();
    const result = await stepSettled(
      graph,
      instance.snapshot,
      { type: 'instance.modify', activate: request.activate, terminate },
      engine.graphs.stepContext(now, tx),
    );
    if (result.ignored)
      return {
        state: 'failed',
        error: `refused: ${result.ignored}`,
        details: { activate: request.activate, terminate },
      };
    const activated = result.effects.flatMap((effect) =>
      effect.type === 'element.activated' ? [effect.elementId] : [],
    );
    return {
      state: 'done',
      result: `would activate ${request.activate.length} element(s), terminate ${terminate.length} element instance(s)`,
      details: { activate: request.activate, terminate, activated, instanceState: result.state },
    };
  }
  if (input.kind === 'cancel') return { state: 'done', result: 'would cancel the instance' };
  const open = tx('incidents').where({ process_instance_id: instanceId, state: 'open' });
  if (input.filter.elementId !== undefined) open.where({ element_id: input.filter.elementId });
  if (input.filter.incidentType !== undefined) open.where({ code: input.filter.incidentType });
  const incidents = (await open.select('id')) as { id: string }[];
  if (incidents.length === 0) return { state: 'skipped', result: 'no open incident matching the filter' };
  return {
    state: 'done',
    result: `would resolve ${incidents.length} incident(s); done only once the retried work gets past the failure`,
    details: { incidentIds: incidents.map((incident) => incident.id) },
  };
}
