/**
 * Message ids remembered after their message was correlated. Before, a `messageId` only blocked a
 * second message while the first was still buffered, so a sender retrying a publish whose answer
 * it lost delivered the message again (buffered again, or correlated to the next waiting instance).
 * `message_ids` remembers every published id for at least the message's time to live (see
 * engine/store/remember-message-id.ts), with what became of it, so the retry is acknowledged and
 * changes nothing. A table of its own: `messages` keeps only what is or was buffered.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE message_ids (
      name text NOT NULL,
      message_id text NOT NULL,
      process_instance_id uuid REFERENCES process_instances(id) ON DELETE SET NULL,
      buffered_message uuid REFERENCES messages(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
      created_at timestamptz NOT NULL DEFAULT now(),
      forget_at timestamptz NOT NULL,
      PRIMARY KEY (name, message_id)
    );
    CREATE INDEX message_ids_forget_at_idx ON message_ids (forget_at);
    COMMENT ON TABLE message_ids IS 'Published message ids (name + messageId), remembered until forget_at: a publish repeating one is acknowledged as a duplicate and changes nothing.';
    COMMENT ON COLUMN message_ids.name IS 'Message name.';
    COMMENT ON COLUMN message_ids.message_id IS 'The publisher''s messageId.';
    COMMENT ON COLUMN message_ids.process_instance_id IS 'The instance the message reached when published (correlated or started); null when it was buffered or dropped.';
    COMMENT ON COLUMN message_ids.buffered_message IS 'The messages row when the message was buffered (its state says whether it was correlated later).';
    COMMENT ON COLUMN message_ids.created_at IS 'When the message was published.';
    COMMENT ON COLUMN message_ids.forget_at IS 'When the id may be used again: published + max(timeToLiveMs, OPERON_MESSAGE_ID_RETENTION_MS). Swept by the timer loop.';
  `);
  // Ids of messages that are still buffered or were correlated before this migration: the latest of
  // each, remembered for the default retention (24 h) or its time to live.
  await knex.raw(`
    INSERT INTO message_ids (name, message_id, process_instance_id, buffered_message, created_at, forget_at)
    SELECT DISTINCT ON (name, message_id) name, message_id, NULL, id, created_at, greatest(expires_at, created_at + interval '24 hours')
      FROM messages WHERE message_id IS NOT NULL
     ORDER BY name, message_id, created_at DESC
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS message_ids');
}
