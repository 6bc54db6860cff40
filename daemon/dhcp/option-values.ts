import { err, ok, type Result } from "../lib/result.ts";
import { checkDomains, decodeDomains, encodeDomains } from "./domain-search.ts";
import type { ClasslessRoute, ClientGuid, ClientNdi, OptionType, OptionValues, SubOption } from "./options.ts";

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

// Fixed sizes by type; lists must be a whole number of elements.
const FIXED: Partial<Record<OptionType, number>> = { ip: 4, u8: 1, bool: 1, u16: 2, u32: 4, i32: 4, ndi: 3, guid: 17 };
const ELEMENT: Partial<Record<OptionType, number>> = { ips: 4, "ip-pairs": 8, u16s: 2 };

/**
 * The same verdict as checkValue from the length alone, for types whose check is only a length;
 * null for types whose bytes must be read (sub-options, domains, routes). Spares the decoder a view.
 */
export function checkLength(type: OptionType, length: number): string | undefined | null {
  const fixed = FIXED[type];
  if (fixed !== undefined) return length === fixed ? undefined : `length ${length}, expected ${fixed}`;
  const element = ELEMENT[type];
  if (element !== undefined) return length % element === 0 ? undefined : `length ${length}, expected a multiple of ${element}`;
  return type === "sub-options" || type === "encapsulated" || type === "domains" || type === "routes" ? null : undefined;
}

/** Why `bytes` are not a valid value of `type` ("length 2, expected 1"), or undefined. */
export function checkValue(type: OptionType, bytes: Uint8Array): string | undefined {
  const fixed = FIXED[type];
  if (fixed !== undefined) return bytes.length === fixed ? undefined : `length ${bytes.length}, expected ${fixed}`;
  const element = ELEMENT[type];
  if (element !== undefined) {
    return bytes.length % element === 0 ? undefined : `length ${bytes.length}, expected a multiple of ${element}`;
  }
  switch (type) {
    case "sub-options":
      return walkSubOptions(bytes, false);
    case "encapsulated":
      return walkSubOptions(bytes, true);
    case "domains":
      return checkDomains(bytes);
    case "routes":
      return walkRoutes(bytes);
    default:
      return undefined;
  }
}

/** Decodes `bytes` as a value of `type`; undefined when they are not valid for it. */
export function decodeValue<T extends OptionType>(type: T, bytes: Uint8Array): OptionValues[T] | undefined {
  if (checkValue(type, bytes) !== undefined) return undefined;
  return decoders[type](bytes) as OptionValues[T];
}

/** Encodes a value of `type` to option bytes. */
export function encodeValue<T extends OptionType>(type: T, value: OptionValues[T]): Result<Uint8Array> {
  return (encoders[type] as (v: OptionValues[T]) => Result<Uint8Array>)(value);
}

const u32At = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
const u16At = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;

function list(b: Uint8Array, size: number, read: (b: Uint8Array, i: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i + size <= b.length; i += size) out.push(read(b, i));
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

// 8-4-4-4-12 lower-case hex of 16 bytes from `at`, as one template (the hot path formats it).
function formatGuid(b: Uint8Array, at: number): string {
  const h = (i: number) => HEX[b[at + i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

// Sub-options are code, length, data (RFC 3046 2.0); in an encapsulated block (RFC 2132 8.4)
// pad (0) and end (255) are single bytes as at the top level.
function walkSubOptions(b: Uint8Array, encapsulated: boolean, out?: SubOption[]): string | undefined {
  for (let i = 0; i < b.length; ) {
    const code = b[i]!;
    if (encapsulated && code === 0) {
      i += 1;
      continue;
    }
    if (encapsulated && code === 255) break;
    if (i + 1 >= b.length) return `sub-option ${code} at +${i}: truncated before its length`;
    const len = b[i + 1]!;
    if (i + 2 + len > b.length) return `sub-option ${code} at +${i}: length ${len}, only ${b.length - i - 2} left`;
    out?.push({ code, data: b.subarray(i + 2, i + 2 + len) });
    i += 2 + len;
  }
  return undefined;
}

// RFC 3442: prefix length, then only the significant octets of the destination, then the router.
function walkRoutes(b: Uint8Array, out?: ClasslessRoute[]): string | undefined {
  for (let i = 0; i < b.length; ) {
    const prefix = b[i]!;
    if (prefix > 32) return `route at +${i}: prefix length ${prefix}, expected 0-32`;
    const significant = (prefix + 7) >> 3;
    if (i + 1 + significant + 4 > b.length) return `route at +${i}: truncated`;
    let destination = 0;
    for (let k = 0; k < 4; k++) destination = destination * 256 + (k < significant ? b[i + 1 + k]! : 0);
    out?.push({ destination, prefix, router: u32At(b, i + 1 + significant) });
    i += 1 + significant + 4;
  }
  return undefined;
}

const decoders: { [T in OptionType]: (b: Uint8Array) => OptionValues[T] } = {
  framing: () => undefined,
  ip: (b) => u32At(b, 0),
  ips: (b) => list(b, 4, u32At),
  "ip-pairs": (b) => {
    const out: Array<[number, number]> = [];
    for (let i = 0; i + 8 <= b.length; i += 8) out.push([u32At(b, i), u32At(b, i + 4)]);
    return out;
  },
  u8: (b) => b[0]!,
  u16: (b) => u16At(b, 0),
  u32: (b) => u32At(b, 0),
  i32: (b) => u32At(b, 0) | 0,
  bool: (b) => b[0] !== 0,
  u8s: (b) => Array.from(b),
  u16s: (b) => list(b, 2, u16At),
  string: (b) => utf8Decoder.decode(b),
  bytes: (b) => b,
  "sub-options": (b) => {
    const out: SubOption[] = [];
    walkSubOptions(b, false, out);
    return out;
  },
  encapsulated: (b) => {
    const out: SubOption[] = [];
    walkSubOptions(b, true, out);
    return out;
  },
  domains: (b) => decodeDomains(b) ?? [],
  routes: (b) => {
    const out: ClasslessRoute[] = [];
    walkRoutes(b, out);
    return out;
  },
  ndi: (b): ClientNdi => ({ type: b[0]!, major: b[1]!, minor: b[2]! }),
  guid: (b): ClientGuid => ({ type: b[0]!, guid: formatGuid(b, 1) }),
};

function uint(v: number, bits: number): string | undefined {
  return Number.isInteger(v) && v >= 0 && v < 2 ** bits ? undefined : `${v} is not a ${bits}-bit unsigned integer`;
}

function numbers(values: readonly number[], bits: 8 | 16 | 32): Result<Uint8Array> {
  const size = bits / 8;
  const out = new Uint8Array(values.length * size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const bad = uint(v, bits);
    if (bad) return err(bad);
    for (let k = 0; k < size; k++) out[i * size + k] = v >>> (8 * (size - 1 - k));
  }
  return ok(out);
}

function subOptions(subs: readonly SubOption[]): Result<Uint8Array> {
  const out: number[] = [];
  for (const { code, data } of subs) {
    if (uint(code, 8) || data.length > 255) return err(`sub-option ${code}: code or length out of range`);
    out.push(code, data.length, ...data);
  }
  return ok(Uint8Array.from(out));
}

const encoders: { [T in OptionType]: (v: OptionValues[T]) => Result<Uint8Array> } = {
  framing: () => err("pad and end carry no value"),
  ip: (v) => numbers([v], 32),
  ips: (v) => numbers(v, 32),
  "ip-pairs": (v) => numbers(v.flat(), 32),
  u8: (v) => numbers([v], 8),
  u16: (v) => numbers([v], 16),
  u32: (v) => numbers([v], 32),
  i32: (v) => (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? numbers([v >>> 0], 32) : err(`${v} is not a 32-bit integer`)),
  bool: (v) => ok(Uint8Array.of(v ? 1 : 0)),
  u8s: (v) => numbers(v, 8),
  u16s: (v) => numbers(v, 16),
  string: (v) => ok(utf8Encoder.encode(v)),
  bytes: (v) => ok(v),
  "sub-options": subOptions,
  encapsulated: subOptions,
  domains: encodeDomains,
  routes: (routes) => {
    const out: number[] = [];
    for (const { destination, prefix, router } of routes) {
      if (uint(prefix, 8) || prefix > 32) return err(`route prefix length ${prefix}, expected 0-32`);
      if (uint(destination, 32) || uint(router, 32)) return err("route address is not a uint32");
      out.push(prefix);
      for (let k = 0; k < (prefix + 7) >> 3; k++) out.push((destination >>> (24 - 8 * k)) & 255);
      out.push(router >>> 24, (router >>> 16) & 255, (router >>> 8) & 255, router & 255);
    }
    return ok(Uint8Array.from(out));
  },
  ndi: ({ type, major, minor }) => numbers([type, major, minor], 8),
  guid: ({ type, guid }) => {
    const digits = guid.replace(/-/g, "");
    if (uint(type, 8) || !/^[0-9a-fA-F]{32}$/.test(digits)) return err(`bad client GUID ${JSON.stringify(guid)}`);
    const out = new Uint8Array(17);
    out[0] = type;
    for (let i = 0; i < 16; i++) out[i + 1] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
    return ok(out);
  },
};
