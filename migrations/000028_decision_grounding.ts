/**
 * Why a decision under its confidence threshold was automated, in SQL: `decisions.grounding`, the
 * readings of its text on the model folder's reference cases (nodes/decision/grounding.ts), each
 * with its label and confidence. Null for every other decision and for rows written before.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE decisions ADD COLUMN grounding jsonb;
    COMMENT ON COLUMN decisions.grounding IS 'For an answer automated under its confidence threshold because the written policy grounds it: the model''s readings of the text on the reference cases, {"<reading>": {"label": ..., "confidence": ...}}; null otherwise (and for rows written before migration 000028).';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE decisions DROP COLUMN grounding');
}
