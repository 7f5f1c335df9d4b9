/**
 * The egress policy of the `http` node: public destinations are reachable, internal ones (loopback,
 * private, link-local, unique-local, multicast, unspecified) only through the operator's allow list,
 * and the cloud metadata service never. Addresses are checked after DNS resolution, and the
 * connection goes to the address that was checked, so DNS rebinding cannot swap it.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { classifyAddress, embeddedIpv4 } from './addresses.ts';

/** A `dns.lookup` with `all: true`; tests inject one that maps made-up names to loopback. */
export type Resolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface EgressPolicyOptions {
  /**
   * Internal destinations the operator lets through: `host`, `host:port`, an IP address (`10.1.2.3`,
   * `[::1]:8080`) or a CIDR range (`10.0.0.0/8`). A host entry allows whatever that name resolves to.
   */
  allow?: readonly string[];
  /** Default: node's `dns.lookup`. */
  resolver?: Resolver;
}

/** A destination the policy refused; `reason` says which rule. */
export class EgressDenied extends Error {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`egress to ${host} refused: ${reason}`);
    this.name = 'EgressDenied';
  }
}

interface AllowEntry {
  host?: string;
  range?: BlockList;
  port?: string;
}

/** `OPERON_HTTP_ALLOW`-style text (comma or whitespace separated) as a list. */
export function parseAllowList(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter(Boolean);
}

function parseEntry(raw: string): AllowEntry {
  const entry = raw.trim().toLowerCase();
  const cidr = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(entry);
  if (cidr && isIP(cidr[1]!)) {
    const range = new BlockList();
    range.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 4 ? 'ipv4' : 'ipv6');
    return { range };
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  const hostPort = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : isIP(entry) === 6
      ? [entry, undefined]
      : /^([^:]+)(?::(\d+))?$/.exec(entry)?.slice(1);
  if (!hostPort) throw new TypeError(`egress allow list: '${raw}' is not a host, host:port, IP address or CIDR range`);
  const [host, port] = hostPort as [string, string | undefined];
  const family = isIP(host);
  if (family === 0) return { host: host.replace(/\.$/, ''), port };
  const range = new BlockList();
  range.addAddress(host, family === 4 ? 'ipv4' : 'ipv6');
  return { range, port };
}

/** The port a URL connects to. */
export function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** The policy, with the operator's allow list. Throws a TypeError for an allow entry it cannot read. */
export function createEgressPolicy(options: EgressPolicyOptions = {}) {
  const entries = (options.allow ?? []).map(parseEntry);
  const resolver: Resolver =
    options.resolver ?? ((hostname, lookupOptions, callback) => dnsLookup(hostname, lookupOptions, callback));

  function addressAllowed(address: string, port: string): boolean {
    const v4 = embeddedIpv4(address);
    return entries.some(
      (entry) =>
        entry.range &&
        (!entry.port || entry.port === port) &&
        (entry.range.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6') ||
          (v4 !== undefined && entry.range.check(v4, 'ipv4'))),
    );
  }

  /** Why `address` (which `hostname` resolved to, or spells) may not be reached on `port`; undefined if it may. */
  function refusal(hostname: string, port: string, address: string): string | undefined {
    const kind = classifyAddress(address);
    if (kind === undefined) return undefined;
    if (kind === 'metadata') return `${address} is the cloud metadata service (never allowed)`;
    const name = hostname.toLowerCase().replace(/\.$/, '');
    if (isIP(name) === 0 && entries.some((entry) => entry.host === name && (!entry.port || entry.port === port)))
      return undefined;
    if (addressAllowed(address, port)) return undefined;
    const article = /^[aeiou]/.test(kind) ? 'an' : 'a';
    return `${address} is ${article} ${kind} address${name !== address ? ` (${name} resolved to it)` : ''}, not on the allow list`;
  }

  return {
    /**
     * Checks what can be checked before connecting: the scheme and a host that is an IP address
     * (in any spelling the URL parser accepts: `2130706433`, `0x7f.0.0.1`, `[::ffff:7f00:1]`).
     */
    checkUrl(url: URL): EgressDenied | undefined {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return new EgressDenied(host, `scheme ${url.protocol} is not allowed`);
      if (isIP(host) === 0) return undefined;
      const reason = refusal(host, portOf(url), host);
      return reason ? new EgressDenied(host, reason) : undefined;
    },

    /**
     * A `lookup` for `http.request`: resolves the URL's host, refuses when any of its addresses is
     * refused, and hands the checked addresses to the socket (the connection is pinned to them).
     */
    lookupFor(url: URL): LookupFunction {
      const port = portOf(url);
      type LookupOptions = { family?: number | string; hints?: number; all?: boolean };
      return ((hostname: string, lookupOptions: LookupOptions, callback: (...args: unknown[]) => void) => {
        const family =
          lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : Number(lookupOptions.family) || 0;
        resolver(hostname, { family, hints: lookupOptions.hints, all: true }, (error, addresses) => {
          if (error) return callback(error);
          if (addresses.length === 0) return callback(new EgressDenied(hostname, 'the name resolved to no address'));
          for (const { address } of addresses) {
            const reason = refusal(hostname, port, address);
            if (reason) return callback(new EgressDenied(hostname, reason));
          }
          if (lookupOptions.all) return callback(null, addresses);
          callback(null, addresses[0]!.address, addresses[0]!.family);
        });
      }) as LookupFunction;
    },
  };
}

export type EgressPolicy = ReturnType<typeof createEgressPolicy>;
