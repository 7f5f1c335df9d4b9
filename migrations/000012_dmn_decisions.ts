/**
 * DMN decisions (Camunda 8's `zeebe:calledDecision`): deployed decisions with versions, and one row
 * per evaluation by a business rule task. A decision is versioned on its own, like a process: a
 * `.dmn` file holding several decisions gives each of them a row, all holding the whole file, so
 * that a decision evaluates with the required decisions it was deployed with.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE decision_definitions (
      id uuid PRIMARY KEY,
      decision_id text NOT NULL,
      version integer NOT NULL,
      name text,
      drg_id text NOT NULL,
      resource_name text NOT NULL,
      xml text NOT NULL,
      xml_hash text NOT NULL,
      version_tag text,
      deployed_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (decision_id, version)
    );
    COMMENT ON TABLE decision_definitions IS 'Deployed DMN decisions: one row per version of a decision id.';
    COMMENT ON COLUMN decision_definitions.id IS 'Decision definition id (UUID).';
    COMMENT ON COLUMN decision_definitions.decision_id IS 'The id attribute of the dmn:decision element; business rule tasks call it by this id.';
    COMMENT ON COLUMN decision_definitions.version IS 'Version per decision_id, 1, 2, ...; redeploying an identical file creates no new version.';
    COMMENT ON COLUMN decision_definitions.name IS 'The name attribute of the dmn:decision element.';
    COMMENT ON COLUMN decision_definitions.drg_id IS 'The id of the file''s dmn:definitions (the decision requirements graph).';
    COMMENT ON COLUMN decision_definitions.resource_name IS 'File name the decision was deployed from.';
    COMMENT ON COLUMN decision_definitions.xml IS 'The deployed DMN XML (the whole file, with the decisions this one requires).';
    COMMENT ON COLUMN decision_definitions.xml_hash IS 'SHA-256 of the XML; a deployment with the same hash as the latest version is not a new version.';
    COMMENT ON COLUMN decision_definitions.version_tag IS 'The decision''s zeebe:versionTag, if any; business rule tasks with bindingType="versionTag" call the newest version carrying theirs.';
    COMMENT ON COLUMN decision_definitions.deployed_at IS 'When this version was deployed.';

    CREATE TABLE decision_evaluations (
      id bigserial PRIMARY KEY,
      process_instance_id uuid NOT NULL REFERENCES process_instances(id) ON DELETE CASCADE,
      element_instance_key text NOT NULL,
      element_id text NOT NULL,
      decision_definition_id uuid NOT NULL REFERENCES decision_definitions(id),
      decision_id text NOT NULL,
      version integer NOT NULL,
      inputs jsonb NOT NULL,
      matched_rule_ids text[] NOT NULL,
      output jsonb,
      evaluated jsonb NOT NULL,
      evaluated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX decision_evaluations_instance_idx ON decision_evaluations (process_instance_id);
    CREATE INDEX decision_evaluations_decision_idx ON decision_evaluations (decision_id, version);
    COMMENT ON TABLE decision_evaluations IS 'One row per evaluation of a DMN decision by a business rule task (zeebe:calledDecision).';
    COMMENT ON COLUMN decision_evaluations.process_instance_id IS 'The process instance.';
    COMMENT ON COLUMN decision_evaluations.element_instance_key IS 'The business rule task''s activation.';
    COMMENT ON COLUMN decision_evaluations.element_id IS 'BPMN element id of the business rule task.';
    COMMENT ON COLUMN decision_evaluations.decision_definition_id IS 'The decision_definitions row evaluated.';
    COMMENT ON COLUMN decision_evaluations.decision_id IS 'The called decision id (copied for easy filtering).';
    COMMENT ON COLUMN decision_evaluations.version IS 'The called decision''s version (copied for easy filtering).';
    COMMENT ON COLUMN decision_evaluations.inputs IS 'The called decision''s input values by input label (or id); {} for a literal expression.';
    COMMENT ON COLUMN decision_evaluations.matched_rule_ids IS 'Ids of the rules of the called decision that matched (the ones its hit policy kept).';
    COMMENT ON COLUMN decision_evaluations.output IS 'The decision result written to the result variable (JSON; null when no rule matched).';
    COMMENT ON COLUMN decision_evaluations.evaluated IS 'Every decision evaluated, required ones first: [{decisionId, decisionName, inputs, matchedRuleIds, output}].';
    COMMENT ON COLUMN decision_evaluations.evaluated_at IS 'When the step that evaluated it committed.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS decision_evaluations; DROP TABLE IF EXISTS decision_definitions');
}
