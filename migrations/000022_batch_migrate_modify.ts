/**
 * Batch migrate and batch modify: two more kinds of batch operation, the request they apply to every
 * item (the migration's target and mappings, the token moves), and what each item did in detail.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE batch_operations DROP CONSTRAINT batch_operations_kind_check;
    ALTER TABLE batch_operations ADD CONSTRAINT batch_operations_kind_check
      CHECK (kind IN ('retry', 'cancel', 'migrate', 'modify'));
    ALTER TABLE batch_operations ADD COLUMN request jsonb;
    ALTER TABLE batch_operation_items ADD COLUMN details jsonb;
    COMMENT ON TABLE batch_operations IS 'Batch operations: one retry, cancel, migrate or modify for every instance a filter matched when the operation was created.';
    COMMENT ON COLUMN batch_operations.kind IS 'retry (resolve the matching open incidents, then check they stay cleared), cancel (cancel the instance), migrate (move the instance to another definition along a mapping) or modify (move its tokens).';
    COMMENT ON COLUMN batch_operations.request IS 'What every item applies, beyond the filter: migrate {targetDefinitionId, bpmnProcessId, version, mappings}; modify {activate, terminateElementIds}. NULL for retry and cancel.';
    COMMENT ON COLUMN batch_operation_items.details IS 'migrate: the element instances moved (elementInstanceKey, sourceElementId, targetElementId), or the refused element (elementId); modify: the element instances terminated.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE batch_operation_items DROP COLUMN IF EXISTS details;
    ALTER TABLE batch_operations DROP COLUMN IF EXISTS request;
    DELETE FROM batch_operations WHERE kind IN ('migrate', 'modify');
    ALTER TABLE batch_operations DROP CONSTRAINT batch_operations_kind_check;
    ALTER TABLE batch_operations ADD CONSTRAINT batch_operations_kind_check CHECK (kind IN ('retry', 'cancel'));
  `);
}
