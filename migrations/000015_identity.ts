/**
 * Who may do what (docs/security.md). API keys for machines live in `api_tokens` beside the
 * development token: each row now carries its roles and, for workers, the job types it may take.
 * Rows from before this migration were all full-access tokens and keep that as `kind = 'dev'`.
 * `process_instances.started_by` records who started an instance, so a four-eyes user task can
 * refuse a completion by the starter.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_tokens
      ADD COLUMN kind text NOT NULL DEFAULT 'dev',
      ADD COLUMN roles text[] NOT NULL DEFAULT '{admin}',
      ADD COLUMN task_types text[],
      ADD COLUMN revoked_at timestamptz,
      ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('dev', 'apiKey')),
      ADD CONSTRAINT api_tokens_roles_check CHECK (
        cardinality(roles) > 0 AND roles <@ ARRAY['admin','modeler','operator','reviewer','worker','viewer']::text[]);
    COMMENT ON COLUMN api_tokens.kind IS 'dev: the development token (OPERON_API_TOKEN or the one operon start generated), acting as admin; apiKey: a key made by operon api-key create or POST /api/api-keys.';
    COMMENT ON COLUMN api_tokens.roles IS 'Roles the token acts with: admin, modeler, operator, reviewer, worker, viewer (docs/security.md).';
    COMMENT ON COLUMN api_tokens.task_types IS 'For the worker role: the job types the key may activate and finish; null means none.';
    COMMENT ON COLUMN api_tokens.revoked_at IS 'When the key was revoked; a revoked key is refused (401).';

    ALTER TABLE process_instances ADD COLUMN started_by text;
    COMMENT ON COLUMN process_instances.started_by IS 'Who started the instance (docs/security.md): a user name, apiKey:<uuid>, dev or webhook:<bpmnProcessId>; null for timer, message and call-activity starts and for instances from before identities were recorded.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE process_instances DROP COLUMN IF EXISTS started_by;
    ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_roles_check, DROP CONSTRAINT IF EXISTS api_tokens_kind_check,
      DROP COLUMN IF EXISTS revoked_at, DROP COLUMN IF EXISTS task_types, DROP COLUMN IF EXISTS roles, DROP COLUMN IF EXISTS kind;
  `);
}
