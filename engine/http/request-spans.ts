/**
 * A server span for every API and webhook request (docs/observability.md): a child of the
 * caller's W3C `traceparent` / `tracestate` when it sends one, else the root of a new trace.
 * Routes hand the span's context on to the work they start (`requestTrace`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  endSpan,
  parseTraceContext,
  type Span,
  SpanKind,
  startSpan,
  type TraceContext,
  traceContextOf,
} from '../telemetry/trace.ts';

const spans = new WeakMap<FastifyRequest, Span>();

/** Opens a span when an /api/ or /webhooks/ request arrives and ends it with the response. */
export function registerRequestSpans(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const path = request.url;
    if (!path.startsWith('/api/') && !path.startsWith('/webhooks/')) return;
    const route = request.routeOptions.url ?? 'unmatched';
    spans.set(
      request,
      startSpan(`${request.method} ${route}`, {
        parent: parseTraceContext(request.headers.traceparent, request.headers.tracestate),
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': path.split('?')[0]! },
      }),
    );
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    span.setAttribute('http.response.status_code', reply.statusCode);
    endSpan(span, reply.statusCode >= 500 ? new Error(`HTTP ${reply.statusCode}`) : undefined);
  });
}

/** The request's span (undefined outside /api/ and /webhooks/). */
export function requestSpan(request: FastifyRequest): Span | undefined {
  return spans.get(request);
}

/** The context that continues this request's trace in the work it starts; undefined without a trace. */
export function requestTrace(request: FastifyRequest): TraceContext | undefined {
  const span = spans.get(request);
  return span ? traceContextOf(span) : undefined;
}
