/**
 * Call activities: a child instance knows the call activity that started it, and instances hand
 * each other work through `instance_handovers` rows (start a child, cancel a child, a child's end
 * reported to its parent) instead of stepping two instances in one transaction.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE process_instances ADD COLUMN parent_instance_id uuid;
    ALTER TABLE process_instances ADD COLUMN parent_element_instance_key text;
    CREATE INDEX process_instances_parent ON process_instances (parent_instance_id, parent_element_instance_key) WHERE parent_instance_id IS NOT NULL;
    COMMENT ON COLUMN process_instances.parent_instance_id IS 'For an instance started by a call activity: the calling (parent) process instance.';
    COMMENT ON COLUMN process_instances.parent_element_instance_key IS 'For an instance started by a call activity: the element instance key of that call activity in the parent.';

    CREATE TABLE instance_handovers (
      id uuid PRIMARY KEY,
      process_instance_id uuid NOT NULL,
      kind text NOT NULL CHECK (kind IN ('child.start', 'child.cancel', 'event')),
      parent_instance_id uuid,
      parent_element_instance_key text,
      payload jsonb NOT NULL DEFAULT '{}',
      state text NOT NULL CHECK (state IN ('pending', 'delivered', 'cancelled')),
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz
    );
    CREATE INDEX instance_handovers_pending ON instance_handovers (created_at) WHERE state = 'pending';
    CREATE INDEX instance_handovers_instance ON instance_handovers (process_instance_id);
    COMMENT ON TABLE instance_handovers IS 'Work one process instance hands to another (call activities): written in the step of the sender, carried out by the timer loop in a transaction of the receiver.';
    COMMENT ON COLUMN instance_handovers.id IS 'Handover id.';
    COMMENT ON COLUMN instance_handovers.process_instance_id IS 'The receiving instance: the child to start (its id is chosen by the parent), the child to cancel, or the parent to notify.';
    COMMENT ON COLUMN instance_handovers.kind IS 'child.start (start a called process), child.cancel (cancel a child instance), event (a runtime event for the receiving instance, e.g. childInstance.completed).';
    COMMENT ON COLUMN instance_handovers.parent_instance_id IS 'The calling instance (for child.start and child.cancel).';
    COMMENT ON COLUMN instance_handovers.parent_element_instance_key IS 'The call activity element instance in the calling instance.';
    COMMENT ON COLUMN instance_handovers.payload IS 'child.start: bpmnProcessId, elementId, variables; event: the runtime event.';
    COMMENT ON COLUMN instance_handovers.state IS 'pending until carried out, then delivered; cancelled when a child start was withdrawn before it happened.';
    COMMENT ON COLUMN instance_handovers.created_at IS 'When the sender wrote it.';
    COMMENT ON COLUMN instance_handovers.delivered_at IS 'When the receiver carried it out.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE instance_handovers;
    DROP INDEX process_instances_parent;
    ALTER TABLE process_instances DROP COLUMN parent_element_instance_key;
    ALTER TABLE process_instances DROP COLUMN parent_instance_id;
  `);
}
