/**
 * Bearer tokens for the /api routes: the development token and API keys (docs/security.md). Both
 * are kept only as SHA-256 hashes (`api_tokens`); a presented token is hashed and compared in
 * constant time against every stored hash. A development token acts as admin; an API key acts with
 * the roles (and, for workers, the job types) it was created with.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { OperonError } from '../errors.ts';
import { ROLES, type Role } from './identity.ts';
import { appendAudit, SYSTEM_ACTOR, type Actor } from '../store/audit-log.ts';

/** Hex SHA-256 of a token, as stored in `api_tokens.token_hash`. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Stores the hash of a token chosen by the operator (OPERON_API_TOKEN); harmless when already stored. */
export async function ensureApiToken(db: Knex, token: string, name = 'default', actor = SYSTEM_ACTOR): Promise<void> {
  await db.transaction(async (tx) => {
    const inserted = (await tx('api_tokens')
      .insert({ name, token_hash: hashApiToken(token), kind: 'dev', roles: ['admin'] })
      .onConflict('token_hash')
      .ignore()
      .returning('id')) as { id: string }[];
    if (inserted[0]) await appendAudit(tx, [tokenAudit(inserted[0].id, name, actor)]);
  });
}

function tokenAudit(id: string, name: string, actor: Actor) {
  return { actor, action: 'apiToken.create', target: { kind: 'apiToken', id }, change: { name } };
}

/** Creates a new random development token, stores its hash and returns the token (the only time it is seen). */
export async function createApiToken(db: Knex, name = 'default', actor = SYSTEM_ACTOR): Promise<string> {
  const token = `opr_${randomBytes(32).toString('base64url')}`;
  await db.transaction(async (tx) => {
    const [row] = (await tx('api_tokens')
      .insert({ name, token_hash: hashApiToken(token), kind: 'dev', roles: ['admin'] })
      .returning('id')) as {
      id: string;
    }[];
    await appendAudit(tx, [tokenAudit(row!.id, name, actor)]);
  });
  return token;
}

export interface NewApiKey {
  name: string;
  roles: Role[];
  /** Job types a worker key may take; required with the worker role. */
  taskTypes?: string[];
}

export interface ApiKeyView {
  id: string;
  name: string;
  roles: Role[];
  taskTypes: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const TASK_TYPE = /^[\w:.\-/]{1,255}$/;

/** Checks a new key's roles and job types; OPERON_ERR_VALIDATION naming the field otherwise. */
export function validateNewApiKey(key: NewApiKey): NewApiKey {
  const invalid = (field: string, message: string) =>
    new OperonError('OPERON_ERR_VALIDATION', message, { details: { field } });
  if (!key.name || key.name.length > 255) throw invalid('name', 'name must be 1 to 255 characters');
  if (key.roles.length === 0) throw invalid('roles', 'an API key needs at least one role');
  for (const role of key.roles)
    if (!(ROLES as readonly string[]).includes(role))
      throw invalid('roles', `unknown role "${role}"; roles are ${ROLES.join(', ')}`);
  const taskTypes = key.taskTypes?.filter(Boolean);
  if (key.roles.includes('worker') && !taskTypes?.length)
    throw invalid('taskTypes', 'a worker key needs the job types it may take (taskTypes)');
  if (taskTypes && !key.roles.includes('worker')) throw invalid('taskTypes', 'taskTypes only apply to the worker role');
  for (const type of taskTypes ?? [])
    if (!TASK_TYPE.test(type)) throw invalid('taskTypes', `"${type}" is not a job type`);
  return { name: key.name, roles: [...new Set(key.roles)], ...(taskTypes ? { taskTypes } : {}) };
}

/** Creates an API key and returns it with its token, which is shown this once and never stored. */
export async function createApiKey(
  db: Knex,
  key: NewApiKey,
  actor: Actor = SYSTEM_ACTOR,
): Promise<{ token: string; key: ApiKeyView }> {
  const checked = validateNewApiKey(key);
  const token = `opk_${randomBytes(32).toString('base64url')}`;
  return db.transaction(async (tx) => {
    const [row] = await tx('api_tokens')
      .insert({
        name: checked.name,
        token_hash: hashApiToken(token),
        kind: 'apiKey',
        roles: checked.roles,
        task_types: checked.taskTypes ?? null,
      })
      .returning('*');
    await appendAudit(tx, [
      {
        actor,
        action: 'apiKey.create',
        target: { kind: 'apiToken', id: row.id },
        change: { name: checked.name, roles: checked.roles, taskTypes: checked.taskTypes ?? null },
      },
    ]);
    return { token, key: toApiKeyView(row) };
  });
}

export async function listApiKeys(db: Knex): Promise<ApiKeyView[]> {
  const rows = await db('api_tokens').where({ kind: 'apiKey' }).orderBy('created_at');
  return rows.map(toApiKeyView);
}

/** Revokes an API key (the development token is not revoked here: unset OPERON_API_TOKEN instead). */
export async function revokeApiKey(db: Knex, id: string, actor: Actor = SYSTEM_ACTOR): Promise<ApiKeyView | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx('api_tokens')
      .where({ id, kind: 'apiKey' })
      .update({ revoked_at: tx.raw('coalesce(revoked_at, now())') })
      .returning('*');
    if (!row) return undefined;
    await appendAudit(tx, [{ actor, action: 'apiKey.revoke', target: { kind: 'apiToken', id } }]);
    return toApiKeyView(row);
  });
}

function toApiKeyView(row: Record<string, unknown>): ApiKeyView {
  const time = (value: unknown) => (value instanceof Date ? value.toISOString() : null);
  return {
    id: row.id as string,
    name: row.name as string,
    roles: row.roles as Role[],
    taskTypes: (row.task_types as string[] | null) ?? null,
    createdAt: time(row.created_at)!,
    lastUsedAt: time(row.last_used_at),
    revokedAt: time(row.revoked_at),
  };
}

/** Reads `Authorization: Bearer <token>`; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Constant-time comparison of a presented token with a configured one; false when either is missing. */
export function sameToken(presented: string | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  return timingSafeEqual(Buffer.from(hashApiToken(presented), 'hex'), Buffer.from(hashApiToken(expected), 'hex'));
}

/** A stored token that matched. */
export interface ApiTokenRow {
  id: string;
  name: string;
  kind: 'dev' | 'apiKey';
  roles: Role[];
  taskTypes?: string[];
}

/** Checks bearer tokens against `api_tokens`, caching the rows briefly so each request is not a query. */
export class ApiTokenVerifier {
  private rows: (ApiTokenRow & { hash: Buffer })[] = [];
  private loadedAt = 0;
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly db: Knex,
    private readonly cacheMs = 5_000,
  ) {}

  /** The matching token row, or undefined (also for a revoked key). */
  async verify(token: string | undefined): Promise<ApiTokenRow | undefined> {
    if (!token) return undefined;
    if (Date.now() - this.loadedAt > this.cacheMs) {
      // A database that stopped answering must not hold every request: the rows last read serve
      // until it answers again (nothing can be created or revoked meanwhile anyway).
      try {
        await this.reload();
      } catch (error) {
        if (this.loadedAt === 0) throw error;
      }
    }
    const presented = Buffer.from(hashApiToken(token), 'hex');
    let matched: ApiTokenRow | undefined;
    for (const row of this.rows) {
      if (timingSafeEqual(presented, row.hash)) matched = row;
    }
    // last_used_at is a hint: it never delays or fails the request.
    if (matched) this.touch(matched.id).catch(() => undefined);
    return matched;
  }

  /** Forgets the cache, so a key created or revoked by this process counts at once. */
  forget(): void {
    this.loadedAt = 0;
  }

  private async reload(): Promise<void> {
    const rows = (await this.db('api_tokens')
      .whereNull('revoked_at')
      .select('id', 'name', 'kind', 'roles', 'task_types', 'token_hash')) as {
      id: string;
      name: string;
      kind: 'dev' | 'apiKey';
      roles: Role[];
      task_types: string[] | null;
      token_hash: string;
    }[];
    this.rows = rows.map((row) => ({
      id: row.id,
      name: row.name,
      kind: row.kind,
      roles: row.roles,
      ...(row.task_types ? { taskTypes: row.task_types } : {}),
      hash: Buffer.from(row.token_hash, 'hex'),
    }));
    this.loadedAt = Date.now();
  }

  private async touch(id: string): Promise<void> {
    const last = this.lastTouched.get(id) ?? 0;
    if (Date.now() - last < 60_000) return;
    this.lastTouched.set(id, Date.now());
    await this.db('api_tokens').where({ id }).update({ last_used_at: this.db.fn.now() });
  }
}
