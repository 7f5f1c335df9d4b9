/**
 * The Operon HTTP API on fastify: `buildApp({ engine, db })` returns a ready app; the CLI calls
 * `listen` on it. Routes live in engine/http/routes, one file per resource; see docs/http.md.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import multipart from '@fastify/multipart';
import type { Knex } from 'knex';
import type { Engine } from '../api.ts';
import { OperonError } from '../errors.ts';
import { ApiTokenVerifier, ensureApiToken } from './auth.ts';
import { toOperonError } from './http-errors.ts';
import { deleteExpiredIdempotencyKeys } from './idempotency.ts';
import { createMetrics } from './metrics.ts';
import { registerRateLimits } from './rate-limit.ts';
import { RouteBook, type RouteContext } from './route.ts';
import { WebhookTargets } from './webhook-targets.ts';
import { Notifications } from '../jobs/notifications.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { instanceRoutes } from './routes/instances.ts';
import { jobRoutes } from './routes/jobs.ts';
import { messageAndIncidentRoutes } from './routes/messages.ts';
import { systemRoutes } from './routes/system.ts';
import { taskRoutes } from './routes/tasks.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { registerUi } from '../ui/plugin.ts';

export const DEFAULT_BODY_LIMIT = 5 * 1024 * 1024;

export interface BuildAppOptions {
  engine: Engine;
  db: Knex;
  /** A pino logger; silent when omitted. Authorization and webhook-signature headers are never logged. */
  logger?: FastifyBaseLogger;
  /** A bearer token to accept (its hash is stored in api_tokens). Defaults to OPERON_API_TOKEN. */
  apiToken?: string;
  /** Largest request body in bytes, also per multipart file. Larger bodies get 413 before they are read. */
  bodyLimit?: number;
  /** Collect node.js process metrics too (default true). */
  defaultMetrics?: boolean;
  /** How long Idempotency-Keys and webhook-ids are remembered (default 24 h); swept hourly. */
  idempotencyRetentionMs?: number;
  /**
   * The process's LISTEN connection (the engine's `notifications`), over which cached webhook
   * targets are invalidated. Without it the app opens its own, closed with the app.
   */
  notifications?: Notifications;
}

export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

/** The fastify app with every route registered and ready (not listening). */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    bodyLimit,
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    return503OnClosing: true,
    // Errors the router raises before any route runs (a path parameter over maxParamLength, a
    // malformed URL) get the same error document as everything else.
    frameworkErrors: (error: Error, _request: unknown, reply: FastifyReply) => {
      const operonError = toOperonError(error);
      void reply.status(operonError.statusCode).send(operonError.toJSON());
    },
  }) as unknown as FastifyInstance;

  const apiToken = options.apiToken ?? process.env.OPERON_API_TOKEN;
  if (apiToken) await ensureApiToken(options.db, apiToken);

  app.setErrorHandler((error, request, reply) => {
    const operonError = toOperonError(error);
    if (operonError.statusCode >= 500) request.log.error({ err: error, code: operonError.code }, 'request failed');
    else request.log.info({ code: operonError.code, statusCode: operonError.statusCode }, operonError.message);
    return reply.status(operonError.statusCode).send(operonError.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new OperonError('OPERON_ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`, { details: { method: request.method } });
    return reply.status(404).send(error.toJSON());
  });

  registerRateLimits(app);

  // Refuse a declared oversize body before reading a byte of it (multipart bodies are streamed, so
  // fastify's own limit does not cover them).
  app.addHook('onRequest', async (request) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > bodyLimit) {
      throw new OperonError('OPERON_ERR_PAYLOAD_TOO_LARGE', `The body is ${length} bytes; the limit is ${bodyLimit}`, { details: { limit: bodyLimit } });
    }
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text, rejectUnsafeValues));
    } catch (error) {
      request.jsonError = error as Error;
      done(null, undefined);
    }
  });
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    done(null, body);
  });
  await app.register(multipart, { limits: { fileSize: bodyLimit, files: 20, fields: 20, parts: 40 }, throwFileSizeLimit: true });

  const longPolls = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of longPolls) controller.abort();
  });

  const retentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
  const sweep = setInterval(() => {
    deleteExpiredIdempotencyKeys(options.db, retentionMs).catch((error) => app.log.warn({ err: error }, 'idempotency key sweep failed'));
  }, 3600_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));

  const notifications = options.notifications ?? new Notifications(options.db, app.log);
  const webhookTargets = new WebhookTargets(options.db, notifications);
  app.addHook('onClose', async () => {
    webhookTargets.close();
    if (!options.notifications) await notifications.close();
  });

  const context: RouteContext = {
    app,
    book: new RouteBook(),
    tokens: new ApiTokenVerifier(options.db),
    engine: options.engine,
    db: options.db,
    metrics: createMetrics(options.db, {
      defaultMetrics: options.defaultMetrics,
      timerStartsDelayed: () => options.engine.timerStartsDelayed?.() ?? 0,
    }),
    webhookTargets,
  };
  deploymentRoutes(context);
  webhookRoutes(context);
  instanceRoutes(context);
  taskRoutes(context);
  messageAndIncidentRoutes(context);
  jobRoutes(context, longPolls);
  systemRoutes(context);
  await registerUi(app, { context });

  await app.ready();
  return app;
}

function rejectUnsafeValues(key: string, value: unknown): unknown {
  // Same rule as fastify's default parser (secure-json-parse): these keys can poison prototypes later.
  if (key === '__proto__') throw new SyntaxError('the key "__proto__" is not allowed');
  if (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value) throw new SyntaxError('the key "constructor.prototype" is not allowed');
  // PostgreSQL's text and jsonb cannot hold U+0000: refused here, it would fail in a query (500).
  if (key.includes('\u0000') || (typeof value === 'string' && value.includes('\u0000'))) throw new SyntaxError('U+0000 is not allowed in a string (PostgreSQL cannot store it)');
  return value;
}
