/**
 * Idempotency keys commit with their instance (engine/store/idempotency-keys.ts): the key row is
 * written in the transaction that inserts the instance, already `completed` and naming it, so a
 * server that dies before that commit leaves neither. `in_flight` rows are no longer written; the
 * ones servers left behind before this migration named no instance and answered every retry with
 * 409 until the retention sweep, so they are removed here (a retry of such a delivery now starts it).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM idempotency_keys WHERE state = 'in_flight';
    COMMENT ON TABLE idempotency_keys IS 'One row per Idempotency-Key (or webhook-id) seen on a webhook or start call, written in the transaction that started its instance: a repeat with the same request gets the stored response instead of a second instance.';
    COMMENT ON COLUMN idempotency_keys.state IS 'Always completed: the row commits together with its instance (in_flight was written by servers before migration 000010).';
    COMMENT ON COLUMN idempotency_keys.instance_id IS 'The process instance the first request started, committed in the same transaction as this row.';
    COMMENT ON COLUMN idempotency_keys.completed_at IS 'When the first request''s instance was started (the transaction that wrote this row).';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    COMMENT ON TABLE idempotency_keys IS 'One row per Idempotency-Key (or webhook-id) seen on a webhook or start call: a repeat with the same request gets the stored response instead of a second instance.';
    COMMENT ON COLUMN idempotency_keys.state IS 'in_flight while the first request runs (a repeat gets 409), completed once its response is stored.';
    COMMENT ON COLUMN idempotency_keys.instance_id IS 'The process instance the first request started.';
    COMMENT ON COLUMN idempotency_keys.completed_at IS 'When the first request finished.';
  `);
}
