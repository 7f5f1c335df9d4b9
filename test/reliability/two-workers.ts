/**
 * Two worker processes on one database complete N instances of a parallel fork/join; every join
 * fires exactly once. Shared by the default suite (small N) and test/long (N = 1000).
 */
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { fixture, openEngine, waitFor } from '../engine/support/harness.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';

export async function twoWorkersComplete(instances: number, timeoutMs: number): Promise<void> {
  const db = await createTestDatabase();
  const client = await openEngine(db.url, { worker: false });
  const workers = [] as Awaited<ReturnType<typeof spawnWorker>>[];
  try {
    await client.engine.deploy([fixture('work-fork-join.bpmn')]);
    workers.push(await spawnWorker(db.url, 'worker-1', { WORK_MS: '1' }));
    workers.push(await spawnWorker(db.url, 'worker-2', { WORK_MS: '1' }));
    const ids: string[] = [];
    const batch = 10;
    for (let i = 0; i < instances; i += batch) {
      const started = await Promise.all(
        Array.from({ length: Math.min(batch, instances - i) }, (_, j) =>
          client.engine.startInstance('work-fork-join', { n: i + j }),
        ),
      );
      ids.push(...started.map((s) => s.instanceId));
    }
    await waitFor(
      async () => {
        const done = await client
          .knex('process_instances')
          .whereIn('id', ids)
          .where({ state: 'completed' })
          .count<{ count: string }[]>('* as count');
        return Number(done[0]!.count) === instances;
      },
      timeoutMs,
      `${instances} instances to complete`,
    );
    await assertEachCompletedOnce(client.knex, ids);
    const owners = await client
      .knex('jobs')
      .whereIn('process_instance_id', ids)
      .select('owner')
      .count('* as count')
      .groupBy('owner');
    assert.equal(owners.length, 2, `both workers ran jobs: ${JSON.stringify(owners)}`);
  } finally {
    for (const worker of workers) await stopWorker(worker);
    await client.close();
    await db.drop();
  }
}
