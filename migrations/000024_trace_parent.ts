/**
 * W3C trace context kept with the work it belongs to (docs/observability.md): an instance's
 * `trace_parent` names the span of its start (the webhook's trace continues there), a job's names
 * the span of the step that created it. A job picked up by another engine process, or after a
 * crash, continues the same trace; external workers get it with the job they activate.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE process_instances ADD COLUMN trace_parent text, ADD COLUMN trace_state text;
    ALTER TABLE jobs ADD COLUMN trace_parent text, ADD COLUMN trace_state text;
    COMMENT ON COLUMN process_instances.trace_parent IS 'W3C traceparent (00-<trace id>-<span id>-<flags>) of the span that started the instance; later steps without a job (timers, messages, user tasks) continue its trace. NULL when the start had no trace context and tracing was off.';
    COMMENT ON COLUMN process_instances.trace_state IS 'W3C tracestate that came with trace_parent, if any.';
    COMMENT ON COLUMN jobs.trace_parent IS 'W3C traceparent of the step that created the job: the worker''s span for the job is its child, and external workers get it in their activation answer (traceparent).';
    COMMENT ON COLUMN jobs.trace_state IS 'W3C tracestate that came with trace_parent, if any.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE process_instances DROP COLUMN trace_parent, DROP COLUMN trace_state;
    ALTER TABLE jobs DROP COLUMN trace_parent, DROP COLUMN trace_state;
  `);
}
