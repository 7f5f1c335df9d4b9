/** The `NodeTrace` a node gets in its context (engine/nodes/types.ts), over an OpenTelemetry span. */
import type { NodeTrace } from '../nodes/types.ts';
import { inSpan, type Span, SpanKind, traceHeaders } from './trace.ts';

export function nodeTraceOf(span: Span): NodeTrace {
  return {
    headers: () => traceHeaders(span),
    setAttributes(attributes) {
      span.setAttributes(attributes);
    },
    span(name, options, fn) {
      const kind = options.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL;
      return inSpan(name, { parent: span, kind, attributes: options.attributes }, (child) => fn(nodeTraceOf(child)));
    },
  };
}
