/**
 * The address of the machine behind an HTTP request: the TCP peer, or, when the peer is one of
 * the configured proxies (`--trusted-proxies`), the address X-Forwarded-For names. Boot scripts
 * and metadata identify a machine by it, so a header from anyone else is ignored. IPv4 only,
 * as the Hardware addresses are. Pure.
 */
import { err, ok, type Result } from "../lib/result.ts";
import { formatIpv4, parseIpv4 } from "../wire/address.ts";

/** An IPv4 network; `mask` is the uint32 netmask. */
export interface Cidr {
  network: number;
  mask: number;
  /** As written, for logs. */
  text: string;
}

/** Parses `a.b.c.d/n` or a bare address (a /32). */
export function parseCidr(text: string): Result<Cidr> {
  const slash = text.indexOf("/");
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (!addr.ok) return addr;
  const bitsText = slash < 0 ? "32" : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(bitsText) || Number(bitsText) > 32) return err(`invalid prefix length in ${JSON.stringify(text)}: expected 0-32`);
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ok({ network: (addr.value & mask) >>> 0, mask, text });
}

/** Whether `ip` (uint32) is inside one of `cidrs`. */
export function inCidrs(ip: number, cidrs: readonly Cidr[]): boolean {
  return cidrs.some((c) => ((ip & c.mask) >>> 0) === c.network);
}

/** The IPv4 value of a socket address ("10.0.0.5" or the mapped "::ffff:10.0.0.5"), if it is one. */
export function peerIpv4(address: string | undefined): number | undefined {
  if (address === undefined) return undefined;
  return dottedQuad(address, address.startsWith("::ffff:") ? 7 : 0);
}

// The rules of parseIpv4 (four decimal octets, no leading zero, each <= 255) read in place: every
// request's peer goes through here, and the split and regular expressions showed in profiles.
function dottedQuad(text: string, from: number): number | undefined {
  let n = 0;
  let octets = 0;
  let i = from;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) octet = octet * 10 + (c - 48);
    const digits = i - start;
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return undefined;
    n = n * 256 + octet;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 46) return undefined; // "."
      i++;
    }
  }
  return i === text.length ? n : undefined;
}

/** Where the client address came from. */
export type ClientAddressSource = "peer" | "x-forwarded-for";

/** The client's address (uint32 and text), or undefined when neither the peer nor the header gives an IPv4 one. */
export interface ClientAddress {
  ip: number | undefined;
  text: string;
  source: ClientAddressSource;
}

/**
 * The client address. X-Forwarded-For lists the client first and each proxy appends the
 * address it heard from, so it is read from the right: past every trusted proxy, the first
 * other address is the client. Entries that are not IPv4 addresses stop the walk there.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | null, trusted: readonly Cidr[]): ClientAddress {
  const peerIp = peerIpv4(peer);
  // A plain dotted quad that parsed is its own canonical text; a mapped one is written anew.
  const text = peerIp === undefined ? (peer ?? "unknown") : peer!.startsWith("::ffff:") ? formatIpv4(peerIp) : peer!;
  const fromPeer: ClientAddress = { ip: peerIp, text, source: "peer" };
  if (forwardedFor === null || peerIp === undefined || !inCidrs(peerIp, trusted)) return fromPeer;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter((h) => h !== "");
  let client: number | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = peerIpv4(hops[i]);
    if (hop === undefined) break;
    client = hop;
    if (!inCidrs(hop, trusted)) break;
  }
  return client === undefined ? fromPeer : { ip: client, text: formatIpv4(client), source: "x-forwarded-for" };
}
