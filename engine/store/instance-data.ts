/**
 * Everything an instance leaves behind, for erasure (redact in place) and retention (delete): the
 * one list of tables and columns that may hold a data subject's words or values. A table that
 * gains such a column belongs here too (test/store/erasure.test.ts scans every text and jsonb
 * column of every table for a marker to catch one that does not).
 */
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Db } from './rows.ts';
import { redactAudit } from './audit-log.ts';

/** Where bot runs keep screenshots and traces: OPERON_ARTIFACTS_DIR, else .operon/artifacts (as nodes/bot). */
export function defaultArtifactsDir(): string {
  return resolve(process.env.OPERON_ARTIFACTS_DIR ?? '.operon/artifacts');
}

/** The redaction marker a history payload is replaced with (the history trigger allows exactly this update). */
export const REDACTED = { redacted: true } as const;

/** Instances plus their call-activity descendants, locked (FOR UPDATE, in id order) in the caller's transaction. */
export async function withDescendants(tx: Db, instanceIds: string[]): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  const { rows } = (await tx.raw(
    `WITH RECURSIVE tree(id) AS (
       SELECT unnest(?::uuid[])
       UNION
       SELECT p.id FROM process_instances p JOIN tree t ON p.parent_instance_id = t.id
     )
     SELECT p.id FROM process_instances p JOIN tree USING (id) ORDER BY p.id FOR UPDATE OF p`,
    [instanceIds],
  )) as { rows: { id: string }[] };
  return rows.map((row) => row.id);
}

/** Ids of the bot runs of these instances (their artifacts live under bot-runs/<id>). */
export async function botRunIds(tx: Db, instanceIds: string[]): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  const rows = (await tx('bot_runs').whereIn('process_instance_id', instanceIds).select('id')) as { id: string }[];
  return rows.map((row) => row.id);
}

/**
 * Replaces every value a data subject may have given or caused with nothing, keeping the skeleton:
 * which elements ran when, which model decided what with which scores, who reviewed, and the audit
 * chain. Instances must be ended and locked by the caller.
 */
export async function redactInstances(tx: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const any = '?::uuid[]';
  const statements: string[] = [
    `UPDATE process_instances SET business_key = NULL, variables = '{}',
       snapshot = jsonb_build_object('__runtimeSnapshot', true, 'redacted', true) WHERE id = ANY(${any})`,
    `UPDATE jobs SET variables = '{}', error_message = NULL WHERE process_instance_id = ANY(${any})`,
    `UPDATE user_tasks SET variables = '{}', result = NULL WHERE process_instance_id = ANY(${any})`,
    `UPDATE incidents SET message = '(erased)', details = NULL, retry_event = NULL WHERE process_instance_id = ANY(${any})`,
    `UPDATE message_subscriptions SET correlation_key = NULL WHERE process_instance_id = ANY(${any})`,
    `UPDATE messages SET variables = '{}', correlation_key = '' WHERE process_instance_id = ANY(${any})`,
    `DELETE FROM message_ids WHERE process_instance_id = ANY(${any})`,
    `UPDATE decisions SET prompt = '', inputs = '{}', truncated_fields = '[]', review_reasons = '[]' WHERE process_instance_id = ANY(${any})`,
    `UPDATE decision_evaluations SET inputs = '{}', output = NULL, evaluated = '[]' WHERE process_instance_id = ANY(${any})`,
    `UPDATE bot_runs SET error_message = NULL, blocked_requests = '[]', screenshot_path = NULL, trace_path = NULL
       WHERE process_instance_id = ANY(${any})`,
    `UPDATE instance_handovers SET payload = '{}' WHERE process_instance_id = ANY(${any}) OR parent_instance_id = ANY(${any})`,
    `DELETE FROM idempotency_keys WHERE instance_id = ANY(${any})`,
    `UPDATE history SET payload = '{"redacted": true}'::jsonb WHERE process_instance_id = ANY(${any}) AND payload IS DISTINCT FROM '{"redacted": true}'::jsonb`,
  ];
  for (const sql of statements) {
    const bindings = Array.from({ length: sql.split(any).length - 1 }, () => ids);
    await tx.raw(sql, bindings);
  }
  await redactAudit(tx, ids);
}

/**
 * Deletes instances and everything hanging off them (the audit chain keeps its rows, redacted).
 * Runtime tables go by foreign-key cascade; the audit-style tables without a foreign key by hand.
 */
export async function deleteInstances(tx: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const statements = [
    'DELETE FROM bot_runs WHERE process_instance_id = ANY(?::uuid[])',
    'DELETE FROM decisions WHERE process_instance_id = ANY(?::uuid[])',
    'DELETE FROM history WHERE process_instance_id = ANY(?::uuid[])',
    'DELETE FROM idempotency_keys WHERE instance_id = ANY(?::uuid[])',
    'DELETE FROM message_ids WHERE process_instance_id = ANY(?::uuid[])',
    'DELETE FROM messages WHERE process_instance_id = ANY(?::uuid[])',
    'DELETE FROM instance_handovers WHERE process_instance_id = ANY(?::uuid[])',
  ];
  for (const sql of statements) await tx.raw(sql, [ids]);
  await redactAudit(tx, ids);
  await tx.raw('DELETE FROM process_instances WHERE id = ANY(?::uuid[])', [ids]);
}

/**
 * Removes the artifact folders (bot-runs/<id>) of these bot runs; returns how many files they held.
 * Called after the transaction that forgot them committed: a crash in between leaves files no row
 * names, never a row naming a missing file.
 */
export async function deleteBotArtifacts(artifactsDir: string, runIds: string[]): Promise<number> {
  let files = 0;
  for (const id of runIds) {
    if (!/^[0-9a-f-]{36}$/i.test(id)) continue;
    const folder = join(artifactsDir, 'bot-runs', id);
    try {
      files += (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
    } catch {
      continue; // no artifacts kept for this run
    }
    await rm(folder, { recursive: true, force: true });
  }
  return files;
}
