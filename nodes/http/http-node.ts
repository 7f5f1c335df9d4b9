import { OperonError } from '../../engine/errors.ts';
import type { NodeType, Variables } from '../../engine/nodes/types.ts';

/** A request that takes longer is aborted and retried (input or header `timeoutMs` overrides it). */
const DEFAULT_TIMEOUT_MS = 30_000;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * `http`: calls `url` with `method` (default GET), `headers` and `body` (JSON-encoded unless a
 * string) and optional `timeoutMs` (default 30 s) from the mapped input; outputs `{ status, body }` (body parsed as JSON when it is JSON).
 * Network errors and 5xx answers are technical failures (retried); other statuses are output, for a
 * gateway to route. The task's AbortSignal cancels the request.
 */
export const httpNode: NodeType = {
  name: 'http',
  async run(input: Variables, ctx) {
    const url = input.url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw new OperonError('OPERON_ERR_NODE_INPUT', 'http: input url must be an http(s) URL', { details: { field: 'url', elementId: ctx.elementId } });
    }
    const method = typeof input.method === 'string' ? input.method.toUpperCase() : 'GET';
    if (!METHODS.has(method)) {
      throw new OperonError('OPERON_ERR_NODE_INPUT', `http: unsupported method ${method}`, { details: { field: 'method', elementId: ctx.elementId } });
    }
    const headers = new Headers();
    if (input.headers && typeof input.headers === 'object') {
      for (const [name, value] of Object.entries(input.headers as Record<string, unknown>)) headers.set(name, String(value));
    }
    let body: string | undefined;
    if (input.body !== undefined && input.body !== null && method !== 'GET' && method !== 'HEAD') {
      body = typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
      if (typeof input.body !== 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const timeoutMs = Number(input.timeoutMs ?? ctx.headers.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const timeout = AbortSignal.timeout(Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : DEFAULT_TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, signal: AbortSignal.any([ctx.signal, timeout]) });
    } catch (error) {
      if (timeout.aborted && !ctx.signal.aborted) {
        throw new OperonError('OPERON_ERR_NODE_TIMEOUT', `http: ${method} ${url} took longer than ${timeoutMs} ms`, { retryable: true, details: { elementId: ctx.elementId, timeoutMs } });
      }
      throw error;
    }
    const text = await response.text();
    if (response.status >= 500) throw new Error(`http: ${method} ${url} answered ${response.status}`);
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed };
  },
};
