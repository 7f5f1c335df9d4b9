import type { Db } from './rows.ts';

/**
 * One transaction-scoped advisory lock per BPMN process id orders deployments against each other
 * and against the firing of that process's start timers. A deployment holds it exclusively from
 * numbering the new version until it commits; a firing timer start event holds it shared, so
 * firings run side by side but never overlap a deployment that supersedes them.
 */
function key(bpmnProcessId: string): string {
  return `operon:deploy:${bpmnProcessId}`;
}

/** Waits for the exclusive lock (deployments). Must run inside a transaction. */
export async function lockDeployment(tx: Db, bpmnProcessId: string): Promise<void> {
  await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [key(bpmnProcessId)]);
}

/**
 * Takes the shared lock if no deployment holds or waits for it (firing start timers); false means
 * a deployment is under way and the timer should wait for the next round. Must run inside a transaction.
 */
export async function tryLockStartEvents(tx: Db, bpmnProcessId: string): Promise<boolean> {
  const sql = 'SELECT pg_try_advisory_xact_lock_shared(hashtext(?)) AS locked';
  const result = (await tx.raw(sql, [key(bpmnProcessId)])) as { rows: { locked: boolean }[] };
  return result.rows[0]?.locked === true;
}
