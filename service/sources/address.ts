/**
 * Which IP addresses an origin may be fetched from (the SSRF guard), after imgproxy's
 * IMGPROXY_ALLOW_{LOOPBACK,LINK_LOCAL,PRIVATE}_SOURCE_ADDRESSES and its `privatenet` package.
 *
 * An address belongs to zero or more classes, from its own range and from any IPv4 address
 * embedded in an IPv6 one (IPv4-mapped and -compatible, SIIT, NAT64 /96 and /48, 6to4, Teredo,
 * ISATAP), so `::ffff:127.0.0.1` or `2002:7f00:1::` count as loopback. An address is refused when
 * any of its classes is not allowed. The rules apply to the address actually connected to: the
 * HTTP backend checks IP literals itself (Node skips DNS for them) and every address a DNS
 * lookup returns (`guardedLookup` in http.ts). Odd spellings of IPv4 (`2130706433`, `0177.0.0.1`,
 * `0x7f.1`, `127.1`) never reach this code as such: the WHATWG URL parser rewrites them to
 * dotted quads, and only canonical forms (`net.isIP`) are accepted here.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type AddressClass = 'loopback' | 'linkLocal' | 'private';

export interface AddressPolicy {
  allowLoopback: boolean;
  allowLinkLocal: boolean;
  allowPrivate: boolean;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
const cidr = (s: string): Range => ipaddr.parseCIDR(s);

/** Ranges per class; 0.0.0.0/8 ("this network", 0.0.0.0 connects to the local host) counts as
 *  loopback like imgproxy's "unspecified", 224.0.0.0/24 and ff02::/16 are link-local multicast. */
const V4: ReadonlyArray<readonly [AddressClass, Range]> = [
  ['loopback', cidr('127.0.0.0/8')],
  ['loopback', cidr('0.0.0.0/8')],
  ['linkLocal', cidr('169.254.0.0/16')],
  ['linkLocal', cidr('224.0.0.0/24')],
  ['private', cidr('10.0.0.0/8')],
  ['private', cidr('172.16.0.0/12')],
  ['private', cidr('192.168.0.0/16')],
  ['private', cidr('100.64.0.0/10')], // RFC 6598 carrier-grade NAT
];

const V6: ReadonlyArray<readonly [AddressClass, Range]> = [
  ['loopback', cidr('::1/128')],
  ['loopback', cidr('::/128')],
  ['linkLocal', cidr('fe80::/10')],
  ['linkLocal', cidr('ff02::/16')],
  ['private', cidr('fc00::/7')], // unique local
  ['private', cidr('fec0::/10')], // deprecated site-local
];

const ORDER: readonly AddressClass[] = ['loopback', 'linkLocal', 'private'];

/**
 * The classes of an IP address (empty for a public address), most sensitive first, or
 * undefined when `ip` is not a canonical IPv4/IPv6 literal.
 */
export function addressClasses(ip: string): AddressClass[] | undefined {
  if (isIP(ip) === 0) return undefined;
  const addr = ipaddr.parse(ip);
  const found = new Set<AddressClass>();
  if (addr.kind() === 'ipv4') {
    addV4(addr as ipaddr.IPv4, found);
  } else {
    for (const [cls, range] of V6) if (addr.match(range)) found.add(cls);
    const embedded = embeddedIPv4((addr as ipaddr.IPv6).toByteArray());
    if (embedded !== undefined) addV4(embedded, found);
  }
  return ORDER.filter((c) => found.has(c));
}

/** Why `ip` may not be connected to under `policy`, or undefined when it may. */
export function addressRefusal(ip: string, policy: AddressPolicy): string | undefined {
  const classes = addressClasses(ip);
  if (classes === undefined) return `Invalid source address ${ip}`;
  if (classes.includes('loopback') && !policy.allowLoopback) {
    return `Loopback source address ${ip} is not allowed (IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES)`;
  }
  if (classes.includes('linkLocal') && !policy.allowLinkLocal) {
    return `Link-local source address ${ip} is not allowed (IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES)`;
  }
  if (classes.includes('private') && !policy.allowPrivate) {
    return `Private source address ${ip} is not allowed (IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES)`;
  }
  return undefined;
}

/** The IP literal a URL names as its host (brackets of IPv6 removed), or undefined for a name. */
export function hostLiteral(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? undefined : host;
}

function addV4(addr: ipaddr.IPv4, found: Set<AddressClass>): void {
  for (const [cls, range] of V4) if (addr.match(range)) found.add(cls);
}

/** The IPv4 address carried inside an IPv6 address by a known embedding scheme. */
function embeddedIPv4(b: number[]): ipaddr.IPv4 | undefined {
  const v4 = (i: number, j: number, k: number, l: number) => new ipaddr.IPv4([b[i]!, b[j]!, b[k]!, b[l]!]);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // ::a.b.c.d (IPv4-compatible) and ::ffff:a.b.c.d (IPv4-mapped), RFC 4291
  if (zero(0, 10) && ((b[10] === 0 && b[11] === 0) || (b[10] === 0xff && b[11] === 0xff)))
    return v4(12, 13, 14, 15);
  // ::ffff:0:a.b.c.d (SIIT), RFC 6145
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return v4(12, 13, 14, 15);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix), RFC 6052
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12, 13, 14, 15);
  // 64:ff9b:1::/48 (NAT64 local use), RFC 8215 with the /48 layout of RFC 6052 (bits 64-71 reserved)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0 && b[5] === 1) {
    return v4(6, 7, 9, 10);
  }
  // 2002:a.b.c.d::/48 (6to4), RFC 3056
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2, 3, 4, 5);
  // 2001:0::/32 (Teredo), RFC 4380: the client address is stored inverted
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) {
    return new ipaddr.IPv4([b[12]! ^ 0xff, b[13]! ^ 0xff, b[14]! ^ 0xff, b[15]! ^ 0xff]);
  }
  // any prefix + 0000:5efe:a.b.c.d or 0200:5efe:a.b.c.d (ISATAP), RFC 5214
  if ((b[8] === 0 || b[8] === 2) && b[9] === 0 && b[10] === 0x5e && b[11] === 0xfe) return v4(12, 13, 14, 15);
  return undefined;
}
