import type { Db } from './rows.ts';

/**
 * History retention: drops the monthly `history_YYYY_MM` partitions that end before the start of
 * the month `keepMonths` months before `now` (keepMonths = 3 in May keeps February to May). A
 * partition drop is instant and leaves no dead rows behind, unlike DELETE. Rows in
 * `history_default` (months that had no partition) are deleted by date instead. Returns the
 * partitions dropped.
 */
export async function dropHistoryPartitions(db: Db, now: Date, keepMonths: number): Promise<string[]> {
  if (!Number.isInteger(keepMonths) || keepMonths < 1)
    throw new Error('keepMonths must be a whole number of months, at least 1');
  const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (keepMonths - 1), 1));
  const { rows } = await db.raw(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = 'history' AND c.relname ~ '^history_[0-9]{4}_[0-9]{2}$'`,
  );
  const dropped: string[] = [];
  for (const { name } of rows as { name: string }[]) {
    const [year, month] = name.slice('history_'.length).split('_').map(Number) as [number, number];
    const end = new Date(Date.UTC(year, month, 1)); // first day of the following month
    if (end > cutoff) continue;
    await db.raw('DROP TABLE IF EXISTS ??', [name]);
    dropped.push(name);
  }
  await db.raw('DELETE FROM history_default WHERE created_at < ?', [cutoff]);
  return dropped;
}
