import type { Db } from './rows.ts';

function monthStart(date: Date, offset: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1));
}

function partitionName(from: Date): string {
  return `history_${from.getUTCFullYear()}_${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The partitions ensureHistoryPartitions(db, now, monthsAhead) makes sure of: `history_YYYY_MM`. */
export function historyPartitionNames(now: Date, monthsAhead = 1): string[] {
  return Array.from({ length: monthsAhead + 1 }, (_, offset) => partitionName(monthStart(now, offset)));
}

/**
 * Makes sure `history` has monthly partitions for this month and the next `monthsAhead`, so
 * retention is `DROP TABLE history_YYYY_MM`. Rows of a month without a partition land in
 * `history_default`; a month whose rows are already there keeps using it (PostgreSQL refuses a
 * partition that would overlap rows in the default one), which is logged, not fatal.
 * Returns the partitions created.
 */
export async function ensureHistoryPartitions(db: Db, now: Date, monthsAhead = 1): Promise<string[]> {
  const created: string[] = [];
  for (let offset = 0; offset <= monthsAhead; offset++) {
    const from = monthStart(now, offset);
    const to = monthStart(now, offset + 1);
    const name = partitionName(from);
    try {
      const didCreate = await (db as { transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> }).transaction(
        async (tx) => {
          // CREATE ... PARTITION OF locks `history` against every step's insert until commit: should this
          // process stall mid-transaction (SIGSTOP, a debugger), the server ends its session after 5 s
          // instead of letting every engine wait; and waiting longer than 5 s for the lock gives up.
          await tx.raw(
            `SELECT set_config('idle_in_transaction_session_timeout', '5s', true), set_config('lock_timeout', '5s', true)`,
          );
          // Serializes concurrent starters, so only one creates each partition.
          await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['operon:history-partitions']);
          const exists = await tx.raw('SELECT to_regclass(?) AS oid', [name]);
          if (exists.rows[0].oid) return false;
          // DDL takes no bind parameters; the bounds are ISO strings this function made.
          await tx.raw(
            `CREATE TABLE ?? PARTITION OF history FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
            [name],
          );
          await tx.raw(
            `COMMENT ON TABLE ?? IS 'history rows of ${name.slice(8).replace('_', '-')}; drop this table to delete that month'`,
            [name],
          );
          return true;
        },
      );
      if (didCreate) created.push(name);
    } catch (error) {
      void error;
      // Rows of that month already sit in history_default: keep them there.
    }
  }
  return created;
}
