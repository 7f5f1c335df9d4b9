/**
 * Rate limits with token buckets, kept in this server process's memory: one bucket per process
 * webhook (`POST /webhooks/{bpmnProcessId}`), one per bearer token on the `/api/...` routes, one per
 * client address for paths that match no route, and one per client address for failed
 * authentication (every 401 takes a token; while it is empty, that address's requests to routes that
 * need credentials are refused unread). Buckets are keyed by the route the router matched and its
 * decoded parameters, never by the raw URL, so `/%61pi/...` or `/webhooks/%70ing` share the bucket
 * of `/api/...` and `/webhooks/ping`. A request over a limit gets 429 OPERON_ERR_RATE_LIMITED with
 * `Retry-After` (seconds), before auth or body parsing, so a flood costs little. Several API servers
 * each allow the full rate.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OperonError } from '../errors.ts';

/** A sustained rate (requests per second) and a burst (bucket size); rate 0 turns the limit off. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateLimits {
  /** Per process webhook: OPERON_WEBHOOK_RATE (default 1,000/s), OPERON_WEBHOOK_BURST (default 2 x rate). */
  webhook: RateLimit;
  /** Per API token, and per client address on unknown paths: OPERON_API_RATE (default 1,000/s), OPERON_API_BURST (default 2 x rate). */
  api: RateLimit;
  /** Failed authentication per client address: OPERON_AUTH_FAILURE_RATE (default 1/s), OPERON_AUTH_FAILURE_BURST (default 20). */
  authFailures: RateLimit;
}

/** Buckets kept at most; the least recently used goes first, so random keys cannot grow memory. */
const MAX_BUCKETS = 10_000;

function limitFromEnv(
  rateName: string,
  burstName: string,
  env: NodeJS.ProcessEnv,
  defaults: { perSecond: number; burst?: number } = { perSecond: 1000 },
): RateLimit {
  const rate = env[rateName] === undefined || env[rateName] === '' ? defaults.perSecond : Number(env[rateName]);
  const perSecond = Number.isFinite(rate) && rate >= 0 ? rate : defaults.perSecond;
  const burst = Number(env[burstName]);
  return {
    perSecond,
    burst: Number.isFinite(burst) && burst >= 1 ? burst : (defaults.burst ?? Math.max(1, perSecond * 2)),
  };
}

/** The limits configured in the environment. */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimits {
  return {
    webhook: limitFromEnv('OPERON_WEBHOOK_RATE', 'OPERON_WEBHOOK_BURST', env),
    api: limitFromEnv('OPERON_API_RATE', 'OPERON_API_BURST', env),
    authFailures: limitFromEnv('OPERON_AUTH_FAILURE_RATE', 'OPERON_AUTH_FAILURE_BURST', env, {
      perSecond: 1,
      burst: 20,
    }),
  };
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
    const bucket = this.refill(key, limit);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return this.wait(bucket, limit);
  }

  /** Like `take`, but takes nothing: 0 while the bucket holds a token. */
  peek(key: string, limit: RateLimit): number {
    if (!this.buckets.has(key)) return 0;
    const bucket = this.refill(key, limit);
    return bucket.tokens >= 1 ? 0 : this.wait(bucket, limit);
  }

  private refill(key: string, limit: RateLimit): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    this.buckets.delete(key);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }

  private wait(bucket: Bucket, limit: RateLimit): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
  }
}

type Scope = 'webhook' | 'api' | 'unmatched' | 'auth-failures';

/** The bucket a request counts against, from the route the router matched (so any spelling of a path counts the same). */
function bucketOf(
  request: FastifyRequest,
  limits: RateLimits,
): { scope: Scope; key: string; limit: RateLimit } | undefined {
  const route = request.routeOptions.url;
  if (route === undefined)
    return limits.api.perSecond > 0
      ? { scope: 'unmatched', key: `unmatched:${request.ip}`, limit: limits.api }
      : undefined;
  if (request.routeOptions.config.auth === 'webhook' && limits.webhook.perSecond > 0) {
    const { bpmnProcessId } = request.params as { bpmnProcessId?: string };
    return { scope: 'webhook', key: `webhook:${bpmnProcessId ?? ''}`, limit: limits.webhook };
  }
  if (route.startsWith('/api/') && limits.api.perSecond > 0) {
    // Keyed by the token's hash: the raw token is never kept. Bad tokens are held back by the failure bucket.
    const authorization = request.headers.authorization ?? '';
    return {
      scope: 'api',
      key: `api:${createHash('sha256').update(authorization).digest('base64url')}`,
      limit: limits.api,
    };
  }
  return undefined;
}

function rateLimited(reply: FastifyReply, scope: Scope, limit: RateLimit, waitSeconds: number): OperonError {
  reply.header('retry-after', String(waitSeconds));
  const what = scope === 'auth-failures' ? 'failed authentications from this address' : 'requests';
  return new OperonError(
    'OPERON_ERR_RATE_LIMITED',
    `Too many ${what}: the limit is ${limit.perSecond}/s (burst ${limit.burst}); retry after ${waitSeconds} s`,
    {
      details: { retryAfterSeconds: waitSeconds, perSecond: limit.perSecond, burst: limit.burst, scope },
    },
  );
}

/** Adds the hooks that enforce `limits` (default: from the environment). */
export function registerRateLimits(app: FastifyInstance, limits: RateLimits = rateLimitsFromEnv()): void {
  const buckets = new TokenBuckets();
  const failuresOn = limits.authFailures.perSecond > 0;
  app.addHook('onRequest', async (request, reply) => {
    const auth = request.routeOptions.config?.auth;
    if (failuresOn && auth !== undefined && auth !== 'none') {
      const waitSeconds = buckets.peek(`auth-failures:${request.ip}`, limits.authFailures);
      if (waitSeconds > 0) throw rateLimited(reply, 'auth-failures', limits.authFailures, waitSeconds);
    }
    const bucket = bucketOf(request, limits);
    if (!bucket) return;
    const waitSeconds = buckets.take(bucket.key, bucket.limit);
    if (waitSeconds > 0) throw rateLimited(reply, bucket.scope, bucket.limit, waitSeconds);
  });
  if (failuresOn) {
    app.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 401) buckets.take(`auth-failures:${request.ip}`, limits.authFailures);
    });
  }
}
