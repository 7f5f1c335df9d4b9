import type { Db } from './rows.ts';
import type { StepResult } from '../runtime/contract.ts';
import { emptyStepRows, writeStepRows } from './write-step-rows.ts';

/** Persists the result of one step on the (locked) instance row (the same write a batch of steps makes). */
export async function updateInstance(tx: Db, instanceId: string, result: StepResult, now: Date): Promise<void> {
  const rows = emptyStepRows();
  rows.instancesUpdated.push({
    id: instanceId,
    state: result.state,
    variables: result.variables ?? null,
    snapshot: result.snapshot,
  });
  await writeStepRows(tx, now, rows);
}
