/**
 * Given a worker process holding leased jobs, when it is SIGKILLed, then a second worker takes the
 * jobs over after the lease expires and every instance completes exactly once.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, waitFor, type TestEngine } from '../engine/support/harness.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';

const INSTANCES = 20;
let db: TestDatabase;
let client: TestEngine;
const workers: ChildProcess[] = [];

before(async () => {
  db = await createTestDatabase();
  client = await openEngine(db.url, { worker: false });
  await client.engine.deploy([fixture('work-fork-join.bpmn')]);
});
after(async () => {
  for (const worker of workers) await stopWorker(worker, 'SIGKILL');
  await client?.close();
  await db?.drop();
});

it('a second worker takes over the leases of a SIGKILLed worker; every instance completes once', async () => {
  const ids: string[] = [];
  for (let i = 0; i < INSTANCES; i++)
    ids.push((await client.engine.startInstance('work-fork-join', { n: i })).instanceId);

  // The first worker's nodes take far longer than the test: it holds its leases until it dies.
  const doomed = await spawnWorker(db.url, 'doomed', { WORK_MS: '600000', CONCURRENCY: '8', LOCK_MS: '1500' });
  workers.push(doomed);
  const leased = await waitFor(
    async () => {
      const rows = await client.knex('jobs').where({ owner: 'doomed', state: 'leased' }).select('id');
      return rows.length === 8 ? rows : undefined;
    },
    15_000,
    'doomed worker to lease 8 jobs',
  );
  doomed.kill('SIGKILL');
  await new Promise((resolve) => doomed.once('exit', resolve));

  const survivor = await spawnWorker(db.url, 'survivor', { WORK_MS: '5', CONCURRENCY: '8', LOCK_MS: '1500' });
  workers.push(survivor);
  await waitFor(
    async () => {
      const done = await client
        .knex('process_instances')
        .whereIn('id', ids)
        .where({ state: 'completed' })
        .count<{ count: string }[]>('* as count');
      return Number(done[0]!.count) === INSTANCES;
    },
    60_000,
    'all instances to complete',
  );

  await assertEachCompletedOnce(client.knex, ids);
  const takenOver = await client.knex('jobs').whereIn(
    'id',
    leased.map((row) => row.id),
  );
  for (const job of takenOver) {
    assert.equal(job.owner, 'survivor');
    assert.equal(job.attempt, 2, 'the dead worker held attempt 1; the survivor claimed attempt 2');
  }
  const stale = await client.knex('jobs').whereIn('process_instance_id', ids).where({ owner: 'doomed' });
  assert.equal(stale.length, 0);
});
