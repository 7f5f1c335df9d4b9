/**
 * Safe learning from reviewers: a head trained from reviewed decisions is registered with the
 * promotion gate's evaluation and a state (refused, shadow, active, retired); a head in shadow scores
 * live decisions beside the active version, its answer stored on the same `decisions` row, and
 * `decision_shadow_comparison` compares the two.
 */
import type { Knex } from 'knex';

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const columnComments: Record<string, Record<string, string>> = {
  decision_model_versions: {
    state:
      'refused: the promotion gate found a regression (see evaluation); shadow: scores live decisions beside the active version; active: decides; retired: was active or in shadow before.',
    evaluation:
      'The promotion gate: per set (reviewed held-out, standard, shifted, natural) accuracy, precision of automated answers, ECE and mean confidence of this head and of the version it was compared with, the difference and its 95% paired bootstrap interval, and the regressions found (JSON).',
    reason: 'Why the gate refused the head or let it into shadow, in words.',
    replay_cases:
      'Synthetic cases labelled by the written policy mixed into the training set, so the head does not forget.',
    shadow_decisions: 'Live decisions the head must score in shadow before it may be activated.',
    shadow_reviews:
      'Reviewed decisions among those it needs, on which it may not answer worse than the active version.',
    shadow_started_at: 'When the head entered its shadow period.',
  },
  decisions: {
    shadow_version: 'Head in shadow that also scored this decision (null when none was in shadow); it did not decide.',
    shadow_label: 'The label the head in shadow chose.',
    shadow_confidence: 'Probability of the label the head in shadow chose.',
    shadow_scores: 'Calibrated probability per label from the head in shadow (JSON).',
  },
};

const viewComments: Record<string, string> = {
  model_name: 'Model name.',
  shadow_version: 'The head in shadow.',
  shadow_state: 'Its state now (shadow, active, retired ...).',
  active_version: 'The version that decided while the head scored beside it.',
  decisions: 'Decisions the head scored in shadow beside active_version.',
  shadow_decisions_required: 'Decisions the shadow period needs.',
  agreement: 'Share of those decisions where both chose the same label.',
  reviewed: 'How many of them a person reviewed.',
  active_correct: 'Reviewed decisions where the active version chose the reviewer’s label.',
  shadow_correct: 'Reviewed decisions where the head in shadow chose the reviewer’s label.',
  active_reviewed_accuracy: 'active_correct / reviewed (null before any review).',
  shadow_reviewed_accuracy: 'shadow_correct / reviewed (null before any review).',
  active_mean_confidence: 'Mean confidence of the active version on these decisions.',
  shadow_mean_confidence: 'Mean confidence of the head in shadow on these decisions.',
  first_decided_at: 'First decision scored in shadow.',
  last_decided_at: 'Latest decision scored in shadow.',
};

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE decision_model_versions
      ADD COLUMN state text NOT NULL DEFAULT 'retired' CHECK (state IN ('refused', 'shadow', 'active', 'retired')),
      ADD COLUMN evaluation jsonb,
      ADD COLUMN reason text,
      ADD COLUMN replay_cases integer NOT NULL DEFAULT 0,
      ADD COLUMN shadow_decisions integer,
      ADD COLUMN shadow_reviews integer,
      ADD COLUMN shadow_started_at timestamptz;
    UPDATE decision_model_versions SET state = 'active' WHERE active;
    ALTER TABLE decision_model_versions ADD CONSTRAINT decision_model_versions_state_active CHECK ((state = 'active') = active);
    CREATE UNIQUE INDEX decision_model_versions_one_shadow ON decision_model_versions (model_name) WHERE state = 'shadow';
    ALTER TABLE decisions
      ADD COLUMN shadow_version text,
      ADD COLUMN shadow_label text,
      ADD COLUMN shadow_confidence double precision,
      ADD COLUMN shadow_scores jsonb;
    CREATE INDEX decisions_shadow_idx ON decisions (model_name, shadow_version) WHERE shadow_version IS NOT NULL;
    CREATE VIEW decision_shadow_comparison AS
      SELECT d.model_name, d.shadow_version, v.state AS shadow_state, d.model_version AS active_version,
        count(*)::int AS decisions, v.shadow_decisions AS shadow_decisions_required,
        avg((d.label = d.shadow_label)::int)::double precision AS agreement,
        count(d.reviewed_label)::int AS reviewed,
        count(*) FILTER (WHERE d.label = d.reviewed_label)::int AS active_correct,
        count(*) FILTER (WHERE d.shadow_label = d.reviewed_label)::int AS shadow_correct,
        (count(*) FILTER (WHERE d.label = d.reviewed_label))::double precision / NULLIF(count(d.reviewed_label), 0) AS active_reviewed_accuracy,
        (count(*) FILTER (WHERE d.shadow_label = d.reviewed_label))::double precision / NULLIF(count(d.reviewed_label), 0) AS shadow_reviewed_accuracy,
        avg(d.confidence) AS active_mean_confidence,
        avg(d.shadow_confidence) AS shadow_mean_confidence,
        min(d.created_at) AS first_decided_at, max(d.created_at) AS last_decided_at
      FROM decisions d LEFT JOIN decision_model_versions v ON v.version = d.shadow_version
      WHERE d.shadow_version IS NOT NULL
      GROUP BY d.model_name, d.shadow_version, v.state, d.model_version, v.shadow_decisions;
  `);
  for (const [table, columns] of Object.entries(columnComments)) {
    for (const [column, text] of Object.entries(columns))
      await knex.raw(`COMMENT ON COLUMN ??.?? IS ${quote(text)}`, [table, column]);
  }
  await knex.raw(
    `COMMENT ON VIEW decision_shadow_comparison IS ${quote('Heads in shadow against the version that decided, per head and active version: agreement, and accuracy against reviewers’ labels where decisions were reviewed. Activating a head in shadow needs this comparison.')}`,
  );
  for (const [column, text] of Object.entries(viewComments))
    await knex.raw(`COMMENT ON COLUMN decision_shadow_comparison.?? IS ${quote(text)}`, [column]);
  await knex.raw(
    `COMMENT ON COLUMN decision_model_versions.metrics IS ${quote('Held-out metrics of the head and of the version it was compared against (JSON); the full gate is in evaluation.')}`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP VIEW IF EXISTS decision_shadow_comparison;
    DROP INDEX IF EXISTS decisions_shadow_idx;
    ALTER TABLE decisions DROP COLUMN IF EXISTS shadow_version, DROP COLUMN IF EXISTS shadow_label,
      DROP COLUMN IF EXISTS shadow_confidence, DROP COLUMN IF EXISTS shadow_scores;
    DROP INDEX IF EXISTS decision_model_versions_one_shadow;
    ALTER TABLE decision_model_versions DROP CONSTRAINT IF EXISTS decision_model_versions_state_active,
      DROP COLUMN IF EXISTS state, DROP COLUMN IF EXISTS evaluation, DROP COLUMN IF EXISTS reason,
      DROP COLUMN IF EXISTS replay_cases, DROP COLUMN IF EXISTS shadow_decisions, DROP COLUMN IF EXISTS shadow_reviews,
      DROP COLUMN IF EXISTS shadow_started_at;
  `);
}
