/**
 * Completing task listeners (zeebe:taskListener eventType "completing"): a user task whose
 * completion was requested stays `completing` while its listeners' jobs run, and those jobs are
 * marked `completing` in `jobs.listener_event_type`.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jobs DROP CONSTRAINT jobs_listener_event_type_check;
    ALTER TABLE jobs ADD CONSTRAINT jobs_listener_event_type_check
      CHECK (listener_event_type IN ('start', 'end', 'creating', 'completing'));
    COMMENT ON COLUMN jobs.listener_event_type IS 'NULL for an element''s own job; start or end for an execution listener''s job (zeebe:executionListener), creating or completing for a user task''s task listener (zeebe:taskListener). The element waits for it.';

    ALTER TABLE user_tasks DROP CONSTRAINT user_tasks_state_check;
    ALTER TABLE user_tasks ADD CONSTRAINT user_tasks_state_check
      CHECK (state IN ('open', 'completing', 'completed', 'cancelled'));
    COMMENT ON COLUMN user_tasks.state IS 'open: waiting for a person; completing: completed by a person (result, completed_by set), its completing listeners'' jobs still run; completed; cancelled: its element ended otherwise.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE user_tasks SET state = 'open' WHERE state = 'completing';
    ALTER TABLE user_tasks DROP CONSTRAINT user_tasks_state_check;
    ALTER TABLE user_tasks ADD CONSTRAINT user_tasks_state_check CHECK (state IN ('open', 'completed', 'cancelled'));
    UPDATE jobs SET listener_event_type = NULL WHERE listener_event_type = 'completing';
    ALTER TABLE jobs DROP CONSTRAINT jobs_listener_event_type_check;
    ALTER TABLE jobs ADD CONSTRAINT jobs_listener_event_type_check
      CHECK (listener_event_type IN ('start', 'end', 'creating'));
  `);
}
