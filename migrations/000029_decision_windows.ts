/**
 * How a long text was read, in SQL: `decisions.windows`, the overlapping parts of a free-text
 * field the model read one after another when the text was longer than it reads at once
 * (nodes/decision/windows.ts), each with its character range, label and confidence. Null when
 * the text fitted, and for rows written before.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE decisions ADD COLUMN windows jsonb;
    COMMENT ON COLUMN decisions.windows IS 'For a decision whose free text was longer than the model reads at once and was read in overlapping parts: [{"start": ..., "end": ..., "label": ..., "confidence": ...}], character ranges of the text; the answer is automated only when every part gives it at or above the threshold. Null otherwise (and for rows written before migration 000029).';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE decisions DROP COLUMN windows');
}
