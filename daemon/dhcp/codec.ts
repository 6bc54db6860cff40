import { err, ok, type Result } from "../lib/result.ts";
import { Reader } from "../wire/reader.ts";
import { Writer } from "../wire/writer.ts";
import { checkOption, type DhcpOptions } from "./options.ts";

/** A DHCPv4 message (RFC 2131 2, figure 1); addresses as uint32, byte fields as views. */
export interface DhcpPacket {
  /** 1 BOOTREQUEST, 2 BOOTREPLY. */
  op: number;
  /** Hardware address type (1 = Ethernet, RFC 1700). */
  htype: number;
  /** Hardware address length, at most 16. */
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  /** Bit 15 (0x8000) is the broadcast flag, RFC 2131 2 figure 2. */
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** Client hardware address: the first `hlen` bytes of the 16-byte field. */
  chaddr: Uint8Array;
  /** Server host name up to its first NUL; empty when the field carried options (overload). */
  sname: Uint8Array;
  /** Boot file name up to its first NUL; empty when the field carried options (overload). */
  file: Uint8Array;
  /** Options by code, long options (RFC 3396) concatenated; pad, end and overload (52) consumed. */
  options: DhcpOptions;
}

/** op value of a request (RFC 951 3). */
export const BOOTREQUEST = 1;
/** op value of a reply (RFC 951 3). */
export const BOOTREPLY = 2;
/** The broadcast bit of `flags` (RFC 2131 2, figure 2). */
export const BROADCAST_FLAG = 0x8000;

export const CHADDR_AT = 28; // RFC 2131 2, figure 1: chaddr, 16 bytes
export const CHADDR_SIZE = 16;
export const SNAME_AT = 44; // RFC 2131 2, figure 1: sname, 64 bytes
export const SNAME_SIZE = 64;
export const FILE_AT = 108; // RFC 2131 2, figure 1: file, 128 bytes
export const FILE_SIZE = 128;
export const COOKIE_AT = 236; // RFC 2131 3: options begin with the magic cookie
export const MAGIC_COOKIE = 0x63825363; // RFC 2131 3 / RFC 2132 2: 99.130.83.99
export const OPTIONS_AT = 240;
const MIN_LENGTH = 300; // RFC 1542 2.1: the BOOTP minimum, 236-byte header + 64-byte vend
export const PAD = 0; // RFC 2132 3.1
export const END = 255; // RFC 2132 3.2
const OVERLOAD = 52; // RFC 2132 9.3: 1 = file holds options, 2 = sname, 3 = both
const MESSAGE_TYPE = 53; // RFC 2132 9.6
const MAX_OPTION_LENGTH = 255; // RFC 2132 2: one length byte; longer values are split (RFC 3396)

const EMPTY = new Uint8Array(0);

/** A packet with every field zero and no options, to fill in for a reply. */
export function dhcpPacket(fields: Partial<DhcpPacket> = {}): DhcpPacket {
  return {
    op: BOOTREPLY, htype: 1, hlen: 6, hops: 0, xid: 0, secs: 0, flags: 0,
    ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0,
    chaddr: EMPTY, sname: EMPTY, file: EMPTY, options: new Map(),
    ...fields,
  };
}

/** Decodes a DHCPv4 message; errors name the byte offset and field. Never throws. */
export function decodeDhcp(buf: Uint8Array): Result<DhcpPacket> {
  const r = new Reader(buf);
  const op = r.u8("op");
  const htype = r.u8("htype");
  const hlen = r.u8("hlen");
  const hops = r.u8("hops");
  const xid = r.u32("xid");
  const secs = r.u16("secs");
  const flags = r.u16("flags");
  const ciaddr = r.u32("ciaddr");
  const yiaddr = r.u32("yiaddr");
  const siaddr = r.u32("siaddr");
  const giaddr = r.u32("giaddr");
  r.skip(CHADDR_SIZE, "chaddr");
  r.skip(SNAME_SIZE, "sname");
  r.skip(FILE_SIZE, "file");
  const cookie = r.u32("magic cookie");
  if (r.error !== undefined) return err(r.error);
  if (op !== BOOTREQUEST && op !== BOOTREPLY) return err(`op at byte 0: ${op}, expected 1 or 2`);
  if (hlen > CHADDR_SIZE) return err(`hlen at byte 2: ${hlen}, expected at most ${CHADDR_SIZE}`);
  if (cookie !== MAGIC_COOKIE) {
    return err(`magic cookie at byte ${COOKIE_AT}: 0x${cookie.toString(16).padStart(8, "0")}, expected 0x63825363`);
  }

  const options: DhcpOptions = new Map();
  const failed = scanOptions(buf, OPTIONS_AT, buf.length, "options", options);
  if (failed !== undefined) return err(failed);
  let overload = 0;
  const overloadBytes = options.get(OVERLOAD);
  if (overloadBytes !== undefined) {
    const at = findOption(buf, OVERLOAD, 0);
    if (overloadBytes.length !== 1) return err(`option 52 at byte ${at}: length ${overloadBytes.length}, expected 1`);
    overload = overloadBytes[0]!;
    if (overload < 1 || overload > 3) return err(`option 52 at byte ${at}: value ${overload}, expected 1, 2 or 3`);
    options.delete(OVERLOAD);
    // RFC 3396 / RFC 2131 4.1: the aggregate option buffer is options, then file, then sname.
    const inFile = overload & 1 ? scanOptions(buf, FILE_AT, FILE_AT + FILE_SIZE, "file", options) : undefined;
    if (inFile !== undefined) return err(inFile);
    const inSname = overload & 2 ? scanOptions(buf, SNAME_AT, SNAME_AT + SNAME_SIZE, "sname", options) : undefined;
    if (inSname !== undefined) return err(inSname);
  }
  // Checked once concatenated (RFC 3396); forEach, unlike for-of, allocates no entry arrays.
  let bad: string | undefined;
  let badCode = 0;
  options.forEach((value, code) => {
    if (bad === undefined && (bad = checkOption(code, value)) !== undefined) badCode = code;
  });
  if (bad !== undefined) return err(`option ${badCode} at byte ${findOption(buf, badCode, overload)}: ${bad}`);

  return ok({
    op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr,
    chaddr: buf.subarray(CHADDR_AT, CHADDR_AT + hlen),
    sname: overload & 2 ? EMPTY : untilNul(buf, SNAME_AT, SNAME_SIZE),
    file: overload & 1 ? EMPTY : untilNul(buf, FILE_AT, FILE_SIZE),
    options,
  });
}

/**
 * Encodes `p` into `out` at `offset`; returns bytes written (padded to 300, RFC 1542 2.1).
 * Throws RangeError only when `out` is too small, a caller bug: size it with dhcpLength.
 */
export function encodeDhcp(p: DhcpPacket, out: Uint8Array, offset = 0): number {
  const w = new Writer(out, offset);
  w.u8(p.op);
  w.u8(p.htype);
  w.u8(p.hlen);
  w.u8(p.hops);
  w.u32(p.xid);
  w.u16(p.secs);
  w.u16(p.flags);
  w.u32(p.ciaddr);
  w.u32(p.yiaddr);
  w.u32(p.siaddr);
  w.u32(p.giaddr);
  w.bytes(p.chaddr, CHADDR_SIZE);
  w.bytes(p.sname, SNAME_SIZE);
  w.bytes(p.file, FILE_SIZE);
  w.u32(MAGIC_COOKIE);
  // Message type first, where ISC dhcpd puts it and simple clients look for it.
  const type = p.options.get(MESSAGE_TYPE);
  if (type !== undefined) writeOption(w, MESSAGE_TYPE, type);
  p.options.forEach(writeOtherOption, w);
  w.u8(END);
  if (w.written < MIN_LENGTH) w.zeros(MIN_LENGTH - w.written);
  if (w.overflow) {
    throw new RangeError(`encodeDhcp: ${w.written} bytes needed at offset ${offset}, ${out.length - offset} available`);
  }
  return w.written;
}

/** The number of bytes `encodeDhcp` writes for `p`. */
export function dhcpLength(p: DhcpPacket): number {
  let n = OPTIONS_AT + 1; // header, cookie and the end option
  p.options.forEach((value, code) => {
    if (code === PAD || code === END) return;
    const instances = Math.max(1, Math.ceil(value.length / MAX_OPTION_LENGTH));
    n += 2 * instances + value.length;
  });
  return Math.max(n, MIN_LENGTH);
}

// A forEach callback with the Writer as `this`: no closure or entry arrays per packet.
function writeOtherOption(this: Writer, value: Uint8Array, code: number): void {
  if (code !== MESSAGE_TYPE && code !== PAD && code !== END) writeOption(this, code, value);
}

// Long values become consecutive instances of at most 255 bytes each, as RFC 3396 describes.
function writeOption(w: Writer, code: number, value: Uint8Array): void {
  if (value.length <= MAX_OPTION_LENGTH) {
    w.u8(code);
    w.u8(value.length);
    w.bytes(value);
    return;
  }
  for (let i = 0; i < value.length; i += MAX_OPTION_LENGTH) {
    const chunk = value.subarray(i, i + MAX_OPTION_LENGTH);
    w.u8(code);
    w.u8(chunk.length);
    w.bytes(chunk);
  }
}

// Reads code/length/value triples of one area into `into`, concatenating repeats (RFC 3396).
function scanOptions(buf: Uint8Array, start: number, end: number, area: string, into: DhcpOptions): string | undefined {
  for (let i = start; i < end; ) {
    const code = buf[i]!;
    if (code === PAD) {
      i += 1;
      continue;
    }
    if (code === END) return undefined;
    if (i + 1 >= end) return `option ${code} at byte ${i}: truncated before its length (${area} field ends at byte ${end})`;
    const len = buf[i + 1]!;
    if (i + 2 + len > end) {
      return `option ${code} at byte ${i}: length ${len} runs past the end of the ${area} field at byte ${end}`;
    }
    // RFC 2131 4.1: option 52 MUST appear in the options field.
    if (code === OVERLOAD && area !== "options") return `option 52 at byte ${i}: only allowed in the options field`;
    const value = buf.subarray(i + 2, i + 2 + len);
    const earlier = into.get(code);
    into.set(code, earlier === undefined ? value : concat(earlier, value));
    i += 2 + len;
  }
  return undefined;
}

// Where option `code` first appears: only needed to name the byte in an error.
function findOption(buf: Uint8Array, code: number, overload: number): number {
  const areas: Array<[number, number]> = [[OPTIONS_AT, buf.length]];
  if (overload & 1) areas.push([FILE_AT, FILE_AT + FILE_SIZE]);
  if (overload & 2) areas.push([SNAME_AT, SNAME_AT + SNAME_SIZE]);
  for (const [start, end] of areas) {
    for (let i = start; i + 1 < end && buf[i] !== END; i += buf[i] === PAD ? 1 : 2 + buf[i + 1]!) {
      if (buf[i] === code) return i;
    }
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function untilNul(buf: Uint8Array, at: number, size: number): Uint8Array {
  let end = at;
  while (end < at + size && buf[end] !== 0) end++;
  return buf.subarray(at, end);
}
