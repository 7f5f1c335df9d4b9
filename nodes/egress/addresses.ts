/**
 * Address classification shared by every node that makes requests (the `http` node, bots): which
 * IP addresses lead into the machine, its private networks or the cloud's metadata service.
 */
import { BlockList, isIP } from 'node:net';

/** Why an address is internal. `metadata` is never reachable, not even through an allow list. */
export type InternalAddressClass =
  | 'metadata'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'unique-local'
  | 'reserved';

const RANGES: [InternalAddressClass, string, number, 'ipv4' | 'ipv6'][] = [
  ['metadata', '169.254.169.254', 32, 'ipv4'],
  ['metadata', 'fd00:ec2::254', 128, 'ipv6'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const LISTS = new Map<InternalAddressClass, BlockList>();
for (const [kind, network, prefix, family] of RANGES) {
  if (!LISTS.has(kind)) LISTS.set(kind, new BlockList());
  LISTS.get(kind)!.addSubnet(network, prefix, family);
}

/** IPv6 prefixes that carry an IPv4 address in their last 32 bits (mapped, NAT64, the old "compatible" form). */
const EMBEDDING_V4 = /^(?:::ffff:|64:ff9b::|::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** The IPv4 address an IPv6 address stands for (`::ffff:127.0.0.1`, `64:ff9b::7f00:1`), if any. */
export function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  // The URL parser writes every IPv6 address in one canonical, compressed, lower-case form.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const match = EMBEDDING_V4.exec(canonical);
  if (!match) return undefined;
  const high = parseInt(match[1]!, 16);
  const low = parseInt(match[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * The class of an internal address, or undefined for a public one. Accepts IPv4, IPv6 and IPv6 in
 * URL brackets; an IPv6 address that embeds an IPv4 address is judged by that IPv4 address.
 */
export function classifyAddress(rawAddress: string): InternalAddressClass | undefined {
  const address = rawAddress.replace(/^\[|\]$/g, '');
  const family = isIP(address);
  if (family === 0) return undefined;
  const v4 = family === 6 ? embeddedIpv4(address) : address;
  for (const [kind, list] of LISTS) {
    if (v4 !== undefined ? list.check(v4, 'ipv4') : list.check(address, 'ipv6')) return kind;
  }
  return undefined;
}
