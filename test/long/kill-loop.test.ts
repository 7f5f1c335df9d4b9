/**
 * Kill loop: 1,000 fork/join instances are started in 100 batches of 10, and after each batch a
 * random 100-400 ms later a worker process is SIGKILLed and replaced (100 kills while the instances
 * run, wherever the workers happen to be: claiming, running a node, committing a batch of
 * completions). Every instance still completes, every join fires exactly once, no job result is
 * applied twice.
 */
import { it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { createTestDatabase } from '../support/db.ts';
import { fixture, openEngine } from '../engine/support/harness.ts';
import { spawnWorker, stopWorker } from '../reliability/support/spawn.ts';
import { assertEachCompletedOnce } from '../reliability/support/exactly-once.ts';

const BATCHES = 100;
const PER_BATCH = 10;
const INSTANCES = BATCHES * PER_BATCH;

it('instances complete exactly once while workers are SIGKILLed and replaced in a loop', async () => {
  const db = await createTestDatabase();
  const client = await openEngine(db.url, { worker: false });
  const workers: ChildProcess[] = [];
  const env = { WORK_MS: '20', LOCK_MS: '1000', CONCURRENCY: '8' };
  try {
    await client.engine.deploy([fixture('work-fork-join.bpmn')]);
    const ids: string[] = [];
    workers.push(await spawnWorker(db.url, 'w-0', env), await spawnWorker(db.url, 'w-1', env));
    let generation = 2;
    for (let batch = 0; batch < BATCHES; batch++) {
      const started = await Promise.all(
        Array.from({ length: PER_BATCH }, (_, i) =>
          client.engine.startInstance('work-fork-join', { n: batch * PER_BATCH + i }),
        ),
      );
      ids.push(...started.map((s) => s.instanceId));
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 300));
      const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]!;
      victim.kill('SIGKILL');
      workers.push(await spawnWorker(db.url, `w-${generation++}`, env));
    }
    for (;;) {
      const done = await client
        .knex('process_instances')
        .whereIn('id', ids)
        .where({ state: 'completed' })
        .count<{ count: string }[]>('* as count');
      if (Number(done[0]!.count) === INSTANCES) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await assertEachCompletedOnce(client.knex, ids);
  } finally {
    for (const worker of workers) await stopWorker(worker, 'SIGKILL');
    await client.close();
    await db.drop();
  }
});
