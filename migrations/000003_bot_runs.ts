/**
 * The audit log of bot runs (`bot_runs`): one row per attempt of a `bot:<name>` job, with its
 * outcome and the screenshot / Playwright trace kept when it failed.
 *
 * Like `decisions`, rows keep the instance id without a foreign key: an audit record must outlive
 * the runtime rows it refers to.
 */
import type { Knex } from 'knex';

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const table =
  'Every run of a bot (one row per job attempt): which bot ran for which instance and element, how long it took, how it ended, the requests the egress policy blocked, and the artifacts kept when it failed.';

const columns: Record<string, string> = {
  id: 'Bot run id.',
  process_instance_id: 'Process instance the bot ran for.',
  element_id: 'BPMN element id of the service task.',
  element_instance_key: 'Element instance (one activation of the task).',
  job_id: 'Job that carried out the task.',
  attempt: 'Job attempt number, 1 on the first try.',
  bot: 'Registered bot name, the part after bot: in the task type (e.g. credit-bureau).',
  started_at: 'When the run started.',
  finished_at: 'When the run ended.',
  duration_ms: 'Run time in milliseconds, from start to end.',
  outcome:
    'How the run ended: succeeded, business_error (a BpmnError the process can catch), failed (technical or input error; technical ones are retried), timed_out (hard time limit, context closed), blocked (a page navigated to a host outside the egress policy) or aborted (the job was cancelled or the worker stopped).',
  error_code: 'BPMN error code or OPERON_ERR_* code of a run that did not succeed; null otherwise.',
  error_message: 'Error message of a run that did not succeed (secret values masked); null otherwise.',
  screenshot_path: 'Path of the PNG screenshot taken when the run failed (secret fields masked); null when none.',
  trace_path:
    'Path of the Playwright trace (zip) of a failed run, viewable with npx playwright show-trace; null when none.',
  blocked_requests: 'Requests the egress policy refused during the run (JSON array of { url, reason, navigation }).',
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bot_runs', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('process_instance_id');
    t.text('element_id');
    t.text('element_instance_key');
    t.text('job_id');
    t.integer('attempt').notNullable().defaultTo(1);
    t.text('bot').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.double('duration_ms');
    t.text('outcome').notNullable();
    t.text('error_code');
    t.text('error_message');
    t.text('screenshot_path');
    t.text('trace_path');
    t.jsonb('blocked_requests').notNullable().defaultTo('[]');
    t.index(['process_instance_id']);
    t.index(['bot', 'started_at']);
  });
  await knex.raw(
    `ALTER TABLE bot_runs ADD CONSTRAINT bot_runs_outcome_check CHECK (outcome IN ('succeeded', 'business_error', 'failed', 'timed_out', 'blocked', 'aborted'))`,
  );
  await knex.raw(`COMMENT ON TABLE bot_runs IS ${quote(table)}`);
  for (const [column, text] of Object.entries(columns))
    await knex.raw(`COMMENT ON COLUMN bot_runs.?? IS ${quote(text)}`, [column]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('bot_runs');
}
