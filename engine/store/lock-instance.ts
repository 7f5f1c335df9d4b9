import type { Db, InstanceRow } from './rows.ts';

/**
 * Reads an instance and holds its row lock until the transaction ends. Every step of an instance
 * takes this lock first (then job/timer rows), so concurrent completions of parallel branches are
 * serialized and a join fires exactly once.
 */
export async function lockInstance(tx: Db, instanceId: string): Promise<InstanceRow | undefined> {
  return tx<InstanceRow>('process_instances').where({ id: instanceId }).forUpdate().first();
}
