/**
 * Batch operations: one retry or cancel applied to every instance a filter matched, run in the
 * background by the engines' worker loops. The filter is resolved once, when the operation is
 * created, into one item row per instance, so progress is exact and a crashed engine resumes
 * where it stopped (engine/store/batch-process.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE batch_operations (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('retry', 'cancel')),
      filter jsonb NOT NULL,
      state text NOT NULL CHECK (state IN ('running', 'finished')),
      total_count integer NOT NULL,
      done_count integer,
      failed_count integer,
      skipped_count integer,
      created_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE INDEX batch_operations_running_idx ON batch_operations (created_at) WHERE state = 'running';
    COMMENT ON TABLE batch_operations IS 'Batch operations: one retry or cancel for every instance a filter matched when the operation was created.';
    COMMENT ON COLUMN batch_operations.id IS 'Batch operation id (UUID).';
    COMMENT ON COLUMN batch_operations.kind IS 'retry (resolve the matching open incidents, then check they stay cleared) or cancel (cancel the instance).';
    COMMENT ON COLUMN batch_operations.filter IS 'The filter as posted: {bpmnProcessId, version, elementId, incidentType, businessKey}, each optional.';
    COMMENT ON COLUMN batch_operations.state IS 'running while any item is pending or retried; finished once every item is done, failed or skipped.';
    COMMENT ON COLUMN batch_operations.total_count IS 'Items created with the operation (instances the filter matched then); never changes.';
    COMMENT ON COLUMN batch_operations.done_count IS 'Items done, written when the operation finishes (null while running: count batch_operation_items).';
    COMMENT ON COLUMN batch_operations.failed_count IS 'Items failed, written when the operation finishes.';
    COMMENT ON COLUMN batch_operations.skipped_count IS 'Items skipped, written when the operation finishes.';
    COMMENT ON COLUMN batch_operations.created_by IS 'Who created the operation: the id of the caller''s identity (docs/security.md).';
    COMMENT ON COLUMN batch_operations.created_at IS 'When the operation was created (and its filter resolved).';
    COMMENT ON COLUMN batch_operations.finished_at IS 'When the last item reached done, failed or skipped.';

    CREATE TABLE batch_operation_items (
      operation_id uuid NOT NULL REFERENCES batch_operations(id) ON DELETE CASCADE,
      process_instance_id uuid NOT NULL,
      seq integer NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retried', 'done', 'failed', 'skipped')),
      incident_ids uuid[],
      result text,
      error text,
      attempts integer NOT NULL DEFAULT 0,
      checked_at timestamptz,
      done_at timestamptz,
      PRIMARY KEY (operation_id, process_instance_id)
    );
    CREATE INDEX batch_operation_items_open_idx ON batch_operation_items (operation_id, seq) WHERE state IN ('pending', 'retried');
    CREATE INDEX batch_operation_items_instance_idx ON batch_operation_items (process_instance_id);
    COMMENT ON TABLE batch_operation_items IS 'One row per instance of a batch operation: its state and result.';
    COMMENT ON COLUMN batch_operation_items.operation_id IS 'The batch operation.';
    COMMENT ON COLUMN batch_operation_items.process_instance_id IS 'The instance (no foreign key: the result outlives a deleted instance).';
    COMMENT ON COLUMN batch_operation_items.seq IS 'Position in the operation, 1, 2, ...: the order items are processed and paged.';
    COMMENT ON COLUMN batch_operation_items.state IS 'pending (not yet applied), retried (incidents resolved, waiting to see the re-run succeed), done, failed or skipped.';
    COMMENT ON COLUMN batch_operation_items.incident_ids IS 'retry: the incidents this item resolved (the ones matching the filter that were open when it ran).';
    COMMENT ON COLUMN batch_operation_items.result IS 'What happened, in words (done and skipped items; retried items say what they wait for).';
    COMMENT ON COLUMN batch_operation_items.error IS 'Why the item failed: the error of the operation or the incident raised again.';
    COMMENT ON COLUMN batch_operation_items.attempts IS 'Times an engine applied the operation to this item (1 once applied; a rolled-back attempt leaves no count).';
    COMMENT ON COLUMN batch_operation_items.checked_at IS 'When a retried item was last checked; the next check comes at least a second later.';
    COMMENT ON COLUMN batch_operation_items.done_at IS 'When the item reached done, failed or skipped.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS batch_operation_items; DROP TABLE IF EXISTS batch_operations');
}
