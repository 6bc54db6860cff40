// Decoding never throws, and every accepted packet re-encodes (to dhcpLength bytes) and decodes
// to the same values. Mutations run in a tight loop on a seeded PRNG (fast-check is too slow
// for a million cases); fast-check drives the structure-aware cases. WISP_FUZZ_SCALE=10 for
// a longer run; a failure prints its seed and the packet as hex.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fuzzCases, fuzzSeed, FUZZ_SCALE, mutated, prng } from "../support/fuzz.ts";
import { classifyDhcp } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, dhcpPacket, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { encodeOption, optionSpec, type OptionType } from "../../daemon/dhcp/options.ts";
import { renderDhcp } from "../../daemon/dhcp/render.ts";
import { HAND_BUILT } from "./hand-built.ts";
import { packetDifference } from "./packet-equal.ts";

const SCALE = FUZZ_SCALE;
const SEED = fuzzSeed(0x5eed);
const MUTATIONS = 880_000 * SCALE;
const RANDOM = 60_000 * SCALE;
const STRUCTURED = 40_000 * SCALE;
const ANY_BYTES = 20_000 * SCALE;

const out = new Uint8Array(1 << 17);

/** Decodes `buf` and checks the invariants; returns whether it was accepted, or the failure. */
function check(buf: Uint8Array, deep: boolean): boolean | string {
  let r;
  try {
    r = decodeDhcp(buf);
  } catch (e) {
    return `decode threw ${e}`;
  }
  if (!r.ok) return false;
  const p = r.value;
  const n = dhcpLength(p);
  const written = encodeDhcp(p, out, 0);
  if (written !== n) return `encoded ${written} bytes, dhcpLength said ${n}`;
  const again = decodeDhcp(out.subarray(0, written));
  if (!again.ok) return `re-decode failed: ${again.error}`;
  const diff = packetDifference(p, again.value);
  if (diff !== undefined) return `re-decoded packet differs: ${diff}`;
  classifyDhcp(p);
  if (deep) renderDhcp(p);
  return true;
}

// Offsets of option code bytes in a valid packet (options, then overloaded file/sname); the
// length byte follows each.
function codeOffsets(buf: Uint8Array): number[] {
  const offsets: number[] = [];
  const walk = (start: number, end: number) => {
    for (let i = start; i + 1 < end && buf[i] !== 255; i += buf[i] === 0 ? 1 : 2 + buf[i + 1]!) {
      if (buf[i] !== 0) offsets.push(i);
    }
  };
  walk(240, buf.length);
  const overload = decodeDhcp(buf).ok ? overloadOf(buf) : 0;
  if (overload & 1) walk(108, 236);
  if (overload & 2) walk(44, 108);
  return offsets;
}

// Codes the decoder treats specially, and some with structured values.
const INTERESTING_CODES = [0, 52, 53, 255, 3, 82, 93, 97, 119, 121, 175];

function overloadOf(buf: Uint8Array): number {
  for (let i = 240; i + 1 < buf.length && buf[i] !== 255; i += buf[i] === 0 ? 1 : 2 + buf[i + 1]!) {
    if (buf[i] === 52) return buf[i + 2]!;
  }
  return 0;
}

function seeds(): Uint8Array[] {
  const list = Object.values(HAND_BUILT);
  // Add a reply with long (split) and structured options, built by the encoder.
  const p = dhcpPacket({ op: 2, xid: 9, chaddr: list[0]!.subarray(28, 34), file: new TextEncoder().encode("ipxe.efi") });
  p.options.set(53, Uint8Array.of(2));
  p.options.set(43, Uint8Array.from({ length: 300 }, (_, i) => i));
  p.options.set(119, Uint8Array.of(3, 97, 98, 99, 0, 3, 100, 101, 102, 0xc0, 0));
  p.options.set(121, Uint8Array.of(24, 10, 1, 2, 10, 0, 0, 1, 0, 10, 0, 0, 254));
  p.options.set(82, Uint8Array.of(1, 2, 65, 66, 2, 0));
  const bytes = new Uint8Array(dhcpLength(p));
  encodeDhcp(p, bytes, 0);
  return [...list, bytes];
}

describe("dhcp codec fuzz", () => {
  test(`${MUTATIONS} mutated packets (bit flips, byte writes, truncation, length and code bytes, extension)`, () => {
    const started = performance.now();
    const next = prng(SEED);
    const pool = seeds();
    const codes = pool.map((bytes) => codeOffsets(bytes));
    const mutate = (work: Uint8Array, len: number, from: number): number => {
      const seedCodes = codes[from]!;
      const kind = next() % 9;
      if (kind <= 1) work[next() % len]! ^= 1 << (next() % 8); // bit flip anywhere
      else if (kind === 2 && len > 240) work[240 + (next() % (len - 240))]! ^= 1 << (next() % 8); // in the options
      else if (kind === 3) work[next() % len] = next() & 255; // byte write
      else if (kind === 4) len = next() % (len + 1); // truncation
      else if (kind <= 6 && seedCodes.length > 0) {
        // length-byte corruption: nudge by one, or set to 0, 255 or anything
        const at = seedCodes[next() % seedCodes.length]! + 1;
        const choice = next() % 4;
        work[at] = choice === 0 ? work[at]! + 1 : choice === 1 ? work[at]! - 1 : choice === 2 ? (next() & 1) * 255 : next() & 255;
      } else if (kind === 7 && seedCodes.length > 0) {
        // code-byte rewrite: to a code the decoder treats specially, or anything
        const at = seedCodes[next() % seedCodes.length]!;
        work[at] = next() & 1 ? INTERESTING_CODES[next() % INTERESTING_CODES.length]! : next() & 255;
        if (next() & 1) work[at + 1] = next() % 5; // with a short length, as fixed-size options have
      } else if (kind === 8 && len < work.length - 64) {
        const extra = next() % 64; // extension with random bytes
        for (let k = 0; k < extra; k++) work[len + k] = next() & 255;
        len += extra;
      }
      return len;
    };
    const accepted = fuzzCases(MUTATIONS, SEED, mutated(pool, new Uint8Array(2048), next, mutate), (input, iter) => check(input, iter % 97 === 0));
    const ms = performance.now() - started;
    console.log(`fuzz: ${MUTATIONS} mutated packets, ${accepted} accepted and round-tripped, ${ms.toFixed(0)} ms`);
    expect(accepted).toBeGreaterThan(MUTATIONS / 10);
  }, 120_000);

  test(`${RANDOM} random packets (random bytes; valid header and cookie with random options)`, () => {
    const started = performance.now();
    const next = prng(SEED + 1);
    const work = new Uint8Array(1500);
    const random = (iter: number) => {
      const len = next() % (iter % 2 === 0 ? 600 : 1500);
      for (let k = 0; k < len; k++) work[k] = next() & 255;
      if (iter % 2 === 1 && len >= 240) {
        work[0] = 1 + (next() & 1);
        work[2] = next() % 17;
        work.set([99, 130, 83, 99], 236);
        // Mostly small option lengths, so random option areas parse further.
        for (let k = 241; k < len; k += 2 + (next() % 8)) work[k] = next() % 12;
      }
      return work.subarray(0, len);
    };
    const accepted = fuzzCases(RANDOM, SEED + 1, random, (input) => check(input, false));
    console.log(`fuzz: ${RANDOM} random packets, ${accepted} accepted, ${(performance.now() - started).toFixed(0)} ms`);
  }, 120_000);

  test(`${STRUCTURED} structure-aware packets (fast-check): encode at any offset, decode to the same values`, () => {
    const started = performance.now();
    fc.assert(
      fc.property(packetArbitrary(), fc.nat(512), (p, offset) => {
        const n = dhcpLength(p);
        const buf = new Uint8Array(offset + n);
        expect(encodeDhcp(p, buf, offset)).toBe(n);
        const r = decodeDhcp(buf.subarray(offset));
        if (!r.ok) throw new Error(r.error);
        expect(packetDifference(p, r.value)).toBeUndefined();
      }),
      { numRuns: STRUCTURED, seed: SEED },
    );
    console.log(`fuzz: ${STRUCTURED} structure-aware packets, ${(performance.now() - started).toFixed(0)} ms`);
  }, 120_000);

  test(`${ANY_BYTES} arbitrary byte arrays (fast-check) never throw`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        expect(check(bytes, true)).not.toBeTypeOf("string");
      }),
      { numRuns: ANY_BYTES, seed: SEED },
    );
  }, 120_000);
});

const u8 = fc.integer({ min: 0, max: 255 });
const u32 = fc.nat({ max: 0xffffffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const subOptions = fc.array(fc.record({ code: fc.integer({ min: 1, max: 254 }), data: bytes(0, 40) }), { maxLength: 6 });

// Valid bytes for each option type, built through the typed encoder where that is the point.
const valueFor: Record<OptionType, fc.Arbitrary<Uint8Array>> = {
  framing: bytes(0, 0),
  ip: bytes(4, 4),
  ips: fc.array(bytes(4, 4), { maxLength: 8 }).map((l) => Uint8Array.from(l.flatMap((b) => [...b]))),
  "ip-pairs": fc.array(bytes(8, 8), { maxLength: 4 }).map((l) => Uint8Array.from(l.flatMap((b) => [...b]))),
  u8: bytes(1, 1),
  bool: bytes(1, 1),
  u16: bytes(2, 2),
  u32: bytes(4, 4),
  i32: bytes(4, 4),
  u8s: bytes(0, 300),
  u16s: fc.array(bytes(2, 2), { maxLength: 8 }).map((l) => Uint8Array.from(l.flatMap((b) => [...b]))),
  string: fc.string({ maxLength: 300 }).map((s) => new TextEncoder().encode(s)),
  bytes: bytes(0, 600),
  "sub-options": subOptions.map((s) => encoded(82, s)),
  encapsulated: subOptions.map((s) => encoded(175, s)),
  domains: fc.array(fc.domain(), { maxLength: 6 }).map((d) => encoded(119, d)),
  routes: fc.array(fc.record({ destination: u32, prefix: fc.integer({ min: 0, max: 32 }), router: u32 }), { maxLength: 6 }).map((r) => encoded(121, r)),
  ndi: bytes(3, 3),
  guid: bytes(17, 17),
};

function encoded(code: number, value: unknown): Uint8Array {
  const r = encodeOption(code, value as never);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const optionArbitrary = fc
  .oneof(fc.constantFrom(1, 3, 6, 12, 15, 43, 51, 53, 54, 55, 60, 61, 67, 77, 82, 93, 94, 97, 119, 121, 175), fc.integer({ min: 1, max: 254 }))
  .filter((code) => code !== 52)
  .chain((code) => {
    const spec = optionSpec(code);
    return fc.tuple(fc.constant(code), spec === undefined ? bytes(0, 300) : valueFor[spec.type]);
  });

function packetArbitrary(): fc.Arbitrary<DhcpPacket> {
  const noNul = (max: number) => fc.uint8Array({ min: 1, max: 255, maxLength: max });
  return fc
    .record({
      op: fc.constantFrom(1, 2), htype: u8, hops: u8, xid: u32, secs: fc.nat({ max: 0xffff }), flags: fc.nat({ max: 0xffff }),
      ciaddr: u32, yiaddr: u32, siaddr: u32, giaddr: u32,
      chaddr: bytes(0, 16), sname: noNul(64), file: noNul(128),
      options: fc.array(optionArbitrary, { maxLength: 12 }),
    })
    .map((f) => dhcpPacket({ ...f, hlen: f.chaddr.length, options: new Map(f.options) }));
}
