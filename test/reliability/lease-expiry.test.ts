/**
 * Given a worker process holding leased jobs, when it is paused (SIGSTOP) past its lease, another
 * worker takes the jobs over and completes them, and the paused worker is then resumed (SIGCONT)
 * and finishes its stale work, then the stale completions are refused (fenced by owner and
 * attempt): every job is completed once, by the second worker, and no variable of the paused
 * worker reaches an instance. The resumed worker stays alive.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { fixture, openEngine, waitFor, type TestEngine } from '../engine/support/harness.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';

const INSTANCES = 4;
let db: TestDatabase;
let client: TestEngine;
const workers: ChildProcess[] = [];

before(async () => {
  db = await createTestDatabase();
  client = await openEngine(db.url, { worker: false });
  await client.engine.deploy([fixture('work-fork-join.bpmn')]);
});
after(async () => {
  for (const worker of workers) {
    worker.kill('SIGCONT');
    await stopWorker(worker, 'SIGKILL');
  }
  await client?.close();
  await db?.drop();
});

it('a worker paused past its lease cannot complete the jobs another worker took over', async () => {
  const ids: string[] = [];
  for (let i = 0; i < INSTANCES; i++)
    ids.push((await client.engine.startInstance('work-fork-join', { n: i })).instanceId);

  const paused = await spawnWorker(db.url, 'paused', { WORK_MS: '2500', CONCURRENCY: '8', LOCK_MS: '1000' });
  workers.push(paused);
  const leased = await waitFor(
    async () => {
      const rows = await client.knex('jobs').where({ owner: 'paused', state: 'leased' }).select('id');
      return rows.length === 8 ? rows : undefined;
    },
    15_000,
    'the first worker to lease 8 jobs',
  );
  paused.kill('SIGSTOP');

  const taker = await spawnWorker(db.url, 'taker', { WORK_MS: '5', CONCURRENCY: '8', LOCK_MS: '1000' });
  workers.push(taker);
  await waitFor(
    async () => {
      const done = await client
        .knex('process_instances')
        .whereIn('id', ids)
        .where({ state: 'completed' })
        .count<{ count: string }[]>('* as count');
      return Number(done[0]!.count) === INSTANCES;
    },
    30_000,
    'the second worker to complete every instance',
  );
  await stopWorker(taker);

  // Resume the paused worker: its nodes finish (2.5 s have passed) and it tries to complete attempt 1.
  const staleAttempts = new Promise<void>((resolve) => setTimeout(resolve, 3_500));
  paused.kill('SIGCONT');
  await staleAttempts;
  assert.equal(paused.exitCode, null, 'the resumed worker is still running');
  assert.equal(paused.signalCode, null);

  await assertEachCompletedOnce(client.knex, ids);
  const jobs = await client.knex('jobs').whereIn(
    'id',
    leased.map((row) => row.id),
  );
  for (const job of jobs) {
    assert.equal(job.owner, 'taker');
    assert.equal(job.attempt, 2, 'the paused worker held attempt 1; the taker claimed attempt 2');
  }
  const instances = await client.knex('process_instances').whereIn('id', ids).select('variables');
  for (const { variables } of instances) {
    const doers = Object.entries(variables).filter(([name]) => name.startsWith('doneBy_'));
    assert.ok(doers.length > 0);
    for (const [name, worker] of doers) assert.notEqual(worker, 'paused', `${name} came from the stale worker`);
  }
});
