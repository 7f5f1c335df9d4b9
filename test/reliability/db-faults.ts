/**
 * Shared body of the database-fault tests: an engine with its worker runs fork/join instances
 * while another connection calls pg_terminate_backend on the engine's connections `kills` times
 * (only backends of this test's database with this engine's application_name). Every instance
 * must still complete exactly once, with nothing half-written, and the engine must reconnect by itself.
 */
import assert from 'node:assert/strict';
import { createKnex } from '../../engine/store/knex.ts';
import { createEngine } from '../../engine/engine.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import type { NodeType } from '../../engine/nodes/types.ts';
import { createTestDatabase } from '../support/db.ts';
import { fixture, FAST_WORKER, waitFor } from '../engine/support/harness.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';

const APPLICATION = 'operon-reliability-db-faults';

const work: NodeType = {
  name: 'test',
  run: (_input, ctx) =>
    new Promise((resolve) => setTimeout(() => resolve({ [`doneBy_${ctx.elementId}`]: 'engine' }), 5)),
};

export async function terminateBackendsDuringRun(options: {
  instances: number;
  kills: number;
  everyMs: number;
}): Promise<{ instances: number; kills: number; backendsTerminated: number; seconds: number }> {
  const db = await createTestDatabase();
  const knex = createKnex(db.url, { poolMax: 5, applicationName: APPLICATION });
  const nodes = await createNodeRegistry({ extra: [work] });
  const engine = createEngine({ db: knex, nodes, worker: FAST_WORKER, backoff: { baseMs: 50, maxMs: 200 } });
  const startedAt = performance.now();
  let backendsTerminated = 0;
  let kills = 0;
  try {
    await engine.deploy([fixture('work-fork-join.bpmn')]);
    const ids: string[] = [];
    const killer = (async () => {
      while (kills < options.kills) {
        await new Promise((resolve) => setTimeout(resolve, options.everyMs));
        const result = await db.knex.raw(
          'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = ? AND application_name = ? AND pid <> pg_backend_pid()',
          [db.name, APPLICATION],
        );
        backendsTerminated += result.rows.filter((row: { terminated: boolean }) => row.terminated).length;
        kills++;
      }
    })();
    // Start instances through the faulty engine too: a start that fails on a killed connection is retried by its caller.
    for (let i = 0; i < options.instances; i++) {
      for (let attempt = 1; ; attempt++) {
        try {
          ids.push((await engine.startInstance('work-fork-join', { n: i })).instanceId);
          break;
        } catch (error) {
          // As a webhook client would: retry after a pause (each failure also evicts one dead pooled connection).
          if (attempt >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
    await killer;
    await waitFor(
      async () => {
        const done = await db
          .knex('process_instances')
          .whereIn('id', ids)
          .where({ state: 'completed' })
          .count<{ count: string }[]>('* as count');
        return Number(done[0]!.count) === ids.length;
      },
      60_000,
      `all ${ids.length} instances to complete after ${kills} rounds of pg_terminate_backend`,
    ).catch(async (error) => {
      const instances = await db.knex('process_instances').select('state').count('* as count').groupBy('state');
      const jobs = await db.knex('jobs').select('state', 'owner').count('* as count').groupBy('state', 'owner');
      const incidents = await db.knex('incidents').select('code', 'message').limit(3);
      const backends = await db.knex.raw(
        'SELECT application_name, state, left(query, 80) AS query FROM pg_stat_activity WHERE datname = ?',
        [db.name],
      );
      throw new Error(
        `${(error as Error).message}: ${JSON.stringify({ instances, jobs, incidents, worker: engine.worker?.running, backends: backends.rows })}`,
      );
    });
    // Started instances that were not acknowledged (connection killed at commit) would show up as extra rows.
    const all = await db.knex('process_instances').select('id', 'state');
    assert.ok(
      all.every((row) => row.state === 'completed'),
      'no instance is left half-done',
    );
    await assertEachCompletedOnce(
      db.knex,
      all.map((row) => row.id),
    );
    assert.ok(backendsTerminated > 0, 'the engine had connections to terminate');
    // The engine is still usable: one more instance after the faults.
    const { instanceId } = await engine.startInstance('work-fork-join', { n: -1 });
    await waitFor(
      async () => (await engine.getInstance(instanceId))?.state === 'completed',
      15_000,
      'an instance after the faults',
    );
    return {
      instances: all.length,
      kills,
      backendsTerminated,
      seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    };
  } finally {
    await engine.close();
    await nodes.close();
    await knex.destroy();
    await db.drop();
  }
}
