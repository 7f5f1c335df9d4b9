import type { Db } from './rows.ts';

/**
 * Serializes, per message name and correlation key, opening a subscription (which looks for a
 * buffered message) against buffering a message (which then looks for a subscription). Without
 * it, each can commit without seeing the other and the message waits out its TTL unused.
 * Transaction-scoped; a hash collision only serializes two unrelated keys.
 */
export async function lockCorrelation(tx: Db, messageName: string, correlationKey: string): Promise<void> {
  await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`operon:message:${messageName}\u0001${correlationKey}`]);
}
