/**
 * Egress policy: a bot's browser context may only reach the configured hosts. Everything else —
 * other hosts, file:, link-local addresses (cloud metadata at 169.254.169.254), redirects,
 * subresources and WebSockets towards them — is refused and reported; WebRTC, which would send
 * UDP and TCP packets past any route, is removed from every page.
 */
import type { BrowserContext, Request, Route, WebSocketRoute } from 'playwright-core';
import { classifyAddress } from '../egress/addresses.ts';

export interface BlockedRequest {
  url: string;
  reason: string;
  /** True when a page navigation (not a subresource) was refused. */
  navigation: boolean;
}

/** Lower-cased `host:port` with the scheme's default port filled in; IPv6 hosts keep their brackets. */
export function hostKey(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.hostname.toLowerCase()}:${port}`;
}

/** Link-local and metadata addresses (in any spelling, IPv4-mapped included): no bot needs them. */
function isLinkLocal(hostname: string): boolean {
  const kind = classifyAddress(hostname);
  return kind === 'link-local' || kind === 'metadata';
}

/**
 * Every WebRTC entry point. Chromium's `--webrtc-ip-handling-policy=disable_non_proxied_udp` stops
 * STUN over UDP but still lets TURN over TCP connect anywhere, and a route never sees either.
 */
const WEBRTC_GLOBALS = [
  'RTCPeerConnection',
  'webkitRTCPeerConnection',
  'RTCDataChannel',
  'RTCIceCandidate',
  'RTCSessionDescription',
  'RTCRtpSender',
  'RTCRtpReceiver',
  'RTCRtpTransceiver',
  'RTCIceTransport',
  'RTCDtlsTransport',
  'RTCSctpTransport',
  'RTCCertificate',
];

/**
 * Decides one URL. `allowedHosts` holds `host:port` (exact) or `host` (any port). Link-local
 * addresses are refused even when listed: no bot needs the metadata service.
 */
export function checkEgress(
  rawUrl: string,
  allowedHosts: readonly string[],
): { allowed: true } | { allowed: false; reason: string } {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { allowed: false, reason: 'not a valid URL' };
  }
  if (url.protocol === 'data:' || url.protocol === 'blob:' || rawUrl === 'about:blank') return { allowed: true };
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { allowed: false, reason: `scheme ${url.protocol} is not allowed` };
  if (isLinkLocal(url.hostname))
    return { allowed: false, reason: `link-local address ${url.hostname} is never allowed` };
  const key = hostKey(url);
  const host = url.hostname.toLowerCase();
  if (allowedHosts.some((entry) => entry.toLowerCase() === key || entry.toLowerCase() === host))
    return { allowed: true };
  return { allowed: false, reason: `host ${key} is not an allowed host (${allowedHosts.join(', ') || 'none'})` };
}

/** The `host:port` of each http(s) URL, for the default policy (only the apps the bots operate). */
export function hostsOf(urls: Iterable<string>): string[] {
  return [...new Set([...urls].filter((u) => /^https?:/.test(u)).map((u) => hostKey(new URL(u))))];
}

/**
 * Installs the policy on a context. Navigations are fetched without following redirects, so a
 * redirect towards a refused host is stopped before the browser sends it (Playwright routes do not
 * see redirect hops); a hop that still reaches a refused host is reported through `onViolation`,
 * which stops the run.
 */
export async function installEgressPolicy(
  context: BrowserContext,
  allowedHosts: readonly string[],
  onBlocked: (blocked: BlockedRequest) => void,
  onViolation: (blocked: BlockedRequest) => void,
): Promise<{ abortPending(): Promise<void> }> {
  const pending = new Set<Route>();
  // Runs before any page script in every frame, popups and synchronously created iframes included.
  await context.addInitScript(
    `for (const name of ${JSON.stringify(WEBRTC_GLOBALS)}) { try { delete globalThis[name]; } catch {} }`,
  );
  // WebSockets bypass context.route: they get their own route, decided like any other request.
  await context.routeWebSocket(
    () => true,
    (socket: WebSocketRoute) => {
      const verdict = checkEgress(socket.url().replace(/^ws(s?):/i, 'http$1:'), allowedHosts);
      if (verdict.allowed) return socket.connectToServer();
      onBlocked({ url: socket.url(), reason: verdict.reason, navigation: false });
      return socket.close({ code: 1008, reason: 'blocked by the egress policy' });
    },
  );
  await context.route('**/*', async (route: Route) => {
    const request = route.request();
    const navigation = request.isNavigationRequest();
    const verdict = checkEgress(request.url(), allowedHosts);
    if (!verdict.allowed) {
      onBlocked({ url: request.url(), reason: verdict.reason, navigation });
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if (!navigation) return route.continue().catch(() => undefined);
    let response;
    pending.add(route);
    try {
      response = await route.fetch({ maxRedirects: 0 });
    } catch {
      return route.abort('failed').catch(() => undefined);
    } finally {
      pending.delete(route);
    }
    const location = response.status() >= 300 && response.status() < 400 ? response.headers().location : undefined;
    if (location) {
      const target = new URL(location, request.url()).toString();
      const next = checkEgress(target, allowedHosts);
      if (!next.allowed) {
        onBlocked({ url: target, reason: `redirect from ${request.url()}: ${next.reason}`, navigation });
        return route.abort('blockedbyclient').catch(() => undefined);
      }
    }
    return route.fulfill({ response }).catch(() => undefined);
  });
  context.on('request', (request: Request) => {
    if (!request.redirectedFrom()) return;
    const verdict = checkEgress(request.url(), allowedHosts);
    if (!verdict.allowed)
      onViolation({
        url: request.url(),
        reason: `redirect hop: ${verdict.reason}`,
        navigation: request.isNavigationRequest(),
      });
  });
  return {
    /** Fails navigations still waiting for their server, so a timed-out page settles for its screenshot. */
    async abortPending() {
      await Promise.all([...pending].map((route) => route.abort('timedout').catch(() => undefined)));
      pending.clear();
    },
  };
}
