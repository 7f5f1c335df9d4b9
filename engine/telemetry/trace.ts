/**
 * OpenTelemetry spans for the engine's work: the webhook or API call, each step, each job, and
 * what nodes do inside a job (docs/observability.md). Only `@opentelemetry/api` is loaded here:
 * until `startTracing` (setup.ts) registers a tracer provider, every span is a no-op that still
 * carries the caller's trace context, so a `traceparent` a caller sent reaches jobs, external
 * workers and the `http` node even when this process exports nothing.
 *
 * Parents are passed explicitly (a `TraceContext` stored with the instance or job), never taken
 * from an ambient context: a job's span may start in another process, days after its step.
 */
import {
  type Attributes,
  type Context,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';

/** W3C trace context as it travels in headers and rows (`trace_parent`, `trace_state`). */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export type { Span };
export { SpanKind };

/** version-traceid-parentid-flags; version ff is invalid, later versions may append fields. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;
const MAX_TRACESTATE_LENGTH = 512;

/** A valid W3C `traceparent` (and its `tracestate`) from a header or row; undefined for anything else. */
export function parseTraceContext(
  traceparent: string | string[] | null | undefined,
  tracestate?: string | string[] | null,
): TraceContext | undefined {
  const raw = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  if (typeof raw !== 'string') return undefined;
  const match = TRACEPARENT.exec(raw.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, , rest] = match;
  if (version === 'ff' || (version === '00' && rest)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  const state = Array.isArray(tracestate) ? tracestate.join(',') : tracestate;
  return {
    traceparent: raw.trim().slice(0, 55),
    ...(state && state.length <= MAX_TRACESTATE_LENGTH ? { tracestate: state } : {}),
  };
}

/** The context whose remote span is `parent`; the root context when there is none. */
export function contextOf(parent: TraceContext | null | undefined): Context {
  const parsed = parent && TRACEPARENT.exec(parent.traceparent);
  if (!parsed) return ROOT_CONTEXT;
  const spanContext = {
    traceId: parsed[2]!,
    spanId: parsed[3]!,
    traceFlags: Number.parseInt(parsed[4]!, 16) & 1,
    isRemote: true,
    ...(parent.tracestate ? { traceState: createTraceState(parent.tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/** The W3C context naming `span` as the parent (undefined when neither it nor its parent has a valid one). */
export function traceContextOf(span: Span): TraceContext | undefined {
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 1).toString(16).padStart(2, '0');
  const tracestate = spanContext.traceState?.serialize();
  return {
    traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`,
    ...(tracestate ? { tracestate } : {}),
  };
}

/** The `traceparent` / `tracestate` headers that continue `span`'s trace in another service. */
export function traceHeaders(span: Span): Record<string, string> {
  const context = traceContextOf(span);
  if (!context) return {};
  return { traceparent: context.traceparent, ...(context.tracestate ? { tracestate: context.tracestate } : {}) };
}

function tracer(): Tracer {
  return trace.getTracer('operon');
}

export interface SpanOptions {
  /** The parent: a stored or received trace context, or a live span; none starts a new trace. */
  parent?: TraceContext | Span | null;
  kind?: SpanKind;
  attributes?: Attributes;
  startTime?: Date;
}

/** Starts a span; the caller ends it (`endSpan`). */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  const { parent } = options;
  const context =
    parent && 'spanContext' in parent ? trace.setSpan(ROOT_CONTEXT, parent) : contextOf(parent as TraceContext);
  return tracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, startTime: options.startTime },
    context,
  );
}

/** Ends `span`, as failed with `error`'s message when there is one. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** Runs `fn` inside a span that ends with it (failed when it throws). */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = startSpan(name, options);
  try {
    const result = await fn(span);
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** Attribute names shared by Operon's spans (docs/observability.md). */
export const ATTR = {
  processId: 'operon.bpmn_process_id',
  processVersion: 'operon.process_version',
  definitionId: 'operon.definition_id',
  instanceId: 'operon.instance_id',
  elementId: 'operon.element_id',
  event: 'operon.event',
  jobId: 'operon.job.id',
  jobType: 'operon.job.type',
  jobAttempt: 'operon.job.attempt',
  jobOutcome: 'operon.job.outcome',
  worker: 'operon.worker',
} as const;
