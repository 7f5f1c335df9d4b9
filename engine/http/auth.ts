/**
 * Bearer tokens for the /api routes. Tokens are kept only as SHA-256 hashes (`api_tokens`); a
 * presented token is hashed and compared in constant time against every stored hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit, SYSTEM_ACTOR, type Actor } from '../store/audit-log.ts';

/** Hex SHA-256 of a token, as stored in `api_tokens.token_hash`. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Stores the hash of a token chosen by the operator (OPERON_API_TOKEN); harmless when already stored. */
export async function ensureApiToken(db: Knex, token: string, name = 'default', actor = SYSTEM_ACTOR): Promise<void> {
  await db.transaction(async (tx) => {
    const inserted = (await tx('api_tokens')
      .insert({ name, token_hash: hashApiToken(token) })
      .onConflict('token_hash')
      .ignore()
      .returning('id')) as { id: string }[];
    if (inserted[0]) await appendAudit(tx, [tokenAudit(inserted[0].id, name, actor)]);
  });
}

function tokenAudit(id: string, name: string, actor: Actor) {
  return { actor, action: 'apiToken.create', target: { kind: 'apiToken', id }, change: { name } };
}

/** Creates a new random token, stores its hash and returns the token (the only time it is seen). */
export async function createApiToken(db: Knex, name = 'default', actor = SYSTEM_ACTOR): Promise<string> {
  const token = `opr_${randomBytes(32).toString('base64url')}`;
  await db.transaction(async (tx) => {
    const [row] = (await tx('api_tokens')
      .insert({ name, token_hash: hashApiToken(token) })
      .returning('id')) as {
      id: string;
    }[];
    await appendAudit(tx, [tokenAudit(row!.id, name, actor)]);
  });
  return token;
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

/** Checks bearer tokens against `api_tokens`, caching the hashes briefly so each request is not a query. */
export class ApiTokenVerifier {
  private hashes: { id: string; hash: Buffer }[] = [];
  private loadedAt = 0;
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly db: Knex,
    private readonly cacheMs = 5_000,
  ) {}

  /** The id of the matching token row, or undefined. */
  async verify(token: string | undefined): Promise<string | undefined> {
    if (!token) return undefined;
    if (Date.now() - this.loadedAt > this.cacheMs) await this.reload();
    const presented = Buffer.from(hashApiToken(token), 'hex');
    let matchedId: string | undefined;
    for (const { id, hash } of this.hashes) {
      if (timingSafeEqual(presented, hash)) matchedId = id;
    }
    if (matchedId) await this.touch(matchedId);
    return matchedId;
  }

  private async reload(): Promise<void> {
    const rows = (await this.db('api_tokens').select('id', 'token_hash')) as { id: string; token_hash: string }[];
    this.hashes = rows.map((row) => ({ id: row.id, hash: Buffer.from(row.token_hash, 'hex') }));
    this.loadedAt = Date.now();
  }

  private async touch(id: string): Promise<void> {
    const last = this.lastTouched.get(id) ?? 0;
    if (Date.now() - last < 60_000) return;
    this.lastTouched.set(id, Date.now());
    await this.db('api_tokens').where({ id }).update({ last_used_at: this.db.fn.now() });
  }
}
