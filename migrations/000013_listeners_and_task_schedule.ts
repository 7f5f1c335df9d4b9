/**
 * Camunda 8 listeners and user task attributes. Jobs now also run execution listeners (start / end
 * of an element or the process) and creating task listeners: `jobs.listener_event_type` tells them
 * from an element's own job. `zeebe:properties` of the element travel with its jobs and user tasks.
 * User tasks keep their candidate users, due date, follow-up date and priority, so the task list
 * can filter on them (GET /api/tasks).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jobs ADD COLUMN listener_event_type text
      CONSTRAINT jobs_listener_event_type_check CHECK (listener_event_type IN ('start', 'end', 'creating'));
    ALTER TABLE jobs ADD COLUMN properties jsonb;
    COMMENT ON COLUMN jobs.listener_event_type IS 'NULL for an element''s own job; start or end for an execution listener''s job (zeebe:executionListener), creating for a user task''s creating listener (zeebe:taskListener). The element waits for it.';
    COMMENT ON COLUMN jobs.properties IS 'zeebe:properties of the element (name -> value); NULL when it has none.';

    ALTER TABLE user_tasks ADD COLUMN candidate_users text[];
    ALTER TABLE user_tasks ADD COLUMN due_date timestamptz;
    ALTER TABLE user_tasks ADD COLUMN follow_up_date timestamptz;
    ALTER TABLE user_tasks ADD COLUMN priority integer NOT NULL DEFAULT 50
      CONSTRAINT user_tasks_priority_check CHECK (priority BETWEEN 0 AND 100);
    ALTER TABLE user_tasks ADD COLUMN properties jsonb;
    COMMENT ON COLUMN user_tasks.candidate_users IS 'zeebe:assignmentDefinition candidate users (a FEEL expression evaluated when the task was created).';
    COMMENT ON COLUMN user_tasks.due_date IS 'zeebe:taskSchedule dueDate, evaluated when the task was created.';
    COMMENT ON COLUMN user_tasks.follow_up_date IS 'zeebe:taskSchedule followUpDate, evaluated when the task was created.';
    COMMENT ON COLUMN user_tasks.priority IS 'zeebe:priorityDefinition priority, 0..100; 50 when the model sets none (as in Camunda 8).';
    COMMENT ON COLUMN user_tasks.properties IS 'zeebe:properties of the user task (name -> value); NULL when it has none.';

    CREATE INDEX user_tasks_open_candidate_users_idx ON user_tasks USING gin (candidate_users) WHERE state = 'open';
    CREATE INDEX user_tasks_open_candidate_groups_idx ON user_tasks USING gin (candidate_groups) WHERE state = 'open';
    CREATE INDEX user_tasks_open_due_date_idx ON user_tasks (due_date) WHERE state = 'open';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS user_tasks_open_due_date_idx;
    DROP INDEX IF EXISTS user_tasks_open_candidate_groups_idx;
    DROP INDEX IF EXISTS user_tasks_open_candidate_users_idx;
    ALTER TABLE user_tasks DROP COLUMN IF EXISTS properties, DROP COLUMN IF EXISTS priority,
      DROP COLUMN IF EXISTS follow_up_date, DROP COLUMN IF EXISTS due_date, DROP COLUMN IF EXISTS candidate_users;
    ALTER TABLE jobs DROP COLUMN IF EXISTS properties, DROP COLUMN IF EXISTS listener_event_type;
  `);
}
