/**
 * Building replies: the BOOTREPLY header (RFC 2131 4.3.1 table 3), options in the client's
 * requested order, the size limit, and where the reply goes (RFC 2131 4.1). Pure.
 *
 * Reply option values may be shared, read-only views: a host's encoded options, constants, and
 * the request's own 82 and 97 bytes. Encode the reply before reusing the request's buffer.
 */
import { ipv4ToBytes } from "../wire/address.ts";
import type { BootReply } from "./boot.ts";
import { BOOTREPLY, BROADCAST_FLAG, dhcpLength, type DhcpPacket } from "./codec.ts";
import { hostOptions, leaseOption } from "./host-options.ts";
import type { Delivery, DhcpHost } from "./types.ts";

/** DHCPOFFER, option 53 (RFC 2132 9.6). */
export const OFFER = 2;
/** DHCPACK, option 53 (RFC 2132 9.6). */
export const ACK = 5;
/** DHCPNAK, option 53 (RFC 2132 9.6). */
export const NAK = 6;

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);
const TYPE_BYTES: Record<number, Uint8Array> = { [OFFER]: Uint8Array.of(OFFER), [ACK]: Uint8Array.of(ACK), [NAK]: Uint8Array.of(NAK) };
// PXE 2.1 spec 2.4.2: vendor option 43, sub-option 6 (discovery control) = 8: skip boot server
// discovery and boot the file in this packet; 255 ends the block. smee and dnsmasq (no menu) send 8.
const PXE_DISCOVERY_CONTROL = Uint8Array.of(6, 1, 8, 255);
const VENDOR_CLASS = { PXEClient: utf8.encode("PXEClient"), HTTPClient: utf8.encode("HTTPClient") };
const NAK_MESSAGE = utf8.encode("requested address is not this client's reservation");
const FILE_MAX = 127; // RFC 2131 2: 128-byte file field, NUL-terminated for PXE ROMs; longer goes in 67 only
const SNAME_MAX = 63; // RFC 2131 2: 64-byte sname field
const MIN_MAX_MESSAGE = 576; // RFC 2132 9.10: the least a client may announce, and what it must accept
const IP_UDP_HEADERS = 28; // option 57 counts the IP datagram (RFC 2131 2: 576 - 28 = 548 bytes of DHCP)
const ETHERNET_MTU = 1500;

/** Our options in the order sent to a client without option 55; 82 is always last (RFC 3046 2.2). */
const DEFAULT_ORDER = [54, 51, 58, 59, 1, 28, 3, 6, 12, 15, 42, 119, 121, 60, 66, 67, 43, 97] as const;
/**
 * Sent even when option 55 does not ask for them: what RFC 2131 table 3 requires (54, 51), the
 * timers (RFC 2131 4.4.5), the mask and router every client needs, and what PXE needs to boot.
 * Other options go only to clients that ask, as ISC dhcpd and dnsmasq do; it also keeps a reply
 * at 16 options or fewer, past which JSC's Map storage more than triples.
 */
const ALWAYS = [54, 51, 58, 59, 1, 3, 60, 66, 67, 43, 97] as const;
/** Options a reply keeps when it must shrink to the client's maximum message size. */
const ESSENTIAL = new Set([53, 54, 51, 1, 3, 60, 66, 67, 43, 97, 82]);

/** What goes into one reply's options, besides the host's own. */
export interface ReplyParts {
  serverId: number;
  /** Whose network options (1, 3, 6, ...) to send; undefined in proxy replies. */
  host: DhcpHost | undefined;
  /** Lease seconds: 51, with T1 (58) and T2 (59); undefined for INFORM and proxy replies. */
  lease: number | undefined;
  boot: BootReply | undefined;
  /** The client's option 97, echoed in boot replies (RFC 4578 2.3; PXE clients match replies by it). */
  guid: Uint8Array | undefined;
}

/** A BOOTREPLY to `req` with header fields from the request, as RFC 2131 4.3.1 table 3 lists them. */
export function replyTo(req: DhcpPacket, type: number): DhcpPacket {
  // A literal rather than dhcpPacket({...}): no fields object and no spread per reply.
  const reply: DhcpPacket = {
    op: BOOTREPLY, htype: req.htype, hlen: req.hlen, hops: 0, xid: req.xid, secs: 0, flags: req.flags,
    ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: req.giaddr,
    chaddr: req.chaddr, sname: EMPTY, file: EMPTY, options: new Map(),
  };
  reply.options.set(53, TYPE_BYTES[type]!);
  return reply;
}

/** A DHCPNAK (RFC 2131 4.3.2): 53, 54 and a message; broadcast by a relay (broadcast bit set). */
export function nakTo(req: DhcpPacket, serverId: number): DhcpPacket {
  const nak = replyTo(req, NAK);
  if (req.giaddr !== 0) nak.flags |= BROADCAST_FLAG; // RFC 2131 4.3.2: so the relay broadcasts it
  nak.options.set(54, ipv4ToBytes(serverId));
  nak.options.set(56, NAK_MESSAGE);
  echoRelayInfo(req, nak);
  return nak;
}

/** Fills in boot fields and options, in the order of the client's option 55, and fits the size limit. */
export function fillReply(req: DhcpPacket, reply: DhcpPacket, parts: ReplyParts): void {
  const boot = parts.boot;
  let file: Uint8Array | undefined;
  if (boot !== undefined) {
    reply.siaddr = boot.nextServer;
    file = utf8.encode(boot.file);
    if (file.length <= FILE_MAX) reply.file = file;
  }
  const values: OptionValues = { parts, host: parts.host === undefined ? undefined : hostOptions(parts.host), file };
  // RFC 2132 9.8: the requested options in the order requested, then what is always sent.
  const requested = req.options.get(55);
  if (requested === undefined) {
    for (let i = 0; i < DEFAULT_ORDER.length; i++) putOption(reply, DEFAULT_ORDER[i]!, values);
  } else {
    for (let i = 0; i < requested.length; i++) putOption(reply, requested[i]!, values);
    for (let i = 0; i < ALWAYS.length; i++) putOption(reply, ALWAYS[i]!, values);
  }
  echoRelayInfo(req, reply);
  fitSize(req, reply);
}

/** Sets a proxy reply's `sname` (PXE spec 2.5: the boot server's name); skipped when too long. */
export function setServerName(reply: DhcpPacket, name: string): void {
  const bytes = utf8.encode(name);
  if (bytes.length <= SNAME_MAX) reply.sname = bytes;
}

// What option values come from while one reply is filled.
interface OptionValues {
  parts: ReplyParts;
  host: ReadonlyMap<number, Uint8Array> | undefined;
  /** The boot file's bytes, shared by the file field and option 67. */
  file: Uint8Array | undefined;
}

// One option by code, when this reply has a value for it and it is not set yet.
function putOption(reply: DhcpPacket, code: number, values: OptionValues): void {
  const options = reply.options;
  if (options.has(code)) return;
  const value = optionValue(code, values);
  if (value !== undefined) options.set(code, value);
}

function optionValue(code: number, { parts, host, file }: OptionValues): Uint8Array | undefined {
  const { lease, boot } = parts;
  switch (code) {
    case 54:
      return ipv4ToBytes(parts.serverId);
    case 51:
    case 58:
    case 59:
      if (lease === undefined) return undefined;
      // The Hardware's own lease is encoded with its options; the configured default is not.
      return parts.host?.leaseTime === lease ? host?.get(code) : leaseOption(code, lease);
    case 60:
      return boot?.vendorClass === undefined ? undefined : VENDOR_CLASS[boot.vendorClass];
    case 43:
      return boot?.vendorClass === "PXEClient" ? PXE_DISCOVERY_CONTROL : undefined;
    case 66:
      return boot?.tftpServer === undefined ? undefined : utf8.encode(boot.tftpServer);
    case 67:
      return file;
    case 97:
      return boot === undefined ? undefined : parts.guid;
    default:
      return host?.get(code);
  }
}

// RFC 3046 2.2: the Relay Agent Information option comes back unchanged, as the last option.
function echoRelayInfo(req: DhcpPacket, reply: DhcpPacket): void {
  const info = req.options.get(82);
  if (info === undefined) return;
  reply.options.delete(82);
  reply.options.set(82, info);
}

// RFC 2131 2 / RFC 2132 9.10: a reply must fit the client's maximum message size (576 unless it
// says more). Drops options the client did not ask for, then the last ones it asked for.
function fitSize(req: DhcpPacket, reply: DhcpPacket): void {
  const announced = req.options.get(57);
  const max57 = announced !== undefined && announced.length === 2 ? (announced[0]! << 8) | announced[1]! : 0;
  const limit = Math.min(Math.max(max57, MIN_MAX_MESSAGE), ETHERNET_MTU) - IP_UDP_HEADERS;
  if (dhcpLength(reply) <= limit) return;
  const requested = req.options.get(55);
  const isRequested = (code: number) => requested !== undefined && requested.includes(code);
  for (let i = DEFAULT_ORDER.length - 1; i >= 0 && dhcpLength(reply) > limit; i--) {
    const code = DEFAULT_ORDER[i]!;
    if (!ESSENTIAL.has(code) && !isRequested(code)) reply.options.delete(code);
  }
  for (let i = (requested?.length ?? 0) - 1; i >= 0 && dhcpLength(reply) > limit; i--) {
    const code = requested![i]!;
    if (!ESSENTIAL.has(code)) reply.options.delete(code);
  }
}

const BROADCAST: Delivery = Object.freeze({ kind: "broadcast", port: 68 });

/**
 * RFC 2131 4.1: to the relay (giaddr, port 67); a NAK is broadcast; to ciaddr when the client has
 * an address; broadcast when it asked (or when the reply carries no address, as proxy replies);
 * else to yiaddr at chaddr, without ARP, since the client cannot answer one yet.
 */
export function deliveryOf(req: DhcpPacket, reply: DhcpPacket, mac: string): Delivery {
  if (req.giaddr !== 0) return { kind: "relay", ip: req.giaddr, port: 67 };
  if (reply.options.get(53)?.[0] === NAK) return BROADCAST;
  if (req.ciaddr !== 0) return { kind: "unicast", ip: req.ciaddr, port: 68 };
  if ((req.flags & BROADCAST_FLAG) !== 0 || reply.yiaddr === 0) return BROADCAST;
  return { kind: "unicast-mac", ip: reply.yiaddr, mac, port: 68 };
}
