/**
 * HTTP API state: API tokens (hashed), per-process webhook configuration, and idempotency keys
 * (which also deduplicate Standard Webhooks `webhook-id`s).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz
    );
    COMMENT ON TABLE api_tokens IS 'Bearer tokens accepted by the /api routes. Only a SHA-256 hash of each token is kept; the token itself is shown once when it is created.';
    COMMENT ON COLUMN api_tokens.id IS 'Token id (not the token).';
    COMMENT ON COLUMN api_tokens.name IS 'Who or what the token is for, e.g. default or ci.';
    COMMENT ON COLUMN api_tokens.token_hash IS 'Hex SHA-256 of the token. Delete the row to revoke the token.';
    COMMENT ON COLUMN api_tokens.created_at IS 'When the token was created.';
    COMMENT ON COLUMN api_tokens.last_used_at IS 'Last time a request authenticated with this token (updated at most once a minute).';

    CREATE TABLE webhook_configs (
      bpmn_process_id text PRIMARY KEY,
      open boolean NOT NULL DEFAULT false,
      secrets text[] NOT NULL DEFAULT '{}',
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT webhook_configs_open_or_signed CHECK (open OR cardinality(secrets) > 0)
    );
    COMMENT ON TABLE webhook_configs IS 'How POST /webhooks/{bpmnProcessId} is authenticated. A process without a row here does not accept webhooks (401).';
    COMMENT ON COLUMN webhook_configs.bpmn_process_id IS 'BPMN process id (all versions) the webhook starts.';
    COMMENT ON COLUMN webhook_configs.open IS 'true: deliveries are accepted without a signature. Set explicitly with PUT /api/processes/{id}/webhook {"open": true}.';
    COMMENT ON COLUMN webhook_configs.secrets IS 'Standard Webhooks secrets (whsec_...). A delivery signed with any of them is accepted, so secrets can be rotated. Shared secrets: the HMAC needs them in clear, so restrict SELECT on this table.';
    COMMENT ON COLUMN webhook_configs.updated_at IS 'When the configuration was last changed.';

    CREATE TABLE idempotency_keys (
      scope text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
      status_code integer,
      response jsonb,
      instance_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
    COMMENT ON TABLE idempotency_keys IS 'One row per Idempotency-Key (or webhook-id) seen on a webhook or start call: a repeat with the same request gets the stored response instead of a second instance.';
    COMMENT ON COLUMN idempotency_keys.scope IS 'What the key belongs to, e.g. webhook:order-routing, webhook-id:order-routing or start: keys only repeat within their scope.';
    COMMENT ON COLUMN idempotency_keys.key IS 'The Idempotency-Key header or the webhook-id header as sent.';
    COMMENT ON COLUMN idempotency_keys.request_hash IS 'SHA-256 of the request (route, process and raw body). The same key with another request is answered 422.';
    COMMENT ON COLUMN idempotency_keys.state IS 'in_flight while the first request runs (a repeat gets 409), completed once its response is stored.';
    COMMENT ON COLUMN idempotency_keys.status_code IS 'HTTP status of the stored response.';
    COMMENT ON COLUMN idempotency_keys.response IS 'JSON body of the stored response, replayed to repeats.';
    COMMENT ON COLUMN idempotency_keys.instance_id IS 'The process instance the first request started.';
    COMMENT ON COLUMN idempotency_keys.created_at IS 'When the key was first seen. Rows older than a day may be deleted.';
    COMMENT ON COLUMN idempotency_keys.completed_at IS 'When the first request finished.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'DROP TABLE IF EXISTS idempotency_keys; DROP TABLE IF EXISTS webhook_configs; DROP TABLE IF EXISTS api_tokens;',
  );
}
