/**
 * TFTP packets (RFC 1350, options RFC 2347) as values. Strings are kept one character per byte
 * (latin1) so every accepted packet re-encodes to exactly its bytes; option names keep their
 * case (policy compares them case-insensitively, RFC 2347). Pure: no I/O, never throws on input.
 */
import { err, ok, type Result } from "../lib/result.ts";
import { Reader } from "../wire/reader.ts";
import { Writer } from "../wire/writer.ts";

/** Opcodes, RFC 1350 5 and RFC 2347 (OACK). */
export const RRQ = 1;
export const WRQ = 2;
export const DATA = 3;
export const ACK = 4;
export const ERROR = 5;
export const OACK = 6;

/** Error codes, RFC 1350 appendix and RFC 2347 (8). */
export const ErrorCode = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTransferId: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionsRefused: 8,
} as const;

/** One option as sent: name and value, both as text. */
export type TftpOption = readonly [name: string, value: string];

/** RRQ or WRQ (RFC 1350 5 figure 5-1, options appended per RFC 2347). */
export interface TftpRequest {
  op: typeof RRQ | typeof WRQ;
  filename: string;
  mode: string;
  options: TftpOption[];
}

/** DATA: a block number and up to blksize bytes (a view into the received buffer). */
export interface TftpData {
  op: typeof DATA;
  block: number;
  data: Uint8Array;
}

/** ACK of a block (block 0 acknowledges an OACK, RFC 2347). */
export interface TftpAck {
  op: typeof ACK;
  block: number;
}

/** ERROR with a code and a message. */
export interface TftpError {
  op: typeof ERROR;
  code: number;
  message: string;
}

/** OACK: the options the server accepted, with their final values (RFC 2347). */
export interface TftpOack {
  op: typeof OACK;
  options: TftpOption[];
}

/** Any TFTP packet. */
export type TftpPacket = TftpRequest | TftpData | TftpAck | TftpError | TftpOack;

/** Bytes before a DATA packet's payload: opcode and block number. */
export const DATA_HEADER_LENGTH = 4;

/** Decodes one TFTP packet; errors name the byte and the field. Never throws. */
export function decodeTftp(buf: Uint8Array): Result<TftpPacket> {
  const r = new Reader(buf);
  const op = r.u16("opcode");
  if (!r.ok) return err(r.error!);
  switch (op) {
    case RRQ:
    case WRQ: {
      const filename = readString(r, "filename");
      if (typeof filename !== "string") return filename;
      const mode = readString(r, "mode");
      if (typeof mode !== "string") return mode;
      const options = readOptions(r);
      return Array.isArray(options) ? ok({ op, filename, mode, options }) : options;
    }
    case DATA: {
      const block = r.u16("block");
      if (!r.ok) return err(r.error!);
      return ok({ op, block, data: r.bytes(r.remaining, "data") });
    }
    case ACK: {
      const block = r.u16("block");
      if (!r.ok) return err(r.error!);
      if (r.remaining > 0) return err(`trailing bytes at byte ${r.offset}: ${r.remaining} after an ACK`);
      return ok({ op, block });
    }
    case ERROR: {
      const code = r.u16("error code");
      if (!r.ok) return err(r.error!);
      const message = readString(r, "error message");
      if (typeof message !== "string") return message;
      if (r.remaining > 0) return err(`trailing bytes at byte ${r.offset}: ${r.remaining} after the error message`);
      return ok({ op, code, message });
    }
    case OACK: {
      const options = readOptions(r);
      return Array.isArray(options) ? ok({ op, options }) : options;
    }
    default:
      return err(`opcode at byte 0: ${op}, expected 1 to 6`);
  }
}

/** Bytes `encodeTftp` writes for `p`. */
export function tftpLength(p: TftpPacket): number {
  switch (p.op) {
    case RRQ:
    case WRQ:
      return 2 + p.filename.length + 1 + p.mode.length + 1 + optionsLength(p.options);
    case DATA:
      return DATA_HEADER_LENGTH + p.data.length;
    case ACK:
      return 4;
    case ERROR:
      return 4 + p.message.length + 1;
    case OACK:
      return 2 + optionsLength(p.options);
  }
}

/**
 * Encodes `p` into `out` at `offset`; returns the bytes written (tftpLength). Strings are written
 * one byte per character (low 8 bits); a NUL inside one is a caller bug. Throws RangeError when
 * `out` is too small, also a caller bug.
 */
export function encodeTftp(p: TftpPacket, out: Uint8Array, offset = 0): number {
  const w = new Writer(out, offset);
  w.u16(p.op);
  switch (p.op) {
    case RRQ:
    case WRQ:
      writeString(w, p.filename);
      writeString(w, p.mode);
      for (const [name, value] of p.options) writeString(w, name), writeString(w, value);
      break;
    case DATA:
      w.u16(p.block);
      w.bytes(p.data);
      break;
    case ACK:
      w.u16(p.block);
      break;
    case ERROR:
      w.u16(p.code);
      writeString(w, p.message);
      break;
    case OACK:
      for (const [name, value] of p.options) writeString(w, name), writeString(w, value);
      break;
  }
  if (w.overflow) throw new RangeError(`tftp packet needs ${w.written} bytes at offset ${offset}, buffer has ${out.length}`);
  return w.written;
}

/** Writes a DATA header (opcode, block) at `offset`; the caller puts the payload after it. */
export function encodeDataHeader(block: number, out: Uint8Array, offset = 0): number {
  out[offset] = 0;
  out[offset + 1] = DATA; // RFC 1350 5: opcode 3, then the block number, both 16-bit big-endian
  out[offset + 2] = (block >>> 8) & 0xff;
  out[offset + 3] = block & 0xff;
  return DATA_HEADER_LENGTH;
}

/** Bytes `bytes` takes in netascii (RFC 764 via RFC 1350 appendix): LF -> CR LF, CR -> CR NUL. */
export function netasciiLength(bytes: Uint8Array): number {
  let n = bytes.length;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10 || bytes[i] === 13) n++;
  return n;
}

/** Converts local text (LF line ends) to netascii; a bare CR becomes CR NUL. */
export function toNetascii(bytes: Uint8Array, out = new Uint8Array(netasciiLength(bytes))): Uint8Array {
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 10) (out[o++] = 13), (out[o++] = 10);
    else if (b === 13) (out[o++] = 13), (out[o++] = 0);
    else out[o++] = b;
  }
  return out;
}

function optionsLength(options: readonly TftpOption[]): number {
  let n = 0;
  for (const [name, value] of options) n += name.length + 1 + value.length + 1;
  return n;
}

// A NUL-terminated string (RFC 1350 5: "a sequence of bytes in netascii terminated by a zero
// byte"), as latin1 text; a missing terminator is an error naming where the string began.
function readString(r: Reader, field: string): string | { ok: false; error: string } {
  const start = r.offset;
  const buf = r.buf;
  let end = start;
  while (end < r.end && buf[end] !== 0) end++;
  if (end >= r.end) return err(`${field} at byte ${start}: no terminating NUL`);
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  r.offset = end + 1;
  return s;
}

function readOptions(r: Reader): TftpOption[] | { ok: false; error: string } {
  const options: TftpOption[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const name = readString(r, "option name");
    if (typeof name !== "string") return name;
    // RFC 2347: each option is a name and a value; an empty name cannot be told from padding.
    if (name.length === 0) return err(`option name at byte ${at}: empty`);
    const value = readString(r, `value of option "${name}"`);
    if (typeof value !== "string") return value;
    options.push([name, value]);
  }
  return options;
}

function writeString(w: Writer, s: string): void {
  for (let i = 0; i < s.length; i++) w.u8(s.charCodeAt(i));
  w.u8(0);
}
