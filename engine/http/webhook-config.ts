/** Per-process webhook configuration (`webhook_configs`). */
import type { Knex } from 'knex';
import type { DefinitionRef } from '../store/rows.ts';

export type WebhookConfig = { mode: 'open' } | { mode: 'signed'; secrets: string[] };

export async function loadWebhookConfig(db: Knex, bpmnProcessId: string): Promise<WebhookConfig | undefined> {
  const row = (await db('webhook_configs').where({ bpmn_process_id: bpmnProcessId }).first('open', 'secrets')) as
    | ConfigRow
    | undefined;
  return toConfig(row);
}

type ConfigRow = { open: boolean | null; secrets: string[] | null };

/** A `webhook_configs` row (or the nulls of a LEFT JOIN that found none) as a configuration. */
function toConfig(row: ConfigRow | undefined): WebhookConfig | undefined {
  if (!row || row.open === null) return undefined;
  return row.open ? { mode: 'open' } : { mode: 'signed', secrets: row.secrets ?? [] };
}

/**
 * What a webhook request needs to know about its process: the latest deployed version (undefined
 * when none is deployed), and its webhook configuration (undefined when none). The start hands the
 * version on, so its batch need not look it up again.
 */
export interface WebhookTarget {
  latest: DefinitionRef | undefined;
  config: WebhookConfig | undefined;
}

/** Reads a `WebhookTarget` in one round trip (cached by webhook-targets.ts). */
export async function loadWebhookTarget(db: Knex, bpmnProcessId: string): Promise<WebhookTarget> {
  const { rows } = await db.raw(
    `SELECT d.id, d.version, w.open, w.secrets
       FROM (SELECT 1) AS one
       LEFT JOIN LATERAL (SELECT id, version FROM process_definitions WHERE bpmn_process_id = :id ORDER BY version DESC LIMIT 1) AS d ON true
       LEFT JOIN webhook_configs AS w ON w.bpmn_process_id = :id`,
    { id: bpmnProcessId },
  );
  const row = rows[0] as ConfigRow & { id: string | null; version: number | null };
  return {
    latest: row.id === null ? undefined : { id: row.id, bpmn_process_id: bpmnProcessId, version: row.version! },
    config: toConfig(row),
  };
}

/** Replaces the configuration of one process: either open or signed with the given secrets. */
export async function saveWebhookConfig(db: Knex, bpmnProcessId: string, config: WebhookConfig): Promise<void> {
  const row = {
    bpmn_process_id: bpmnProcessId,
    open: config.mode === 'open',
    secrets: config.mode === 'signed' ? config.secrets : [],
    updated_at: db.fn.now(),
  };
  await db('webhook_configs').insert(row).onConflict('bpmn_process_id').merge();
}

/** mode per process id of `bpmnProcessIds`, for listings (never the secrets). */
export async function webhookModes(db: Knex, bpmnProcessIds: string[]): Promise<Map<string, 'open' | 'signed'>> {
  const rows = (await db('webhook_configs')
    .whereIn('bpmn_process_id', bpmnProcessIds)
    .select('bpmn_process_id', 'open')) as { bpmn_process_id: string; open: boolean }[];
  return new Map(rows.map((row) => [row.bpmn_process_id, row.open ? 'open' : 'signed']));
}
