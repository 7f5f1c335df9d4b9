/**
 * The schema on a real PostgreSQL: migrating twice is harmless, every table and column people query
 * is commented, history is append-only.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { admin, createTestDatabase, urlFor, type TestDatabase } from '../support/db.ts';
import { createKnex, migrateLatest } from '../../engine/store/knex.ts';

const createTestKnex = (url: string) => createKnex(url, { poolMax: 1, applicationName: 'operon-test' });
import { ensureHistoryPartitions } from '../../engine/store/history-partitions.ts';

const CORE_TABLES = [
  'process_definitions',
  'process_instances',
  'element_instances',
  'jobs',
  'timers',
  'message_subscriptions',
  'messages',
  'incidents',
  'user_tasks',
  'history',
];

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => db?.drop());

it('running the migrations again (twice, even concurrently) applies nothing and keeps the schema', async () => {
  const before = await db.knex('knex_migrations').count<{ count: string }[]>('* as count');
  const results = await Promise.all([migrateLatest(db.knex), migrateLatest(db.knex)]);
  assert.deepEqual(results, [[], []]);
  assert.deepEqual(await migrateLatest(db.knex), []);
  const afterCount = await db.knex('knex_migrations').count<{ count: string }[]>('* as count');
  assert.equal(afterCount[0]!.count, before[0]!.count);
  for (const table of CORE_TABLES) assert.ok(await db.knex.schema.hasTable(table), table);
});

it('four `operon migrate` processes on one empty database all succeed, and the schema is applied once', {
  timeout: 180_000,
}, async () => {
  const bin = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
  // Six rounds: the collision on knex's own tables needs the processes to start together, which a
  // single round does not always arrange; without the lock six rounds fail.
  for (let round = 0; round < 6; round++) {
    const name = `operon_test_${randomBytes(6).toString('hex')}`;
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
    try {
      const env = { ...process.env, DATABASE_URL: urlFor(name), OPERON_DATABASE_URL: urlFor(name) };
      const runs = await Promise.allSettled(
        [1, 2, 3, 4].map(() => promisify(execFile)(process.execPath, [bin, 'migrate'], { env, timeout: 120_000 })),
      );
      for (const run of runs)
        assert.equal(run.status, 'fulfilled', run.status === 'rejected' ? String(run.reason) : '');
      const check = createTestKnex(urlFor(name));
      try {
        const applied = await check('knex_migrations').select('name');
        assert.equal(
          applied.length,
          new Set(applied.map((row: { name: string }) => row.name)).size,
          'each migration applied once',
        );
        for (const table of CORE_TABLES) assert.ok(await check.schema.hasTable(table), table);
      } finally {
        await check.destroy();
      }
    } finally {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  }
});

it('comments every core table and column', async () => {
  const { rows } = await db.knex.raw(
    `SELECT c.relname AS table_name, a.attname AS column_name, col_description(c.oid, a.attnum) AS comment, obj_description(c.oid, 'pg_class') AS table_comment
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE c.relname = ANY(?) AND a.attnum > 0 AND NOT a.attisdropped AND c.relnamespace = 'public'::regnamespace`,
    [CORE_TABLES],
  );
  const missing = (
    rows as { table_name: string; column_name: string; comment: string | null; table_comment: string | null }[]
  )
    .filter((row) => !row.comment || !row.table_comment)
    .map((row) => `${row.table_name}.${row.column_name}`);
  assert.deepEqual(missing, []);
  assert.ok(rows.length > 80);
});

it('keeps history append-only and instance states within active/completed/terminated', async () => {
  const instanceId = randomUUID();
  await db.knex('history').insert({ process_instance_id: instanceId, event_type: 'test.event' });
  await assert.rejects(
    db.knex('history').where({ process_instance_id: instanceId }).update({ event_type: 'rewritten' }),
    /append-only/,
  );
  await db
    .knex('process_definitions')
    .insert({ id: instanceId, bpmn_process_id: 'p', version: 1, resource_name: 'p.bpmn', xml: '<x/>', xml_hash: 'h' });
  await assert.rejects(
    db.knex('process_instances').insert({
      id: randomUUID(),
      definition_id: instanceId,
      bpmn_process_id: 'p',
      version: 1,
      state: 'failed',
      snapshot: '{}',
    }),
    /process_instances_state_check/,
  );
});

it('partitions history by month: rows land in their month, stay append-only, and retention is a partition drop', async () => {
  const created = await ensureHistoryPartitions(db.knex, new Date('2031-03-15T00:00:00Z'));
  assert.deepEqual(created, ['history_2031_03', 'history_2031_04']);
  assert.deepEqual(await ensureHistoryPartitions(db.knex, new Date('2031-03-15T00:00:00Z')), []);
  const instanceId = randomUUID();
  await db.knex('history').insert({
    process_instance_id: instanceId,
    event_type: 'test.event',
    created_at: new Date('2031-03-20T00:00:00Z'),
  });
  const { rows } = await db.knex.raw(
    'SELECT tableoid::regclass::text AS partition FROM history WHERE process_instance_id = ?',
    [instanceId],
  );
  assert.deepEqual(rows, [{ partition: 'history_2031_03' }]);
  await assert.rejects(
    db.knex('history').where({ process_instance_id: instanceId }).update({ event_type: 'rewritten' }),
    /append-only/,
  );
  await db.knex.raw('DROP TABLE history_2031_03');
  assert.equal((await db.knex('history').where({ process_instance_id: instanceId })).length, 0);
});
