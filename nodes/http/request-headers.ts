/**
 * Request headers that an `http` task takes from its input. Input can come from a webhook caller,
 * so headers that steer the connection or claim where a request came from are refused.
 */
import { OperonError } from '../../engine/errors.ts';

/** Hop-by-hop and framing headers (the node sets them), and headers a proxy or server trusts for routing or identity. */
const REFUSED = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'via',
  'accept-encoding',
]);
const REFUSED_PREFIXES = ['proxy-', 'x-forwarded-', 'sec-'];
/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** CR, LF and NUL would split or end a header line. */
const LINE_BREAKING = /[\r\n\0]/;
/** What node's HTTP client accepts in a value (tab, visible ASCII, Latin-1); anything else would throw when sending. */
const NOT_SENDABLE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The `headers` input as a plain object, or an OPERON_ERR_NODE_INPUT naming the header
 * (`details.field` = `headers.<name>`) when a name is refused or a value holds a line break.
 */
export function requestHeaders(raw: unknown, elementId: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw === undefined || raw === null) return headers;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    const message = 'http: input headers must be an object of header names and values';
    throw new OperonError('OPERON_ERR_NODE_INPUT', message, {
      retryable: false,
      details: { field: 'headers', elementId },
    });
  }
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const shown = name.slice(0, 64);
    const details = { field: `headers.${shown}`, elementId };
    const refuse = (why: string) =>
      new OperonError('OPERON_ERR_NODE_INPUT', `http: request header '${shown}' ${why}`, { retryable: false, details });
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) throw refuse('is not a valid header name');
    if (REFUSED.has(lower) || REFUSED_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
      throw refuse('may not be set from input (the node sets it, or servers trust it for routing or identity)');
    }
    const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    if (LINE_BREAKING.test(text)) throw refuse('holds a line break or NUL');
    if (NOT_SENDABLE.test(text)) throw refuse('holds a control character or a character outside Latin-1');
    headers[lower] = text;
  }
  return headers;
}
