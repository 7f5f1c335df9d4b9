/**
 * Concurrency limits written in the model (`operon:maxConcurrent` on a task or the process,
 * `operon:capacity` on the process): each job carries the limits it is under, and the claim query
 * counts the live leases of each limit before it leases more (engine/jobs/claim-jobs.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jobs ADD COLUMN concurrency_limits jsonb;
    COMMENT ON COLUMN jobs.concurrency_limits IS 'The concurrency limits the job is under, limit key -> slots (e.g. {"task/loan-approval/credit-check": 1, "process/loan-approval/bot": 2}): at most that many jobs carrying the key are leased at once, across all workers. From operon:maxConcurrent on the task (task/<process>/<element>) or the process (process/<process>) and operon:capacity on the process (process/<process>/<node type>). NULL: no limit.';
    CREATE INDEX jobs_limited_idx ON jobs (run_at, created_at)
      WHERE concurrency_limits IS NOT NULL AND state IN ('ready', 'leased');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS jobs_limited_idx;
    ALTER TABLE jobs DROP COLUMN IF EXISTS concurrency_limits;
  `);
}
