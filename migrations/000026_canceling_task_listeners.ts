/**
 * Canceling task listeners (zeebe:taskListener eventType "canceling"): a user task whose element is
 * being terminated stays `canceling` while its canceling listeners' jobs run, and those jobs are
 * marked so in `jobs.listener_event_type`.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jobs DROP CONSTRAINT jobs_listener_event_type_check;
    ALTER TABLE jobs ADD CONSTRAINT jobs_listener_event_type_check
      CHECK (listener_event_type IN ('start', 'end', 'creating', 'assigning', 'updating', 'completing', 'canceling'));
    COMMENT ON COLUMN jobs.listener_event_type IS 'NULL for an element''s own job; start or end for an execution listener''s job (zeebe:executionListener), creating, assigning, updating, completing or canceling for a user task''s task listener (zeebe:taskListener). The element waits for it.';

    ALTER TABLE user_tasks DROP CONSTRAINT user_tasks_state_check;
    ALTER TABLE user_tasks ADD CONSTRAINT user_tasks_state_check
      CHECK (state IN ('open', 'assigning', 'updating', 'completing', 'canceling', 'completed', 'cancelled'));
    COMMENT ON COLUMN user_tasks.state IS 'open: waiting for a person; assigning / updating: an assignment or update was requested, its task listeners'' jobs still run (the row shows the fields before it); completing: completed by a person (result, completed_by set), its completing listeners'' jobs still run; canceling: its element is being terminated, its canceling listeners'' jobs still run; completed; cancelled: its element ended otherwise.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE user_tasks SET state = 'cancelled' WHERE state = 'canceling';
    ALTER TABLE user_tasks DROP CONSTRAINT user_tasks_state_check;
    ALTER TABLE user_tasks ADD CONSTRAINT user_tasks_state_check
      CHECK (state IN ('open', 'assigning', 'updating', 'completing', 'completed', 'cancelled'));
    UPDATE jobs SET listener_event_type = NULL WHERE listener_event_type = 'canceling';
    ALTER TABLE jobs DROP CONSTRAINT jobs_listener_event_type_check;
    ALTER TABLE jobs ADD CONSTRAINT jobs_listener_event_type_check
      CHECK (listener_event_type IN ('start', 'end', 'creating', 'assigning', 'updating', 'completing'));
  `);
}
