/**
 * The Operon HTTP API on fastify: `buildApp({ engine, db })` returns a ready app; the CLI calls
 * `listen` on it. Routes live in engine/http/routes, one file per resource; see docs/http.md.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { Knex } from 'knex';
import type { Engine } from '../api.ts';
import { OperonError } from '../errors.ts';
import { ApiTokenVerifier, ensureApiToken } from './auth.ts';
import { Access, OidcVerifier, oidcSettingsFromEnv, type OidcSettings, type Permission } from './identity.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, with the permission it declares (undefined: refused by the permission hook). */
    readonly operonRoutes: { method: string; url: string; permission?: Permission }[];
  }
}
import { toOperonError } from './http-errors.ts';
import { deleteExpiredIdempotencyKeys } from './idempotency.ts';
import { parseJsonBody } from './json-body.ts';
import { createMetrics } from './metrics.ts';
import { registerRequestSpans } from './request-spans.ts';
import { registerRateLimits } from './rate-limit.ts';
import { RouteBook, type RouteContext } from './route.ts';
import { WebhookTargets } from './webhook-targets.ts';
import { Notifications } from '../jobs/notifications.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { MAX_DEPLOY_FILES, deploymentRoutes } from './routes/deployments.ts';
import { instanceRoutes } from './routes/instances.ts';
import { complianceRoutes } from './routes/compliance.ts';
import { jobRoutes } from './routes/jobs.ts';
import { messageAndIncidentRoutes } from './routes/messages.ts';
import { systemRoutes } from './routes/system.ts';
import { taskRoutes } from './routes/tasks.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { batchRoutes } from './batch-routes.ts';
import { registerUi } from '../ui/plugin.ts';

export const DEFAULT_BODY_LIMIT = 5 * 1024 * 1024;
/** How long a client may take to send one whole request, headers and body (OPERON_REQUEST_TIMEOUT_MS). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** A request unanswered this long makes the engine check that PostgreSQL still answers. */
const SLOW_REQUEST_MS = 1_000;
/** How long a client may take to send a request's headers. */
const MAX_HEADERS_TIMEOUT_MS = 10_000;

export interface BuildAppOptions {
  engine: Engine;
  db: Knex;
  /** A pino logger; silent when omitted. Authorization and webhook-signature headers are never logged. */
  logger?: FastifyBaseLogger;
  /** A bearer token to accept (its hash is stored in api_tokens). Defaults to OPERON_API_TOKEN. */
  apiToken?: string;
  /**
   * Largest request body in bytes, also the total of a multipart deployment's files. A larger declared
   * body gets 413 before it is read; a chunked one is cut off at the limit.
   */
  bodyLimit?: number;
  /**
   * Time a client has to send a whole request (headers and body) before the connection is answered
   * 408 and closed; default OPERON_REQUEST_TIMEOUT_MS or 30 s. Responses (a job long-poll) are not limited by it.
   */
  requestTimeoutMs?: number;
  /** A bearer token that may read /metrics besides the API tokens; default OPERON_METRICS_TOKEN. */
  metricsToken?: string;
  /** Collect node.js process metrics too (default true). */
  defaultMetrics?: boolean;
  /** How long Idempotency-Keys and webhook-ids are remembered (default 24 h); swept hourly. */
  idempotencyRetentionMs?: number;
  /**
   * The process's LISTEN connection (the engine's `notifications`), over which cached webhook
   * targets are invalidated. Without it the app opens its own, closed with the app.
   */
  notifications?: Notifications;
  /**
   * OpenID Connect: access tokens from this issuer are accepted besides API keys (docs/security.md).
   * Default from OPERON_OIDC_*; `null` turns it off whatever the environment says.
   */
  oidc?: OidcSettings | null;
}

export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

/** The fastify app with every route registered and ready (not listening). */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const requestTimeout =
    options.requestTimeoutMs ?? positiveNumber(process.env.OPERON_REQUEST_TIMEOUT_MS) ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    bodyLimit,
    requestTimeout,
    // Node checks request deadlines on this interval (default 30 s, which would double the timeout).
    http: {
      headersTimeout: Math.min(requestTimeout, MAX_HEADERS_TIMEOUT_MS),
      connectionsCheckingInterval: Math.max(50, Math.min(1000, requestTimeout / 4)),
    },
    ...(options.logger ? { loggerInstance: withPathOnlyRequests(options.logger) } : { logger: false }),
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
    options.engine.reportFailure?.(error);
    if (operonError.statusCode === 503) request.log.warn({ err: error, code: operonError.code }, operonError.message);
    else if (operonError.statusCode >= 500) request.log.error({ err: error, code: operonError.code }, 'request failed');
    else request.log.info({ code: operonError.code, statusCode: operonError.statusCode }, operonError.message);
    // The rest of an oversize body is not read: the connection ends with the answer.
    if (operonError.statusCode === 413) reply.header('connection', 'close');
    // Backpressure: the caller is told when to try again (rate limits set their own).
    if (operonError.statusCode === 503) reply.header('retry-after', String(operonError.details.retryAfterSeconds ?? 1));
    return reply.status(operonError.statusCode).send(operonError.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new OperonError('OPERON_ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`, {
      details: { method: request.method },
    });
    return reply.status(404).send(error.toJSON());
  });

  registerRateLimits(app);

  // Every route the server gets, with its permission, for the test that no route is left without one.
  const routeList: { method: string | string[]; url: string; config?: unknown }[] = [];
  app.addHook('onRoute', (route) => {
    routeList.push(route);
  });
  app.decorate('operonRoutes', {
    getter: () =>
      routeList.map((route) => ({
        method: [route.method].flat().join(','),
        url: route.url,
        permission: (route.config as { permission?: Permission } | undefined)?.permission,
      })),
  });

  const tokens = new ApiTokenVerifier(options.db);
  const oidcSettings = options.oidc === null ? undefined : (options.oidc ?? oidcSettingsFromEnv());
  const metricsToken = options.metricsToken ?? (process.env.OPERON_METRICS_TOKEN || undefined);
  const access = new Access({
    tokens,
    oidc: oidcSettings ? new OidcVerifier(oidcSettings) : undefined,
    metricsToken,
  });
  // While PostgreSQL is known to be unreachable, API and webhook requests are answered 503 before
  // anything (authentication included) waits on it. /healthz and /metrics keep answering.
  // A request still unanswered after a second may be waiting on a database that stopped answering
  // without refusing (a network cut): the engine then checks on a connection of its own, and if
  // it is gone the requests after it get the 503 above. Job long-polls wait on purpose.
  const slowRequests = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  // First, so that a request refused by the hooks below has its span too.
  registerRequestSpans(app);
  app.addHook('onRequest', async (request) => {
    const path = request.url;
    if (!path.startsWith('/api/') && !path.startsWith('/webhooks/')) return;
    options.engine.admit?.('request');
    if (options.engine.suspectDatabase && !path.startsWith('/api/jobs/activate')) {
      const suspect = options.engine.suspectDatabase.bind(options.engine);
      slowRequests.set(request, setTimeout(suspect, SLOW_REQUEST_MS).unref());
    }
  });
  app.addHook('onResponse', async (request) => {
    clearTimeout(slowRequests.get(request));
  });

  // Who may do what: every route declares a permission (route.ts), checked here before its body is
  // read; a route that declares none is refused, so a new route is never open by accident.
  app.addHook('onRequest', async (request) => {
    if (request.is404) return;
    const permission = request.routeOptions.config.permission;
    if (!permission)
      throw new OperonError('OPERON_ERR_FORBIDDEN', `Route ${request.routeOptions.url} declares no permission`, {
        details: { route: request.routeOptions.url ?? null },
      });
    await access.check(request, permission);
  });

  // Refuse a declared oversize body before reading a byte of it (multipart bodies are streamed, so
  // fastify's own limit does not cover them).
  app.addHook('onRequest', async (request) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > bodyLimit) {
      throw new OperonError('OPERON_ERR_PAYLOAD_TOO_LARGE', `The body is ${length} bytes; the limit is ${bodyLimit}`, {
        details: { limit: bodyLimit },
      });
    }
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, async (request: FastifyRequest, body: Buffer) => {
    request.rawBody = body;
    // A webhook checks its signature on these bytes first, then parses them itself (routes/webhooks.ts).
    if (request.routeOptions.config.auth === 'webhook') return undefined;
    return parseJsonBody(body);
  });
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
  // Fields are not read; their size is kept small so that parts cannot carry megabytes around the file limit.
  await app.register(multipart, {
    limits: { fileSize: bodyLimit, files: MAX_DEPLOY_FILES, fields: 20, fieldSize: 1024, parts: 40 },
    throwFileSizeLimit: true,
  });

  const longPolls = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of longPolls) controller.abort();
  });

  const retentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
  const sweep = setInterval(() => {
    deleteExpiredIdempotencyKeys(options.db, retentionMs).catch((error) =>
      app.log.warn({ err: error }, 'idempotency key sweep failed'),
    );
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
    tokens,
    access,
    engine: options.engine,
    db: options.db,
    metrics: createMetrics(options.db, {
      defaultMetrics: options.defaultMetrics,
      timerStartsDelayed: () => options.engine.timerStartsDelayed?.() ?? 0,
      workerPools: () => options.engine.workerPools?.() ?? [],
    }),
    webhookTargets,
    bodyLimit,
    metricsToken,
  };
  deploymentRoutes(context);
  webhookRoutes(context);
  instanceRoutes(context);
  taskRoutes(context);
  messageAndIncidentRoutes(context);
  jobRoutes(context, longPolls);
  systemRoutes(context);
  apiKeyRoutes(context);
  complianceRoutes(context);
  batchRoutes(context);
  await registerUi(app, { context });

  await app.ready();
  return app;
}

/**
 * Request logs carry the path without its query string: a query may name a data subject
 * (`?businessKey=`), and logs are not erased with the subject's data (docs/security.md).
 */
function withPathOnlyRequests(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child(
    {},
    {
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: request.url.split('?')[0],
          host: request.host,
          remoteAddress: request.ip,
        }),
      },
    },
  );
}

function positiveNumber(value: string | undefined): number | undefined {
  const number = Number(value);
  return value && Number.isFinite(number) && number > 0 ? number : undefined;
}
