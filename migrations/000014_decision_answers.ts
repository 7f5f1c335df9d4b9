/**
 * Which rule or which model answered: one row per automated answer of an instance, from a DMN
 * decision table (a business rule task whose evaluation matched at least one rule) or from a GPT
 * decision node (table `decisions`). The shipped loan process asks its hard-limit table first and
 * the loan model only when no rule matched, so its answers read `rule:...` or `model:...`.
 */
import type { Knex } from 'knex';

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const COLUMNS: Record<string, string> = {
  decided_at: 'When the answer was given (decision_evaluations.evaluated_at or decisions.created_at).',
  process_instance_id: 'The process instance; null for model decisions made with operon decide.',
  bpmn_process_id: 'BPMN process id of the instance.',
  business_key: 'Business key of the instance.',
  element_id: 'BPMN element id of the business rule task or decision task.',
  source: 'rule (a DMN decision table) or model (a decision: node).',
  decided_by:
    'Who answered: rule:<decision id>/<rule id> (several matched rules joined by commas) or model:<model name>@<model version>.',
  decision: 'The DMN decision id, or the model name.',
  version: 'The DMN decision version, or the model version (text).',
  rule_ids: 'Ids of the matched rules the hit policy kept; null for a model.',
  answer: 'The answer as JSON: the decision output of a rule, the chosen label of a model.',
  needs_review: 'true when the model was not confident enough and a person had to review; false for rules.',
  reviewed_label: "The reviewer's label for a model decision, if reviewed; null for rules.",
  source_id: 'decision_evaluations.id for a rule, decisions.id for a model.',
};

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE VIEW decision_answers AS
      SELECT e.evaluated_at AS decided_at, e.process_instance_id, p.bpmn_process_id, p.business_key, e.element_id,
        'rule'::text AS source,
        'rule:' || e.decision_id || '/' || array_to_string(e.matched_rule_ids, ',') AS decided_by,
        e.decision_id AS decision, e.version::text AS version, e.matched_rule_ids AS rule_ids,
        e.output AS answer, false AS needs_review, NULL::text AS reviewed_label, e.id::text AS source_id
      FROM decision_evaluations e JOIN process_instances p ON p.id = e.process_instance_id
      WHERE cardinality(e.matched_rule_ids) > 0
      UNION ALL
      SELECT d.created_at, d.process_instance_id, p.bpmn_process_id, p.business_key, d.element_id,
        'model'::text,
        'model:' || d.model_name || '@' || d.model_version,
        d.model_name, d.model_version, NULL::text[],
        to_jsonb(d.label), d.needs_review, d.reviewed_label, d.id::text
      FROM decisions d LEFT JOIN process_instances p ON p.id = d.process_instance_id`);
  await knex.raw(
    `COMMENT ON VIEW decision_answers IS ${quote(
      'Every automated answer, with who gave it: a DMN rule (a business rule task whose table matched) or a GPT model (a decision: task). An evaluation that matched no rule answered nothing and is not listed.',
    )}`,
  );
  for (const [column, text] of Object.entries(COLUMNS))
    await knex.raw(`COMMENT ON COLUMN decision_answers.?? IS ${quote(text)}`, [column]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS decision_answers');
}
