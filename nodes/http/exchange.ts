/**
 * One request of the `http` node through the egress policy: every hop of a redirect is checked
 * again, the connection goes to the checked address, and the response is read up to a size limit.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { EgressPolicy } from '../egress/policy.ts';

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface ExchangeLimits {
  maxResponseBytes: number;
  maxRedirects: number;
  signal: AbortSignal;
}

export interface ReceivedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: URL;
}

/** The response was (or announced to be) larger than the limit; reading stopped there. */
export class ResponseTooLarge extends Error {
  constructor(
    readonly host: string,
    readonly limit: number,
  ) {
    super(`the response of ${host} is larger than ${limit} bytes`);
  }
}

/** More redirects than the limit. */
export class TooManyRedirects extends Error {
  constructor(
    readonly host: string,
    readonly limit: number,
  ) {
    super(`${host} redirected more than ${limit} times`);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that carry credentials: they do not follow a redirect to another origin. */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

/** Sends `request`, following redirects through the policy, and reads the final response. */
export async function exchange(
  request: OutgoingRequest,
  policy: EgressPolicy,
  limits: ExchangeLimits,
): Promise<ReceivedResponse> {
  let current = request;
  for (let hop = 0; ; hop++) {
    const denied = policy.checkUrl(current.url);
    if (denied) throw denied;
    const response = await send(current, policy, limits);
    const location = REDIRECTS.has(response.status) ? response.headers.location : undefined;
    if (!location) return response;
    if (hop >= limits.maxRedirects) throw new TooManyRedirects(request.url.host, limits.maxRedirects);
    const next = new URL(location, current.url);
    const headers = { ...current.headers };
    if (next.origin !== current.url.origin) for (const name of CREDENTIALS) delete headers[name];
    // As browsers and fetch do: 303 always, and 301/302 after a POST, become a GET without a body.
    const toGet =
      response.status === 303
        ? current.method !== 'HEAD'
        : (response.status === 301 || response.status === 302) && current.method === 'POST';
    if (toGet) delete headers['content-type'];
    current = { method: toGet ? 'GET' : current.method, url: next, headers, body: toGet ? undefined : current.body };
  }
}

function send(request: OutgoingRequest, policy: EgressPolicy, limits: ExchangeLimits): Promise<ReceivedResponse> {
  const host = request.url.host;
  return new Promise<ReceivedResponse>((resolve, reject) => {
    const outgoing = (request.url.protocol === 'https:' ? httpsRequest : httpRequest)(
      request.url,
      {
        method: request.method,
        // Only identity: a compressed answer could expand far beyond the limit after it was checked.
        headers: { ...request.headers, 'accept-encoding': 'identity' },
        // A fresh connection per request: a pooled socket would skip the lookup that pins the address.
        agent: false,
        lookup: policy.lookupFor(request.url),
        signal: limits.signal,
      },
      (incoming) => {
        const status = incoming.statusCode ?? 0;
        const base = { status, headers: incoming.headers, url: request.url };
        if (REDIRECTS.has(status) && incoming.headers.location) {
          outgoing.destroy();
          return resolve({ ...base, body: Buffer.alloc(0) });
        }
        const tooLarge = () => {
          outgoing.destroy();
          reject(new ResponseTooLarge(host, limits.maxResponseBytes));
        };
        if (Number(incoming.headers['content-length']) > limits.maxResponseBytes) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxResponseBytes) return tooLarge();
          chunks.push(chunk);
        });
        incoming.on('end', () => resolve({ ...base, body: Buffer.concat(chunks) }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}
