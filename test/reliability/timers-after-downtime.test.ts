/**
 * Given 200 timers that came due while no engine ran, when two engines start at once, then every
 * timer fires exactly once and every instance completes once.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../engine/clock.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, waitFor } from '../engine/support/harness.ts';

const INSTANCES = 200;
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => db?.drop());

it('timers due during downtime fire exactly once when two engines start together', async () => {
  const clock = new ManualClock();
  const offline = await openEngine(db.url, { worker: false, clock });
  await offline.engine.deploy([fixture('pause.bpmn')]);
  const ids: string[] = [];
  for (let i = 0; i < INSTANCES; i++) ids.push((await offline.engine.startInstance('pause', { i })).instanceId);
  await offline.close();
  clock.advance(1_200);

  const engines = await Promise.all([openEngine(db.url, { clock }), openEngine(db.url, { clock })]);
  try {
    await waitFor(
      async () => {
        const rows = await engines[0]
          .knex('process_instances')
          .where({ state: 'completed' })
          .count<{ count: string }[]>('* as count');
        return Number(rows[0]!.count) === INSTANCES;
      },
      60_000,
      'all instances to complete',
    );
    const fired = await engines[0]
      .knex('history')
      .where({ event_type: 'event.timer.fired' })
      .select('process_instance_id')
      .count('* as count')
      .groupBy('process_instance_id');
    assert.equal(fired.length, INSTANCES);
    assert.ok(
      fired.every((row) => Number(row.count) === 1),
      'one firing per instance',
    );
    const timers = await engines[0].knex('timers').select('state').count('* as count').groupBy('state');
    assert.deepEqual(
      timers.map((row) => [row.state, Number(row.count)]),
      [['fired', INSTANCES]],
    );
    const ends = await engines[0]
      .knex('element_instances')
      .where({ element_id: 'end', state: 'completed' })
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(ends[0]!.count), INSTANCES);
  } finally {
    await Promise.all(engines.map((engine) => engine.close()));
  }
});
