/**
 * Exports spans over OTLP/HTTP when the standard environment asks for it
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`;
 * `OTEL_SERVICE_NAME`, default `operon`). Without an endpoint nothing is loaded and nothing is
 * exported: the spans of trace.ts stay no-ops. The SDK is imported only here, only then.
 */
import { trace } from '@opentelemetry/api';

export interface Tracing {
  /** Where spans go. */
  readonly url: string;
  /** Sends what is buffered now (tests, before reading what a collector received). */
  flush(): Promise<void>;
  /** Sends what is buffered and stops exporting; spans are no-ops again. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Export delay of the batch processor (default `OTEL_BSP_SCHEDULE_DELAY`, else 5 s). */
  scheduleDelayMs?: number;
}

/** The OTLP/HTTP traces URL the environment names, or undefined when tracing is off. */
export function tracesEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/**
 * Registers a tracer provider that exports to the configured endpoint and returns it; undefined
 * (and nothing loaded) when no endpoint is configured.
 */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing | undefined> {
  const env = options.env ?? process.env;
  const url = tracesEndpoint(env);
  if (!url) return undefined;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || 'operon' }));
  const delay = options.scheduleDelayMs ?? (Number(env.OTEL_BSP_SCHEDULE_DELAY) || 5_000);
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: delay });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  trace.setGlobalTracerProvider(provider);
  let stopped = false;
  return {
    url,
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (stopped) return;
      stopped = true;
      await provider.shutdown();
      trace.disable();
    },
  };
}
