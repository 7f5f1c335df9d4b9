/**
 * Rate limits with token buckets, kept in this server process's memory: one bucket per process
 * webhook (`POST /webhooks/{bpmnProcessId}`) and one per bearer token on `/api/...`. A request
 * over the limit gets 429 OPERON_ERR_RATE_LIMITED with `Retry-After` (seconds), before auth or
 * body parsing, so a flood costs little. Several API servers each allow the full rate.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { OperonError } from '../errors.ts';

/** A sustained rate (requests per second) and a burst (bucket size); rate 0 turns the limit off. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateLimits {
  /** Per process webhook: OPERON_WEBHOOK_RATE (default 1,000/s), OPERON_WEBHOOK_BURST (default 2 x rate). */
  webhook: RateLimit;
  /** Per API token: OPERON_API_RATE (default 1,000/s), OPERON_API_BURST (default 2 x rate). */
  api: RateLimit;
}

/** Buckets kept at most; the least recently used goes first, so random keys cannot grow memory. */
const MAX_BUCKETS = 10_000;

function limitFromEnv(rateName: string, burstName: string, env: NodeJS.ProcessEnv): RateLimit {
  const rate = env[rateName] === undefined || env[rateName] === '' ? 1000 : Number(env[rateName]);
  const perSecond = Number.isFinite(rate) && rate >= 0 ? rate : 1000;
  const burst = Number(env[burstName]);
  return { perSecond, burst: Number.isFinite(burst) && burst >= 1 ? burst : Math.max(1, perSecond * 2) };
}

/** The limits configured in the environment. */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimits {
  return { webhook: limitFromEnv('OPERON_WEBHOOK_RATE', 'OPERON_WEBHOOK_BURST', env), api: limitFromEnv('OPERON_API_RATE', 'OPERON_API_BURST', env) };
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets keyed by name; `take` answers 0 when allowed, else the seconds to wait. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  take(key: string, limit: RateLimit): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    this.buckets.delete(key);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
  }
}

/** Adds the onRequest hook that enforces `limits` (default: from the environment). */
export function registerRateLimits(app: FastifyInstance, limits: RateLimits = rateLimitsFromEnv()): void {
  const buckets = new TokenBuckets();
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    let key: string | undefined;
    let limit: RateLimit | undefined;
    if (path.startsWith('/webhooks/') && request.method === 'POST' && limits.webhook.perSecond > 0) {
      key = `webhook:${decodeURIComponent(path.slice('/webhooks/'.length))}`;
      limit = limits.webhook;
    } else if (path.startsWith('/api/') && limits.api.perSecond > 0) {
      // Keyed by the token's hash: the raw token is never kept, and a bad token is limited too.
      const authorization = request.headers.authorization ?? '';
      key = `api:${createHash('sha256').update(authorization).digest('base64url')}`;
      limit = limits.api;
    }
    if (!key || !limit) return;
    const waitSeconds = buckets.take(key, limit);
    if (waitSeconds === 0) return;
    reply.header('retry-after', String(waitSeconds));
    throw new OperonError('OPERON_ERR_RATE_LIMITED', `Too many requests: the limit is ${limit.perSecond}/s (burst ${limit.burst}); retry after ${waitSeconds} s`, {
      details: { retryAfterSeconds: waitSeconds, perSecond: limit.perSecond, burst: limit.burst, scope: key.split(':')[0] },
    });
  });
}
