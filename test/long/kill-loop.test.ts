/**
 * Kill loop: while 500 fork/join instances run, a worker process is SIGKILLed and replaced every
 * 700 ms. Every instance still completes, every join fires exactly once, no job result is applied
 * twice.
 */
import { it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { createTestDatabase } from '../support/db.ts';
import { fixture, openEngine } from '../engine/support/harness.ts';
import { spawnWorker, stopWorker } from '../reliability/support/spawn.ts';
import { assertEachCompletedOnce } from '../reliability/support/exactly-once.ts';

const INSTANCES = 500;

it('instances complete exactly once while workers are SIGKILLed and replaced in a loop', async () => {
  const db = await createTestDatabase();
  const client = await openEngine(db.url, { worker: false });
  const workers: ChildProcess[] = [];
  const env = { WORK_MS: '20', LOCK_MS: '1000', CONCURRENCY: '8' };
  try {
    await client.engine.deploy([fixture('work-fork-join.bpmn')]);
    const ids: string[] = [];
    for (let i = 0; i < INSTANCES; i++) ids.push((await client.engine.startInstance('work-fork-join', { n: i })).instanceId);
    workers.push(await spawnWorker(db.url, 'w-0', env), await spawnWorker(db.url, 'w-1', env));
    let generation = 2;
    let kills = 0;
    for (;;) {
      const done = await client.knex('process_instances').whereIn('id', ids).where({ state: 'completed' }).count<{ count: string }[]>('* as count');
      if (Number(done[0]!.count) === INSTANCES) break;
      await new Promise((resolve) => setTimeout(resolve, 700));
      if (kills < 30) {
        const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]!;
        victim.kill('SIGKILL');
        kills++;
        workers.push(await spawnWorker(db.url, `w-${generation++}`, env));
      }
    }
    await assertEachCompletedOnce(client.knex, ids);
  } finally {
    for (const worker of workers) await stopWorker(worker, 'SIGKILL');
    await client.close();
    await db.drop();
  }
});
