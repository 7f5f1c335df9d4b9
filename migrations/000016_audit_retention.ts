/**
 * The audit trail, retention and erasure (docs/security.md).
 *
 * `audit_log` is append-only and hash-chained: every row's `hash` covers the previous row's hash and
 * the row's own facts, so a changed, removed or inserted row breaks the chain (`operon audit verify`).
 * Personal data may only sit in `change`, which the chain covers through `change_digest`, a salted
 * SHA-256: erasure sets `change` and `change_salt` to null and the chain still verifies (without the
 * salt the digest of a short value cannot be guessed back either). A trigger refuses every other
 * update, every delete and TRUNCATE. `audit_chain_head` is the single row appenders lock, so that
 * concurrent transactions append one after another.
 *
 * `process_definitions.retention` is a process's time to live for ended instances (BPMN
 * `operon:retention`), `legal_holds` suspends it and erasure for one instance, `erasures` are the
 * durable erasure jobs. `history` accepts one kind of update besides inserts: its payload replaced
 * by the redaction marker.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_log (
      seq bigint PRIMARY KEY,
      at timestamptz NOT NULL,
      actor_kind text NOT NULL,
      actor_id text NOT NULL,
      action text NOT NULL,
      target_kind text NOT NULL,
      target_id text,
      process_instance_id uuid,
      change jsonb,
      change_salt text,
      change_digest text NOT NULL,
      redacted_at timestamptz,
      prev_hash text NOT NULL,
      hash text NOT NULL
    );
    CREATE INDEX audit_log_instance_idx ON audit_log (process_instance_id, seq) WHERE process_instance_id IS NOT NULL;
    CREATE INDEX audit_log_target_idx ON audit_log (target_kind, target_id);
    COMMENT ON TABLE audit_log IS 'Append-only, hash-chained record of every human and machine action (deploy, start, cancel, modify, incident resolve, task completion, review, webhook configuration, API token, legal hold, erasure, model train/activate). Check it with operon audit verify.';
    COMMENT ON COLUMN audit_log.seq IS 'Position in the chain: 1, 2, 3, ... without gaps.';
    COMMENT ON COLUMN audit_log.at IS 'When the action happened (the time of its transaction, millisecond precision).';
    COMMENT ON COLUMN audit_log.actor_kind IS 'What kind of actor acted: user, apiKey, token (the shared API token), webhook, dev, cli or system.';
    COMMENT ON COLUMN audit_log.actor_id IS 'Who acted: user name, API key id, api-token, the webhook''s process id, the operating-system user of a CLI command, or engine.';
    COMMENT ON COLUMN audit_log.action IS 'What was done, e.g. deployment.create, instance.start, instance.cancel, instance.modify, incident.resolve, task.complete, decision.review, webhook.configure, legalHold.place, erasure.request.';
    COMMENT ON COLUMN audit_log.target_kind IS 'Kind of the thing acted on: process, instance, task, incident, decision, model, apiToken, erasure, retention.';
    COMMENT ON COLUMN audit_log.target_id IS 'Id of the thing acted on.';
    COMMENT ON COLUMN audit_log.process_instance_id IS 'The process instance the action concerns, if any (for evidence exports and erasure).';
    COMMENT ON COLUMN audit_log.change IS 'What changed (JSON), e.g. the variables a task was completed with. May hold personal data: null once redacted by erasure or retention.';
    COMMENT ON COLUMN audit_log.change_salt IS 'Random salt of change_digest; null once redacted, so that the digest of a redacted value cannot be guessed back.';
    COMMENT ON COLUMN audit_log.change_digest IS 'Hex SHA-256 of change_salt followed by the canonical JSON of change; the chain covers this digest, not change itself.';
    COMMENT ON COLUMN audit_log.redacted_at IS 'When change was redacted (erasure or retention); null while it is intact.';
    COMMENT ON COLUMN audit_log.prev_hash IS 'hash of the row before (64 zeros for the first row).';
    COMMENT ON COLUMN audit_log.hash IS 'Hex SHA-256 of prev_hash followed by the canonical JSON of seq, at, actor, action, target, process_instance_id and change_digest.';

    CREATE TABLE audit_chain_head (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      seq bigint NOT NULL,
      hash text NOT NULL
    );
    INSERT INTO audit_chain_head (seq, hash) VALUES (0, repeat('0', 64));
    COMMENT ON TABLE audit_chain_head IS 'The latest audit_log row (one row): appenders lock it, so the chain stays linear; operon audit verify checks the log ends there.';
    COMMENT ON COLUMN audit_chain_head.id IS 'Always true (there is one row).';
    COMMENT ON COLUMN audit_chain_head.seq IS 'seq of the latest audit_log row (0 before the first).';
    COMMENT ON COLUMN audit_chain_head.hash IS 'hash of the latest audit_log row; record it elsewhere to anchor the chain.';

    CREATE FUNCTION operon_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- The one update allowed: redacting change (erasure, retention); everything the chain covers stays.
      IF TG_OP = 'UPDATE'
         AND NEW.change IS NULL AND NEW.change_salt IS NULL AND NEW.redacted_at IS NOT NULL
         AND (NEW.seq, NEW.at, NEW.actor_kind, NEW.actor_id, NEW.action, NEW.target_kind, NEW.target_id,
              NEW.process_instance_id, NEW.change_digest, NEW.prev_hash, NEW.hash)
             IS NOT DISTINCT FROM
             (OLD.seq, OLD.at, OLD.actor_kind, OLD.actor_id, OLD.action, OLD.target_kind, OLD.target_id,
              OLD.process_instance_id, OLD.change_digest, OLD.prev_hash, OLD.hash) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'audit_log is append-only (only change may be redacted)';
    END $$;
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION operon_audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION operon_audit_log_append_only();

    CREATE OR REPLACE FUNCTION operon_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Erasure may replace a payload by the redaction marker; nothing else changes.
      IF NEW.payload = '{"redacted": true}'::jsonb
         AND (NEW.id, NEW.process_instance_id, NEW.element_instance_key, NEW.element_id, NEW.event_type, NEW.created_at)
             IS NOT DISTINCT FROM
             (OLD.id, OLD.process_instance_id, OLD.element_instance_key, OLD.element_id, OLD.event_type, OLD.created_at) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'history is append-only (drop a partition for retention)';
    END $$;

    ALTER TABLE process_definitions ADD COLUMN retention interval;
    -- What the retention sweep and erasure look up, and the foreign keys a deleted instance is checked against.
    CREATE INDEX process_instances_ended_idx ON process_instances (ended_at) WHERE state <> 'active';
    CREATE INDEX idempotency_keys_instance_idx ON idempotency_keys (instance_id) WHERE instance_id IS NOT NULL;
    CREATE INDEX messages_instance_idx ON messages (process_instance_id) WHERE process_instance_id IS NOT NULL;
    CREATE INDEX message_ids_instance_idx ON message_ids (process_instance_id) WHERE process_instance_id IS NOT NULL;
    COMMENT ON COLUMN process_definitions.retention IS 'Time to live of ended instances (BPMN zeebe:property operon:retention, an ISO 8601 duration); null: OPERON_RETENTION_DEFAULT, else kept for ever.';

    CREATE TABLE legal_holds (
      process_instance_id uuid PRIMARY KEY REFERENCES process_instances(id) ON DELETE CASCADE,
      reason text NOT NULL,
      placed_by text NOT NULL,
      placed_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE legal_holds IS 'Process instances under legal hold: retention does not delete them and erasure leaves them alone until the hold is lifted.';
    COMMENT ON COLUMN legal_holds.process_instance_id IS 'The held process instance.';
    COMMENT ON COLUMN legal_holds.reason IS 'Why it is held (case number, claim).';
    COMMENT ON COLUMN legal_holds.placed_by IS 'Who placed the hold (actor kind:id).';
    COMMENT ON COLUMN legal_holds.placed_at IS 'When the hold was placed.';

    CREATE TABLE erasures (
      id uuid PRIMARY KEY,
      business_key text,
      state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
      requested_by text NOT NULL,
      requested_at timestamptz NOT NULL DEFAULT now(),
      owner text,
      lease_expires_at timestamptz,
      finished_at timestamptz,
      erased_instances integer NOT NULL DEFAULT 0,
      deleted_artifacts integer NOT NULL DEFAULT 0,
      skipped_active integer NOT NULL DEFAULT 0,
      skipped_held integer NOT NULL DEFAULT 0,
      error text
    );
    CREATE INDEX erasures_open_idx ON erasures (requested_at) WHERE state IN ('pending', 'running');
    COMMENT ON TABLE erasures IS 'Erasure requests for one data subject (a business key): durable jobs the engine''s timer loop carries out in batches (operon erase, POST /api/erasures).';
    COMMENT ON COLUMN erasures.id IS 'Erasure id.';
    COMMENT ON COLUMN erasures.business_key IS 'The business key whose instances are erased; null once the erasure is done, so the request itself keeps no trace of the subject.';
    COMMENT ON COLUMN erasures.state IS 'pending, running (an engine holds it under a lease), done or failed.';
    COMMENT ON COLUMN erasures.requested_by IS 'Who asked for it (actor kind:id).';
    COMMENT ON COLUMN erasures.requested_at IS 'When it was asked for.';
    COMMENT ON COLUMN erasures.owner IS 'The engine process carrying it out.';
    COMMENT ON COLUMN erasures.lease_expires_at IS 'When another engine may take it over (the owner died).';
    COMMENT ON COLUMN erasures.finished_at IS 'When it was done or failed.';
    COMMENT ON COLUMN erasures.erased_instances IS 'Process instances redacted (call-activity children included).';
    COMMENT ON COLUMN erasures.deleted_artifacts IS 'Bot artifact files (screenshots, traces) deleted.';
    COMMENT ON COLUMN erasures.skipped_active IS 'Matching instances still active, left as they are (cancel them and erase again).';
    COMMENT ON COLUMN erasures.skipped_held IS 'Matching instances under legal hold, left as they are.';
    COMMENT ON COLUMN erasures.error IS 'Why it failed.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS erasures;
    DROP TABLE IF EXISTS legal_holds;
    DROP INDEX IF EXISTS process_instances_ended_idx, idempotency_keys_instance_idx, messages_instance_idx, message_ids_instance_idx;
    ALTER TABLE process_definitions DROP COLUMN IF EXISTS retention;
    DROP TABLE IF EXISTS audit_chain_head;
    DROP TABLE IF EXISTS audit_log;
    DROP FUNCTION IF EXISTS operon_audit_log_append_only();
    CREATE OR REPLACE FUNCTION operon_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'history is append-only (drop a partition for retention)';
    END $$;
  `);
}
