/**
 * Shared body of the join-race tests: for each instance of a parallel fork/join, both branch jobs
 * are completed at the same instant from two engines with their own connection pools (two
 * concurrent transactions arriving at the join). The join must fire exactly once per instance.
 */
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { fixture, openEngine } from '../engine/support/harness.ts';
import type { ActivatedJob } from '../../engine/api.ts';

export async function simultaneousJoins(instances: number): Promise<{ instances: number; seconds: number }> {
  const db = await createTestDatabase();
  const left = await openEngine(db.url, { worker: false });
  const right = await openEngine(db.url, { worker: false });
  const startedAt = performance.now();
  try {
    await left.engine.deploy([fixture('work-fork-join.bpmn')]);
    const ids: string[] = [];
    for (let i = 0; i < instances; i += 20) {
      const started = await Promise.all(
        Array.from({ length: Math.min(20, instances - i) }, (_, j) =>
          left.engine.startInstance('work-fork-join', { n: i + j }),
        ),
      );
      ids.push(...started.map((s) => s.instanceId));
    }
    const jobs: ActivatedJob[] = [];
    while (jobs.length < instances * 2) {
      const batch = await left.engine.activateJobs({
        type: 'test:work',
        worker: 'racer',
        maxJobs: 500,
        lockMs: 600_000,
      });
      assert.ok(batch.length > 0, 'every branch job can be activated');
      jobs.push(...batch);
    }
    const byInstance = new Map<string, ActivatedJob[]>();
    for (const job of jobs) byInstance.set(job.instanceId, [...(byInstance.get(job.instanceId) ?? []), job]);
    const pairs = [...byInstance.values()];
    assert.ok(pairs.every((pair) => pair.length === 2));
    for (let i = 0; i < pairs.length; i += 10) {
      await Promise.all(
        pairs
          .slice(i, i + 10)
          .map(([a, b]) =>
            Promise.all([
              left.engine.completeJob(
                a!.id,
                { worker: 'racer', attempt: a!.attempt },
                { [`doneBy_${a!.elementId}`]: 'left' },
              ),
              right.engine.completeJob(
                b!.id,
                { worker: 'racer', attempt: b!.attempt },
                { [`doneBy_${b!.elementId}`]: 'right' },
              ),
            ]),
          ),
      );
    }
    // Exactly one `after` job per instance: the join fired once.
    const afterJobs = await db
      .knex('jobs')
      .whereIn('process_instance_id', ids)
      .andWhere({ element_id: 'after' })
      .select('process_instance_id')
      .count('* as count')
      .groupBy('process_instance_id');
    assert.equal(afterJobs.length, instances, 'every join fired');
    assert.ok(
      afterJobs.every((row) => Number(row.count) === 1),
      'no join fired twice',
    );
    const joins = await db
      .knex('history')
      .whereIn('process_instance_id', ids)
      .where({ event_type: 'element.completed', element_id: 'join' })
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(joins[0]!.count), instances);
    const incidents = await db
      .knex('incidents')
      .whereIn('process_instance_id', ids)
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(incidents[0]!.count), 0);
    // Both branches' variables survived the concurrent completions.
    const rows = await db.knex('process_instances').whereIn('id', ids).select('variables');
    for (const { variables } of rows)
      assert.ok(variables.doneBy_left && variables.doneBy_right, JSON.stringify(variables));
    return { instances, seconds: Math.round((performance.now() - startedAt) / 100) / 10 };
  } finally {
    await left.close();
    await right.close();
    await db.drop();
  }
}
