/**
 * W3C trace context as Operon reads and passes it, with no tracer provider registered (tracing
 * not configured): invalid headers are ignored, a valid one passes through the no-op spans
 * unchanged, so a caller's trace reaches the rows, external workers and the http node, and nothing
 * is exported. Which endpoint the environment names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceContext, startSpan, traceContextOf, traceHeaders } from '../../engine/telemetry/trace.ts';
import { startTracing, tracesEndpoint } from '../../engine/telemetry/setup.ts';

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('parseTraceContext', () => {
  it('takes a version-00 traceparent and its tracestate', () => {
    assert.deepEqual(parseTraceContext(VALID, 'congo=t61rcWkgMzE'), {
      traceparent: VALID,
      tracestate: 'congo=t61rcWkgMzE',
    });
    assert.deepEqual(parseTraceContext([VALID, 'ignored']), { traceparent: VALID });
  });

  it('ignores what is not a valid traceparent', () => {
    for (const bad of [
      undefined,
      '',
      'garbage',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
      `${VALID}-extra`,
    ])
      assert.equal(parseTraceContext(bad), undefined, String(bad));
  });

  it('takes a later version with more fields, as the spec asks, keeping the known part', () => {
    assert.equal(
      parseTraceContext('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future')?.traceparent,
      '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
  });

  it('drops an oversized tracestate', () => {
    assert.deepEqual(parseTraceContext(VALID, `a=${'x'.repeat(600)}`), { traceparent: VALID });
  });
});

describe('spans without a configured exporter', () => {
  it("pass a caller's context on unchanged and start none of their own", () => {
    const span = startSpan('job noop', { parent: { traceparent: VALID, tracestate: 'vendor=1' } });
    assert.equal(span.isRecording(), false);
    assert.deepEqual(traceContextOf(span), { traceparent: VALID, tracestate: 'vendor=1' });
    assert.deepEqual(traceHeaders(span), { traceparent: VALID, tracestate: 'vendor=1' });
    span.end();
  });

  it('without a caller context give nothing to store or send', () => {
    const span = startSpan('start loan-approval');
    assert.equal(traceContextOf(span), undefined);
    assert.deepEqual(traceHeaders(span), {});
  });

  it('startTracing loads nothing and returns undefined when no endpoint is configured', async () => {
    assert.equal(await startTracing({ env: {} }), undefined);
    assert.equal(
      await startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_SDK_DISABLED: 'true' } }),
      undefined,
    );
  });
});

describe('tracesEndpoint', () => {
  it('takes the traces endpoint as is, else the base endpoint with /v1/traces', () => {
    assert.equal(tracesEndpoint({}), undefined);
    assert.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }), 'http://c:4318/v1/traces');
    assert.equal(
      tracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom',
      }),
      'http://t:4318/custom',
    );
    assert.equal(
      tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
      undefined,
    );
  });
});
