/** History retention: monthly partitions older than the retention window are dropped, newer ones kept. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { ensureHistoryPartitions } from '../../engine/store/history-partitions.ts';
import { dropHistoryPartitions } from '../../engine/store/drop-history-partitions.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

test('drops partitions of months before the window and keeps the window', async () => {
  await ensureHistoryPartitions(db.knex, new Date('2025-01-15T00:00:00Z')); // 2025_01, 2025_02
  await ensureHistoryPartitions(db.knex, new Date('2025-04-15T00:00:00Z')); // 2025_04, 2025_05
  const id = '00000000-0000-4000-8000-000000000001';
  await db.knex('history').insert([
    { process_instance_id: id, event_type: 'old', created_at: new Date('2025-01-20T00:00:00Z') },
    { process_instance_id: id, event_type: 'kept', created_at: new Date('2025-04-20T00:00:00Z') },
  ]);
  const dropped = await dropHistoryPartitions(db.knex, new Date('2025-05-10T00:00:00Z'), 2);
  assert.deepEqual(dropped.sort(), ['history_2025_01', 'history_2025_02']);
  const left = (await db.knex('history').select('event_type')).map((row: { event_type: string }) => row.event_type);
  assert.deepEqual(left, ['kept']);
  assert.deepEqual(await dropHistoryPartitions(db.knex, new Date('2025-05-10T00:00:00Z'), 2), []);
  await assert.rejects(() => dropHistoryPartitions(db.knex, new Date(), 0));
});
