import { err, ok, type Result } from "../lib/result.ts";

// Two hex digits per byte value, built once: formatting a MAC is then one join, no parsing.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Parses dotted-quad IPv4 text ("10.0.0.1") to its uint32 value; leading zeros are refused. */
export function parseIpv4(text: string): Result<number> {
  const parts = text.split(".");
  if (parts.length !== 4) return err(`invalid IPv4 address ${JSON.stringify(text)}: expected 4 parts`);
  let n = 0;
  for (const part of parts) {
    // "010" is octal to inet_aton and decimal to others: refuse rather than guess.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) {
      return err(`invalid IPv4 address ${JSON.stringify(text)}: bad octet ${JSON.stringify(part)}`);
    }
    n = n * 256 + Number(part);
  }
  return ok(n);
}

/** Formats a uint32 as dotted-quad IPv4 text. */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Reads the 4 bytes at `offset` as an IPv4 uint32 (network order); 0 if they are not there. */
export function ipv4FromBytes(bytes: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + 4 > bytes.length) return 0;
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Writes an IPv4 uint32 as 4 bytes in network order at `offset` (into `out`, or a new array). */
export function ipv4ToBytes(n: number, out: Uint8Array = new Uint8Array(4), offset = 0): Uint8Array {
  out[offset] = n >>> 24;
  out[offset + 1] = n >>> 16;
  out[offset + 2] = n >>> 8;
  out[offset + 3] = n;
  return out;
}

/** Formats hardware-address bytes as lower-case colon form ("52:54:00:ab:cd:ef"). */
export function formatMac(bytes: Uint8Array): string {
  if (bytes.length === 6) {
    // The common case as one template: one string, not a chain of ropes.
    const b = bytes;
    return `${HEX[b[0]!]}:${HEX[b[1]!]}:${HEX[b[2]!]}:${HEX[b[3]!]}:${HEX[b[4]!]}:${HEX[b[5]!]}`;
  }
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += i === 0 ? HEX[bytes[i]!]! : `:${HEX[bytes[i]!]!}`;
  return s;
}

/** Parses a MAC in any case with ':' or '-' separators (or none, 12 digits) to its 6 bytes. */
export function parseMac(text: string): Result<Uint8Array> {
  const compact = /^[0-9a-fA-F]{12}$/.test(text)
    ? text
    : /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(text)
      ? text.replace(/[:-]/g, "")
      : undefined;
  if (compact === undefined) return err(`invalid MAC address ${JSON.stringify(text)}`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(compact.slice(i * 2, i * 2 + 2), 16);
  return ok(out);
}

/** Normalises MAC text to lower-case colon form, as Hardware manifests store it. */
export function normalizeMac(text: string): Result<string> {
  const bytes = parseMac(text);
  return bytes.ok ? ok(formatMac(bytes.value)) : bytes;
}
