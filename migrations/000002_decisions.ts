/**
 * The audit log of decision nodes (`decisions`) and the registry of classification heads trained
 * from reviewers' answers (`decision_model_versions`).
 *
 * `decisions` rows keep the instance id without a foreign key on purpose: an audit record must
 * outlive the runtime rows it refers to, and CLI decisions have no instance at all.
 */
import type { Knex } from 'knex';

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const comments: Record<string, { table: string; columns: Record<string, string> }> = {
  decisions: {
    table:
      'Every classification made by a decision: node or `operon decide`, with its inputs, scores and the reviewer’s answer when a person reviewed it.',
    columns: {
      id: 'Decision id (returned to the process as decisionId).',
      process_instance_id: 'Process instance the decision was made for; null for CLI decisions.',
      element_id: 'BPMN element id of the decision task.',
      element_instance_key: 'Element instance (one activation of the task).',
      job_id: 'Job that carried out the task.',
      model_name: 'Model folder name, e.g. loan or order (the part after decision:).',
      model_version: 'Version that decided: the base model version, or base+head.N for a head trained from reviews.',
      model_file_hash: 'SHA-256 of model.onnx that produced the decision.',
      prompt: 'The exact prompt the model read (after truncation).',
      inputs: 'The input variables the prompt was built from (JSON).',
      scores: 'Calibrated probability per label (JSON object label -> probability).',
      label: 'The label with the highest probability.',
      confidence: 'Probability of the chosen label, 0..1.',
      threshold: 'Confidence threshold in force; below it the decision needs review.',
      needs_review: 'True when confidence < threshold: the process should route to a person.',
      truncated: 'True when over-long text was cut to fit the model.',
      truncated_fields: 'Names of the variables that were cut (JSON array).',
      latency_ms: 'Time to classify, in milliseconds (queueing + inference).',
      reviewed_label:
        'Label given by the person who reviewed the case; null until reviewed. Training data for new heads.',
      reviewed_by: 'Who reviewed the case.',
      reviewed_at: 'When the case was reviewed.',
      created_at: 'When the decision was made.',
    },
  },
  decision_model_versions: {
    table:
      'Classification heads trained on a frozen base model from reviewed decisions; at most one active per model. No active row means the base model decides.',
    columns: {
      id: 'Head number (the N in version base+head.N).',
      model_name: 'Model folder name.',
      version: 'Version string recorded in decisions.model_version.',
      base_version: 'Version of the base model whose features the head reads.',
      base_file_hash: 'SHA-256 of the base model.onnx; a head only applies to that exact file.',
      head: 'Head parameters (JSON: weights, bias, temperature, labels).',
      metrics: 'Held-out metrics of the head and of the version it was compared against (JSON).',
      training_cases: 'Number of reviewed cases used for training.',
      source: 'Where the training cases came from (database or a JSONL file).',
      active: 'True for the version the decision node uses.',
      created_at: 'When the head was trained.',
      activated_at: 'When the head was last activated.',
    },
  },
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('decisions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('process_instance_id');
    t.text('element_id');
    t.text('element_instance_key');
    t.uuid('job_id');
    t.text('model_name').notNullable();
    t.text('model_version').notNullable();
    t.text('model_file_hash').notNullable();
    t.text('prompt').notNullable();
    t.jsonb('inputs').notNullable();
    t.jsonb('scores').notNullable();
    t.text('label').notNullable();
    t.double('confidence').notNullable();
    t.double('threshold').notNullable();
    t.boolean('needs_review').notNullable();
    t.boolean('truncated').notNullable().defaultTo(false);
    t.jsonb('truncated_fields').notNullable().defaultTo('[]');
    t.double('latency_ms').notNullable();
    t.text('reviewed_label');
    t.text('reviewed_by');
    t.timestamp('reviewed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['process_instance_id']);
    t.index(['model_name', 'created_at']);
  });
  await knex.raw(`CREATE INDEX decisions_reviewed_idx ON decisions (model_name) WHERE reviewed_label IS NOT NULL`);

  await knex.schema.createTable('decision_model_versions', (t) => {
    t.increments('id').primary();
    t.text('model_name').notNullable();
    t.text('version').notNullable().unique();
    t.text('base_version').notNullable();
    t.text('base_file_hash').notNullable();
    t.jsonb('head').notNullable();
    t.jsonb('metrics').notNullable();
    t.integer('training_cases').notNullable();
    t.text('source').notNullable();
    t.boolean('active').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('activated_at', { useTz: true });
  });
  await knex.raw(
    `CREATE UNIQUE INDEX decision_model_versions_one_active ON decision_model_versions (model_name) WHERE active`,
  );

  for (const [table, { table: tableComment, columns }] of Object.entries(comments)) {
    await knex.raw(`COMMENT ON TABLE ?? IS ${quote(tableComment)}`, [table]);
    for (const [column, text] of Object.entries(columns))
      await knex.raw(`COMMENT ON COLUMN ??.?? IS ${quote(text)}`, [table, column]);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('decision_model_versions');
  await knex.schema.dropTableIfExists('decisions');
}
