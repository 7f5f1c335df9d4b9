/**
 * Retention: ended instances older than their process's time to live (`process_definitions.retention`,
 * else the default OPERON_RETENTION_DEFAULT, else kept for ever) are deleted with everything hanging
 * off them (instance_data.ts), a batch per transaction. The batch is chosen with FOR UPDATE SKIP
 * LOCKED, so a sweep never waits for (or holds up) a step, and several engines sweep side by side.
 * Instances under legal hold are kept. Each batch adds one `retention.delete` row to the audit chain.
 */
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import { parseIsoDuration } from '../model/timer.ts';
import { appendAudit, SYSTEM_ACTOR } from './audit-log.ts';
import { botRunIds, deleteBotArtifacts, deleteInstances } from './instance-data.ts';

export interface RetentionOptions {
  /** ISO 8601 duration for processes that set none; undefined keeps them for ever. */
  defaultRetention?: string;
  artifactsDir: string;
  /** Instances per transaction. Default 500. */
  batchSize?: number;
  /** Stop after this many batches (the next sweep goes on). Default 20. */
  maxBatches?: number;
}

/** The default time to live from OPERON_RETENTION_DEFAULT (unset or empty: off); throws on a bad value. */
export function retentionDefault(value = process.env.OPERON_RETENTION_DEFAULT): string | undefined {
  if (!value) return undefined;
  const duration = parseIsoDuration(value);
  if (!duration || !Object.values(duration).some((n) => n > 0) || Object.values(duration).some((n) => n < 0))
    throw new OperonError(
      'OPERON_ERR_VALIDATION',
      `OPERON_RETENTION_DEFAULT '${value}' is not a positive ISO 8601 duration such as P90D`,
      { details: { field: 'OPERON_RETENTION_DEFAULT' } },
    );
  return value.trim();
}

/** Deletes expired instances; returns how many instances and artifact files went. */
export async function sweepExpiredInstances(
  db: Knex,
  options: RetentionOptions,
): Promise<{ instances: number; artifacts: number }> {
  const batchSize = options.batchSize ?? 500;
  let instances = 0;
  let artifacts = 0;
  for (let batch = 0; batch < (options.maxBatches ?? 20); batch++) {
    const { ids, runs } = await db.transaction(async (tx) => {
      const { rows } = (await tx.raw(
        `SELECT p.id FROM process_instances p JOIN process_definitions d ON d.id = p.definition_id
          WHERE p.state <> 'active'
            AND p.ended_at < now() - coalesce(d.retention, ?::interval)
            AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.process_instance_id IN (p.id, p.parent_instance_id))
            -- A called instance stays while its caller runs (the caller may still look at it).
            AND NOT EXISTS (SELECT 1 FROM process_instances c WHERE c.id = p.parent_instance_id AND c.state = 'active')
          ORDER BY p.ended_at LIMIT ? FOR UPDATE OF p SKIP LOCKED`,
        [options.defaultRetention ?? null, batchSize],
      )) as { rows: { id: string }[] };
      const ids = rows.map((row) => row.id);
      if (ids.length === 0) return { ids, runs: [] };
      const runs = await botRunIds(tx, ids);
      await deleteInstances(tx, ids);
      await appendAudit(tx, [
        {
          actor: SYSTEM_ACTOR,
          action: 'retention.delete',
          target: { kind: 'retention' },
          change: { instances: ids },
        },
      ]);
      return { ids, runs };
    });
    instances += ids.length;
    artifacts += await deleteBotArtifacts(options.artifactsDir, runs);
    if (ids.length < batchSize) break;
  }
  return { instances, artifacts };
}
