/**
 * Why a decision went to a person, in SQL: `decisions.review_reasons`, the decision's
 * `reviewReasons` (low confidence, numbers outside the training range, unfamiliar words, screened
 * words, a required condition not met ...). Rows written before have none recorded.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE decisions ADD COLUMN review_reasons jsonb NOT NULL DEFAULT '[]'::jsonb;
    COMMENT ON COLUMN decisions.review_reasons IS 'Why the case needs review, one text per reason (reviewReasons: low confidence, a number outside the training range, unfamiliar words, a screened word, a required condition not met, text cut ...); [] when it was automated. Empty for rows written before migration 000027.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE decisions DROP COLUMN review_reasons');
}
