import type { Db } from './rows.ts';
import { json } from './rows.ts';
import type { StepResult } from '../runtime/contract.ts';

/** Persists the result of one step on the (locked) instance row. */
export async function updateInstance(tx: Db, instanceId: string, result: StepResult, now: Date): Promise<void> {
  await tx('process_instances')
    .where({ id: instanceId })
    .update({
      state: result.state,
      variables: json(result.variables),
      snapshot: json(result.snapshot),
      row_version: tx.raw('row_version + 1'),
      updated_at: now,
      ended_at: result.state === 'active' ? null : now,
    });
}

