/**
 * Version tags: `zeebe:versionTag` of a deployed process, so a call activity with
 * `bindingType="versionTag"` starts the latest version carrying its tag.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE process_definitions ADD COLUMN version_tag text;
    CREATE INDEX process_definitions_version_tag ON process_definitions (bpmn_process_id, version_tag, version) WHERE version_tag IS NOT NULL;
    COMMENT ON COLUMN process_definitions.version_tag IS 'zeebe:versionTag of the process, if any; call activities with bindingType="versionTag" start the latest version with their tag.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE process_definitions DROP COLUMN version_tag`);
}
