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

/** Persists the results of several instances' steps (each row locked by the caller) in one statement. */
export async function updateInstances(tx: Db, updates: { instanceId: string; result: StepResult }[], now: Date): Promise<void> {
  if (updates.length === 0) return;
  const records = updates.map(({ instanceId, result }) => ({ id: instanceId, state: result.state, variables: result.variables ?? null, snapshot: result.snapshot }));
  await tx.raw(
    `UPDATE process_instances AS p
        SET state = r.state, variables = r.variables, snapshot = r.snapshot, row_version = p.row_version + 1,
            updated_at = ?, ended_at = CASE WHEN r.state = 'active' THEN NULL ELSE ?::timestamptz END
       FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, state text, variables jsonb, snapshot jsonb)
      WHERE p.id = r.id`,
    [now, now, JSON.stringify(records)],
  );
}
