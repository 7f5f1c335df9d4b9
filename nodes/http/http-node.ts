import { OperonError } from '../../engine/errors.ts';
import type { NodeType, Variables } from '../../engine/nodes/types.ts';
import { EgressDenied, createEgressPolicy, parseAllowList, type Resolver } from '../egress/policy.ts';
import { ResponseTooLarge, TooManyRedirects, exchange } from './exchange.ts';
import { requestHeaders } from './request-headers.ts';

/** A request that takes longer is aborted and retried (input or header `timeoutMs` overrides it). */
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_MAX_REDIRECTS = 5;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Settings of the `http` node; they come from whoever runs the engine, never from process variables. */
export interface HttpNodeOptions {
  /**
   * Internal destinations the node may reach although the egress policy denies them: `host`,
   * `host:port`, IP address or CIDR range. Default: `OPERON_HTTP_ALLOW` (comma separated), else none.
   */
  allow?: readonly string[];
  /** Largest response body read; a larger one fails the task. Default `OPERON_HTTP_MAX_RESPONSE_BYTES`, else 1 MiB. */
  maxResponseBytes?: number;
  /** Redirects followed (each hop checked by the policy). Default 5; 0 refuses redirects. */
  maxRedirects?: number;
  /** Accept `user:password@` in URLs. Default false: credentials belong in headers from secrets. */
  allowUrlCredentials?: boolean;
  /** DNS resolver (`dns.lookup` with `all: true`); tests inject one. */
  resolver?: Resolver;
}

function inputError(message: string, field: string, elementId: string): OperonError {
  return new OperonError('OPERON_ERR_NODE_INPUT', `http: ${message}`, {
    retryable: false,
    details: { field, elementId },
  });
}

/** The incident for what the policy or a limit refused (not retried: the same input fails again), if it was that. */
function refusal(error: unknown, method: string, elementId: string): OperonError | undefined {
  if (error instanceof EgressDenied) {
    const message = `http: ${method} to ${error.host} refused by the egress policy: ${error.reason}`;
    return new OperonError('OPERON_ERR_HTTP_EGRESS_DENIED', message, {
      details: { elementId, host: error.host, reason: error.reason },
    });
  }
  if (error instanceof ResponseTooLarge) {
    const message = `http: ${method} ${error.host}: response larger than ${error.limit} bytes, reading stopped`;
    return new OperonError('OPERON_ERR_HTTP_RESPONSE_TOO_LARGE', message, {
      details: { elementId, host: error.host, limit: error.limit },
    });
  }
  if (error instanceof TooManyRedirects) {
    const message = `http: ${method} ${error.host}: more than ${error.limit} redirects`;
    return new OperonError('OPERON_ERR_HTTP_TOO_MANY_REDIRECTS', message, {
      details: { elementId, host: error.host, limit: error.limit },
    });
  }
  return undefined;
}

/**
 * `http`: calls `url` with `method` (default GET), `headers` and `body` (JSON-encoded unless a
 * string) and optional `timeoutMs` (default 30 s) from the mapped input; outputs `{ status, body }`
 * (body parsed as JSON when it is JSON). Requests go through the egress policy (docs/engine.md#the-http-node).
 * Network errors and 5xx answers are technical failures (retried); other statuses are output, for a
 * gateway to route; a refused destination, a too large response and too many redirects are
 * incidents at once. The task's AbortSignal cancels the request.
 */
export function createHttpNode(options: HttpNodeOptions = {}): NodeType {
  const policy = createEgressPolicy({
    allow: options.allow ?? parseAllowList(process.env.OPERON_HTTP_ALLOW),
    resolver: options.resolver,
  });
  const maxResponseBytes =
    options.maxResponseBytes ?? (Number(process.env.OPERON_HTTP_MAX_RESPONSE_BYTES) || DEFAULT_MAX_RESPONSE_BYTES);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;

  return {
    name: 'http',
    pool: 'http',
    async run(input: Variables, ctx) {
      const elementId = ctx.elementId;
      let url: URL | undefined;
      try {
        if (typeof input.url === 'string') url = new URL(input.url);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        throw inputError('input url must be an http(s) URL', 'url', elementId);
      }
      if ((url.username || url.password) && !options.allowUrlCredentials) {
        throw inputError('input url may not carry credentials (user:password@)', 'url', elementId);
      }
      const method = typeof input.method === 'string' ? input.method.toUpperCase() : 'GET';
      if (!METHODS.has(method)) throw inputError(`unsupported method ${method.slice(0, 16)}`, 'method', elementId);
      const headers = requestHeaders(input.headers, elementId);
      let body: string | undefined;
      if (input.body !== undefined && input.body !== null && method !== 'GET' && method !== 'HEAD') {
        body = typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
        if (typeof input.body !== 'string' && !headers['content-type']) headers['content-type'] = 'application/json';
      }
      const wanted = Number(input.timeoutMs ?? ctx.headers.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const timeoutMs = Number.isFinite(wanted) && wanted > 0 ? wanted : DEFAULT_TIMEOUT_MS;
      const timeout = AbortSignal.timeout(timeoutMs);
      const host = url.host;
      let response;
      try {
        const signal = AbortSignal.any([ctx.signal, timeout]);
        const send = (trace?: Record<string, string>) =>
          exchange({ method, url, headers: { ...trace, ...headers }, body }, policy, {
            maxResponseBytes,
            maxRedirects,
            signal,
          });
        // The called service continues the job's trace: `traceparent` names this request's span
        // (an input header of that name wins).
        response = ctx.trace
          ? await ctx.trace.span(
              `${method}`,
              { kind: 'client', attributes: { 'http.request.method': method, 'server.address': url.hostname } },
              async (span) => {
                const answer = await send(span.headers());
                span.setAttributes({ 'http.response.status_code': answer.status });
                return answer;
              },
            )
          : await send();
      } catch (error) {
        const refused = refusal(error, method, elementId);
        if (refused) throw refused;
        if (timeout.aborted && !ctx.signal.aborted) {
          const message = `http: ${method} ${host} took longer than ${timeoutMs} ms`;
          throw new OperonError('OPERON_ERR_NODE_TIMEOUT', message, {
            retryable: true,
            details: { elementId, timeoutMs },
          });
        }
        throw new Error(`http: ${method} ${host} failed: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
        });
      }
      if (response.status >= 500) throw new Error(`http: ${method} ${response.url.host} answered ${response.status}`);
      const text = response.body.toString('utf8');
      let parsed: unknown = text;
      if ((response.headers['content-type'] ?? '').includes('json') && text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: response.status, body: parsed };
    },
  };
}
