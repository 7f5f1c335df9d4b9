/**
 * Checks, from the rows, that every instance ran its fork/join exactly once: one completed join and
 * one `after` per instance, one instance.completed history row, every job completed once.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';

export async function assertEachCompletedOnce(knex: Knex, instanceIds: string[]): Promise<void> {
  const states = await knex('process_instances')
    .whereIn('id', instanceIds)
    .select('state')
    .count('* as count')
    .groupBy('state');
  assert.deepEqual(
    states.map((row) => [row.state, Number(row.count)]),
    [['completed', instanceIds.length]],
  );

  const perInstance = await knex('element_instances')
    .whereIn('process_instance_id', instanceIds)
    .select('element_id')
    .count('* as count')
    .countDistinct('process_instance_id as instances')
    .groupBy('element_id')
    .orderBy('element_id');
  for (const row of perInstance) {
    assert.equal(Number(row.count), instanceIds.length, `${row.element_id} activated once per instance`);
    assert.equal(Number(row.instances), instanceIds.length);
  }
  const joins = await knex('history')
    .whereIn('process_instance_id', instanceIds)
    .where({ event_type: 'element.completed', element_id: 'join' })
    .count<{ count: string }[]>('* as count');
  assert.equal(Number(joins[0]!.count), instanceIds.length, 'every join fired exactly once');
  const completions = await knex('history')
    .whereIn('process_instance_id', instanceIds)
    .where({ event_type: 'instance.completed' })
    .count<{ count: string }[]>('* as count');
  assert.equal(Number(completions[0]!.count), instanceIds.length);
  const jobStates = await knex('jobs')
    .whereIn('process_instance_id', instanceIds)
    .select('state')
    .count('* as count')
    .groupBy('state');
  assert.deepEqual(
    jobStates.map((row) => [row.state, Number(row.count)]),
    [['completed', instanceIds.length * 3]],
  );
  const jobEvents = await knex('history')
    .whereIn('process_instance_id', instanceIds)
    .where({ event_type: 'event.job.completed' })
    .count<{ count: string }[]>('* as count');
  assert.equal(Number(jobEvents[0]!.count), instanceIds.length * 3, 'each job result applied once');
}
