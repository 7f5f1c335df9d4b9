/**
 * Webhook targets change notifications: whatever changes a process's definitions or its webhook
 * configuration (a deployment, PUT .../webhook, the CLI, or a hand-written UPDATE in psql), the
 * database NOTIFYs `operon_webhook_targets` with the process id when the change commits. Every
 * engine process LISTENs and drops its cached webhook target (engine/http/webhook-targets.ts).
 * Both tables change rarely, so the NOTIFY's commit-time lock costs nothing measurable.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION operon_notify_webhook_target() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('operon_webhook_targets', '');
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('operon_webhook_targets', OLD.bpmn_process_id);
      ELSE
        PERFORM pg_notify('operon_webhook_targets', NEW.bpmn_process_id);
        IF TG_OP = 'UPDATE' AND OLD.bpmn_process_id IS DISTINCT FROM NEW.bpmn_process_id THEN
          PERFORM pg_notify('operon_webhook_targets', OLD.bpmn_process_id);
        END IF;
      END IF;
      RETURN NULL;
    END $$;
    COMMENT ON FUNCTION operon_notify_webhook_target() IS 'NOTIFY operon_webhook_targets with the changed bpmn_process_id (empty after TRUNCATE): engine processes drop their cached webhook target.';
    CREATE TRIGGER webhook_configs_notify AFTER INSERT OR UPDATE OR DELETE ON webhook_configs FOR EACH ROW EXECUTE FUNCTION operon_notify_webhook_target();
    CREATE TRIGGER webhook_configs_truncate_notify AFTER TRUNCATE ON webhook_configs FOR EACH STATEMENT EXECUTE FUNCTION operon_notify_webhook_target();
    CREATE TRIGGER process_definitions_notify AFTER INSERT OR UPDATE OR DELETE ON process_definitions FOR EACH ROW EXECUTE FUNCTION operon_notify_webhook_target();
    CREATE TRIGGER process_definitions_truncate_notify AFTER TRUNCATE ON process_definitions FOR EACH STATEMENT EXECUTE FUNCTION operon_notify_webhook_target();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS webhook_configs_notify ON webhook_configs;
    DROP TRIGGER IF EXISTS webhook_configs_truncate_notify ON webhook_configs;
    DROP TRIGGER IF EXISTS process_definitions_notify ON process_definitions;
    DROP TRIGGER IF EXISTS process_definitions_truncate_notify ON process_definitions;
    DROP FUNCTION IF EXISTS operon_notify_webhook_target();
  `);
}
