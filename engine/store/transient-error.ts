/**
 * Is this error the database going away (connection terminated, server restarting, pool timeout)
 * rather than something wrong with the step? Such a step rolled back whole, so the caller must
 * leave the job or timer as it was for a later retry, never turn it into an incident.
 */
/**
 * 25006 (read_only_sql_transaction): a write reached a standby, e.g. a pool connection made just
 * before a failover, or a host list whose primary is not promoted yet. Retried once a read-write
 * host answers, like a connection error.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '25006']);
const TRANSIENT_MESSAGES =
  /Connection terminated|Connection ended unexpectedly|terminating connection|ECONNRESET|ECONNREFUSED|EPIPE|Timeout acquiring a connection|the database system is (starting up|shutting down)|cannot execute \w+ in a read-only transaction|no read-write PostgreSQL host|Client has encountered a connection error|Connection is closed/i;

export function isTransientDatabaseError(error: unknown): boolean {
  for (
    let current = error, depth = 0;
    current && depth < 5;
    current = (current as { cause?: unknown }).cause, depth++
  ) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (code.startsWith('08') ||
        TRANSIENT_SQLSTATES.has(code) ||
        code === 'ECONNRESET' ||
        code === 'ECONNREFUSED' ||
        code === 'EPIPE')
    )
      return true;
    if ((current as { name?: unknown }).name === 'KnexTimeoutError') return true;
    if (current instanceof Error && TRANSIENT_MESSAGES.test(current.message)) return true;
  }
  return false;
}
