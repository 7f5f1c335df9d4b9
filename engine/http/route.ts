/**
 * One way to declare a route: its zod schemas validate the request and are collected for the
 * OpenAPI document, its `permission` (identity.ts, checked by app.ts's permission hook) and
 * `consumes` are enforced in onRequest (before the body is read).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import type { z } from 'zod';
import type { Engine } from '../api.ts';
import { OperonError } from '../errors.ts';
import type { ApiTokenVerifier } from './auth.ts';
import type { Access, Permission } from './identity.ts';
import { validationError } from './http-errors.ts';
import { requireStorableText } from './json-body.ts';
import type { HttpMetrics } from './metrics.ts';
import type { WebhookTargets } from './webhook-targets.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body's bytes exactly as received, for webhook signatures and idempotency hashes. */
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    /** The route's `Auth`, read by the rate limiter and the JSON parser before the handler runs. */
    auth?: Auth;
    /** What the caller needs to use the route; a route without one is refused (app.ts). */
    permission?: Permission;
  }
}

/**
 * How a route authenticates, derived from its permission: `bearer` an API key or access token;
 * `webhook` the process's webhook configuration, checked by the handler on the raw body before it
 * is parsed (so the JSON parser leaves it alone); `metrics` a bearer token or OPERON_METRICS_TOKEN;
 * `none` anyone.
 */
export type Auth = 'bearer' | 'webhook' | 'metrics' | 'none';

export function authOf(permission: Permission): Auth {
  if (permission === 'public') return 'none';
  if (permission === 'webhook' || permission === 'metrics') return permission;
  return 'bearer';
}

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteSpec<
  B extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  P extends z.ZodType | undefined,
> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** fastify path syntax: /api/instances/:id */
  url: string;
  summary: string;
  tag: string;
  /** Who may call it (docs/security.md); checked before the body is read. */
  permission: Permission;
  /** Media types a body may have; a request with a body of any other type gets 415. Default application/json. */
  consumes?: string[];
  body?: B;
  /** Documents a body the handler reads itself (XML, multipart, webhook payloads). */
  bodyDoc?: Record<string, { schema?: z.ZodType; description: string }>;
  query?: Q;
  params?: P;
  headers?: Record<string, string>;
  responses: Record<number, RouteResponse>;
  /**
   * Runs after the headers arrived and the path parameters were validated, before the body is read
   * (fastify's preParsing): a request it refuses costs no body.
   */
  beforeBody?(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  handler(input: RouteInput<B, Q, P>): Promise<Reply>;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<B, Q, P> {
  body: Parsed<B>;
  query: Parsed<Q>;
  params: Parsed<P>;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface Reply {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type AnyRouteSpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** The declared routes, read by the OpenAPI generator. */
export class RouteBook {
  readonly routes: AnyRouteSpec[] = [];
}

export interface RouteContext {
  app: FastifyInstance;
  book: RouteBook;
  tokens: ApiTokenVerifier;
  /** Authentication and the permission check (identity.ts). */
  access: Access;
  engine: Engine;
  db: Knex;
  metrics: HttpMetrics;
  /** The webhook route's cached lookups; routes that change definitions or webhook configuration forget theirs. */
  webhookTargets: WebhookTargets;
  /** Largest request body in bytes (also the total of a multipart deployment). */
  bodyLimit: number;
  /** A token that may read /metrics (besides the API tokens): OPERON_METRICS_TOKEN. */
  metricsToken?: string;
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

function parse<S extends z.ZodType | undefined>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'params',
): Parsed<S> {
  if (!schema) return undefined as Parsed<S>;
  // PostgreSQL cannot store U+0000 or a lone surrogate in text or jsonb: refused here rather than in a
  // query (500). JSON bodies are checked by the JSON parser (json-body.ts).
  if (where !== 'body' && value && typeof value === 'object') {
    for (const [key, field] of Object.entries(value)) {
      for (const item of [field].flat()) if (typeof item === 'string') requireStorableText(item, `${where}.${key}`);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(where, result.error);
  return result.data as Parsed<S>;
}

/** Registers a route on the app and in the book. */
export function defineRoute<
  B extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  P extends z.ZodType | undefined,
>(context: RouteContext, spec: RouteSpec<B, Q, P>): void {
  context.book.routes.push(spec as unknown as AnyRouteSpec);
  const consumes = spec.consumes ?? ['application/json'];
  context.app.route({
    method: spec.method,
    url: spec.url,
    config: { auth: authOf(spec.permission), permission: spec.permission },
    async onRequest(request) {
      if (spec.method !== 'GET' && hasBody(request) && !consumes.includes(mediaType(request))) {
        throw new OperonError(
          'OPERON_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Content-Type must be one of ${consumes.join(', ')}`,
          {
            details: { contentType: request.headers['content-type'] ?? null, accepted: consumes },
          },
        );
      }
    },
    ...(spec.beforeBody
      ? {
          preParsing: async (request: FastifyRequest, reply: FastifyReply) => {
            parse(spec.params, request.params, 'params');
            await spec.beforeBody!(request, reply);
          },
        }
      : {}),
    async handler(request, reply) {
      const input: RouteInput<B, Q, P> = {
        params: parse(spec.params, request.params, 'params') as Parsed<P>,
        query: parse(spec.query, request.query, 'query') as Parsed<Q>,
        body: parse(spec.body, request.body ?? {}, 'body') as Parsed<B>,
        request,
        reply,
      };
      const result = await spec.handler(input);
      if (result.headers) reply.headers(result.headers);
      return reply.status(result.statusCode).send(result.body);
    },
  });
}
