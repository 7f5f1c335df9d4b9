/**
 * The audit trail (`audit_log`, migration 000016): append in the caller's transaction, verify the
 * chain, redact personal data.
 *
 * Each row's hash is SHA-256 over the previous row's hash and the canonical JSON of the row's facts
 * (seq, time, actor, action, target, instance, change digest). The change itself is covered only
 * through its salted digest, so erasure can null `change` and `change_salt` and the chain still
 * verifies. Appending locks the single `audit_chain_head` row until the transaction ends: concurrent
 * appenders form one line. Take that lock last (append as the final statement of a transaction), so
 * a transaction holding it never waits for another lock. Every append is one statement built by
 * `auditAppendParts` (hashes computed by PostgreSQL over the same canonical JSON): `appendAudit`
 * runs it alone; a batch of plain starts puts it at the end of its own single statement.
 */
import { hash, randomBytes } from 'node:crypto';
import type { Db } from './rows.ts';

/** Who acted. `kind`: user, apiKey, token, webhook, dev, cli or system. */
export interface Actor {
  kind: string;
  id: string;
}

/** The engine itself (timers, retention). */
export const SYSTEM_ACTOR: Actor = { kind: 'system', id: 'engine' };

export interface AuditEntry {
  actor: Actor;
  /** e.g. instance.cancel, task.complete (docs/security.md lists them). */
  action: string;
  target: { kind: string; id?: string };
  /** The process instance the action concerns, if any. */
  instanceId?: string;
  /** What changed; may hold personal data (redactable). */
  change?: unknown;
}

export interface AuditRow {
  seq: string;
  at: Date;
  actor_kind: string;
  actor_id: string;
  action: string;
  target_kind: string;
  target_id: string | null;
  process_instance_id: string | null;
  change: unknown;
  change_salt: string | null;
  change_digest: string;
  redacted_at: Date | null;
  prev_hash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level (the form every hash is computed over). */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

export function changeDigest(salt: string, change: unknown): string {
  return sha256(salt + canonicalJson(change ?? null));
}

/** `,"key":value` as `canonicalJson` writes one fact; nothing when it is undefined (canonicalJson leaves those keys out). */
function fact(key: string, value: string | null | undefined): string {
  if (value === undefined) return '';
  return `,"${key}":${value === null ? 'null' : JSON.stringify(value)}`;
}

/**
 * The hash of a row from its chained facts: SHA-256 over the previous hash and `canonicalJson` of
 * the facts, written out here in canonicalJson's sorted key order (it is on every append's path).
 */
export function rowHash(row: Omit<AuditRow, 'hash' | 'change' | 'change_salt' | 'redacted_at'>): string {
  const facts =
    fact('action', row.action) +
    fact('actorId', row.actor_id) +
    fact('actorKind', row.actor_kind) +
    fact('at', new Date(row.at).toISOString()) +
    fact('changeDigest', row.change_digest) +
    fact('processInstanceId', row.process_instance_id) +
    fact('seq', String(row.seq)) +
    fact('targetId', row.target_id) +
    fact('targetKind', row.target_kind);
  return sha256(`${row.prev_hash}{${facts.slice(1)}}`);
}

/** Appends entries to the chain in the caller's transaction; call it last in that transaction. */
export async function appendAudit(tx: Db, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  // One statement: lock the head, chain the rows, insert them, move the head (`auditAppendParts`).
  const { parts, bindings } = auditAppendParts(entries);
  await tx.raw(`WITH RECURSIVE ${parts.join(',\n')} SELECT 1`, bindings as never);
}

/** A fact of the row hash's canonical JSON in SQL: `,"key":` and the JSON of a text expression (null as null). */
function sqlFact(key: string, expression: string): string {
  return `',"${key}":' || coalesce(to_json(${expression})::text, 'null')`;
}

/**
 * The CTEs that append `entries` to the chain: run alone by `appendAudit`, or inside another single
 * statement (the start batch, start-instances.ts); their hashes are computed by PostgreSQL over the
 * same canonical JSON as `rowHash` (keys
 * in sorted order; `to_json` escapes text as JSON.stringify does). `audit_head` locks the chain
 * head until the statement commits. Put them after the statement's other CTEs, and only in a
 * statement whose other writes wait on no lock (inserts of new rows): the head lock is then still
 * the last one the statement can wait for. `WITH RECURSIVE` (the chain is computed row after row).
 */
export function auditAppendParts(entries: AuditEntry[]): { parts: string[]; bindings: unknown[] } {
  if (entries.length === 0) return { parts: [], bindings: [] };
  // Millisecond precision, so the stored timestamptz reads back as exactly the hashed instant.
  const at = new Date().toISOString();
  const salts = randomBytes(16 * entries.length).toString('hex');
  const rows = entries.map((entry, index) => {
    const salt = salts.slice(32 * index, 32 * index + 32);
    const change = entry.change === undefined ? null : entry.change;
    return {
      actor_kind: entry.actor.kind,
      actor_id: entry.actor.id,
      action: entry.action,
      target_kind: entry.target.kind,
      target_id: entry.target.id ?? null,
      process_instance_id: entry.instanceId ?? null,
      change,
      change_salt: salt,
      change_digest: changeDigest(salt, change),
    };
  });
  const facts = [
    sqlFact('actorId', 'e.actor_id'),
    sqlFact('actorKind', 'e.actor_kind'),
    sqlFact('at', 'a.at'),
    sqlFact('changeDigest', 'e.change_digest'),
    sqlFact('processInstanceId', 'e.process_instance_id'),
    sqlFact('seq', '(c.seq + 1)::text'),
    sqlFact('targetId', 'e.target_id'),
    sqlFact('targetKind', 'e.target_kind'),
  ].join(' || ');
  return {
    parts: [
      `audit_at AS (SELECT ?::text AS at)`,
      `audit_entries AS (
        SELECT * FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (actor_kind text, actor_id text, action text, target_kind text,
               target_id text, process_instance_id text, change jsonb, change_salt text, change_digest text))
               WITH ORDINALITY AS e(actor_kind, actor_id, action, target_kind, target_id, process_instance_id, change, change_salt,
               change_digest, ord))`,
      `audit_head AS (SELECT seq, hash FROM audit_chain_head FOR UPDATE)`,
      `audit_chain AS (
        SELECT 0::bigint AS ord, seq, hash, NULL::text AS prev_hash FROM audit_head
        UNION ALL
        SELECT e.ord, c.seq + 1,
               encode(sha256(convert_to(c.hash || '{"action":' || coalesce(to_json(e.action)::text, 'null') || ${facts} || '}', 'UTF8')), 'hex'),
               c.hash
          FROM audit_chain AS c JOIN audit_entries AS e ON e.ord = c.ord + 1 CROSS JOIN audit_at AS a)`,
      `audit_inserted AS (
        INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, target_kind, target_id, process_instance_id,
                               change, change_salt, change_digest, prev_hash, hash)
        SELECT c.seq, a.at::timestamptz, e.actor_kind, e.actor_id, e.action, e.target_kind, e.target_id, e.process_instance_id::uuid,
               e.change, e.change_salt, e.change_digest, c.prev_hash, c.hash
          FROM audit_chain AS c JOIN audit_entries AS e ON e.ord = c.ord CROSS JOIN audit_at AS a)`,
      `audit_head_moved AS (
        UPDATE audit_chain_head SET seq = l.seq, hash = l.hash
          FROM (SELECT seq, hash FROM audit_chain ORDER BY ord DESC LIMIT 1) AS l)`,
    ],
    bindings: [at, JSON.stringify(rows)],
  };
}

/** One audited action in a transaction of its own (for actions that are not a transaction already). */
export function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  // The append is one statement, atomic with or without a transaction around it.
  return appendAudit(db, [entry]);
}

export type AuditVerdict =
  | { ok: true; rows: number; headSeq: string; headHash: string }
  | { ok: false; rows: number; seq: string; reason: string };

/**
 * Walks the whole chain in seq order, a page at a time: every row must follow the previous one
 * (seq + 1, prev_hash), hash to its hash, and — unless redacted — have a change matching its digest;
 * the last row must be the chain head. Names the first row that does not.
 */
export async function verifyAuditChain(db: Db, pageSize = 5_000): Promise<AuditVerdict> {
  let prev = GENESIS_HASH;
  let expected = 1n;
  let count = 0;
  for (;;) {
    const rows = (await db('audit_log')
      .where('seq', '>=', expected.toString())
      .orderBy('seq')
      .limit(pageSize)) as AuditRow[];
    for (const row of rows) {
      count++;
      const broken = (reason: string): AuditVerdict => ({ ok: false, rows: count, seq: String(row.seq), reason });
      if (BigInt(row.seq) !== expected) return { ok: false, rows: count, seq: expected.toString(), reason: 'missing' };
      if (row.prev_hash !== prev) return broken('prev_hash does not match the hash of the row before');
      if (rowHash(row) !== row.hash) return broken('hash does not match the row');
      if (row.redacted_at === null && changeDigest(row.change_salt ?? '', row.change) !== row.change_digest)
        return broken('change does not match change_digest');
      if (row.redacted_at !== null && (row.change !== null || row.change_salt !== null))
        return broken('a redacted row still holds change');
      prev = row.hash;
      expected++;
    }
    if (rows.length < pageSize) break;
  }
  const head = (await db('audit_chain_head').first('seq', 'hash')) as { seq: string; hash: string };
  if (BigInt(head.seq) !== expected - 1n || head.hash !== prev)
    return {
      ok: false,
      rows: count,
      seq: String(head.seq),
      reason: `the chain head says seq ${head.seq}, the log ends at ${expected - 1n}`,
    };
  return { ok: true, rows: count, headSeq: String(head.seq), headHash: head.hash };
}

/** Redacts `change` of every audit row concerning these instances (erasure, retention). */
export async function redactAudit(tx: Db, instanceIds: string[]): Promise<number> {
  if (instanceIds.length === 0) return 0;
  return tx('audit_log')
    .whereIn('process_instance_id', instanceIds)
    .whereNull('redacted_at')
    .update({ change: null, change_salt: null, redacted_at: tx.fn.now() });
}
