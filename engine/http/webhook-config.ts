/** Per-process webhook configuration (`webhook_configs`). */
import type { Knex } from 'knex';

export type WebhookConfig = { mode: 'open' } | { mode: 'signed'; secrets: string[] };

export async function loadWebhookConfig(db: Knex, bpmnProcessId: string): Promise<WebhookConfig | undefined> {
  const row = (await db('webhook_configs').where({ bpmn_process_id: bpmnProcessId }).first('open', 'secrets')) as { open: boolean; secrets: string[] } | undefined;
  if (!row) return undefined;
  return row.open ? { mode: 'open' } : { mode: 'signed', secrets: row.secrets };
}

/** Replaces the configuration of one process: either open or signed with the given secrets. */
export async function saveWebhookConfig(db: Knex, bpmnProcessId: string, config: WebhookConfig): Promise<void> {
  const row = { bpmn_process_id: bpmnProcessId, open: config.mode === 'open', secrets: config.mode === 'signed' ? config.secrets : [], updated_at: db.fn.now() };
  await db('webhook_configs').insert(row).onConflict('bpmn_process_id').merge();
}

/** mode per process id, for listings (never the secrets). */
export async function webhookModes(db: Knex): Promise<Map<string, 'open' | 'signed'>> {
  const rows = (await db('webhook_configs').select('bpmn_process_id', 'open')) as { bpmn_process_id: string; open: boolean }[];
  return new Map(rows.map((row) => [row.bpmn_process_id, row.open ? 'open' : 'signed']));
}
