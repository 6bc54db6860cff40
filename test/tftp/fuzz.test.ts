// Decoding never throws, and every accepted packet re-encodes to exactly the bytes it came from
// (tftpLength of them). Mutations run in a tight loop on a seeded PRNG; fast-check drives the
// structure-aware cases and the policy over decoded requests. WISP_FUZZ_SCALE=10 for a longer
// run; a failure prints its seed and the packet as hex.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fuzzCases, fuzzSeed, FUZZ_SCALE, mutated, prng } from "../support/fuzz.ts";
import { decodeTftp, encodeTftp, tftpLength, type TftpPacket } from "../../daemon/tftp/codec.ts";
import { DEFAULT_NEGOTIATION, negotiate, readRequest } from "../../daemon/tftp/policy.ts";

const SCALE = FUZZ_SCALE;
const SEED = fuzzSeed(0x7f7f);
const MUTATIONS = 200_000 * SCALE;
const RANDOM = 40_000 * SCALE;
const STRUCTURED = 20_000 * SCALE;

const out = new Uint8Array(1 << 17);
const text = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

/** Decodes `buf` and checks the invariants; returns whether it was accepted, or the failure. */
function check(buf: Uint8Array): boolean | string {
  let r;
  try {
    r = decodeTftp(buf);
  } catch (e) {
    return `decode threw ${e}`;
  }
  if (!r.ok) return false;
  const p = r.value;
  const n = tftpLength(p);
  if (n !== buf.length) return `tftpLength ${n}, packet had ${buf.length} bytes`;
  const written = encodeTftp(p, out, 3);
  if (written !== n) return `encoded ${written} bytes, tftpLength said ${n}`;
  for (let i = 0; i < n; i++) if (out[3 + i] !== buf[i]) return `re-encoded byte ${i} differs`;
  if (p.op === 1 || p.op === 2) {
    // The policy takes whatever the codec accepts without throwing.
    const req = readRequest(p);
    if (req.ok) negotiate(req.value.options, 1 << 20, DEFAULT_NEGOTIATION);
  }
  return true;
}

const SEEDS: Uint8Array[] = [
  text("\0\x01undionly.kpxe\0octet\0blksize\x001432\0tsize\x000\0"),
  text("\0\x01aa:bb:cc:dd:ee:ff/ipxe.efi\0octet\0blksize\x0065464\0windowsize\x0064\0timeout\x001\0tsize\x000\0"),
  text("\0\x01../../etc/passwd\0netascii\0"),
  text("\0\x02upload\0octet\0"),
  text("\0\x03\0\x01hello world"),
  text("\0\x04\xff\xff"),
  text("\0\x05\0\x01file not found\0"),
  text("\0\x06blksize\x008192\0windowsize\x008\0"),
];

describe("tftp codec fuzz", () => {
  test(`${MUTATIONS} mutated packets (bit flips, byte writes, NULs, truncation, extension)`, () => {
    const started = performance.now();
    const next = prng(SEED);
    const mutate = (work: Uint8Array, len: number): number => {
      const kind = next() % 7;
      if (kind <= 1) work[next() % len]! ^= 1 << (next() % 8); // bit flip
      else if (kind === 2) work[next() % len] = next() & 255; // byte write
      else if (kind === 3) work[next() % len] = 0; // a NUL where a string was: framing changes
      else if (kind === 4) len = next() % (len + 1); // truncation
      else if (kind === 5) work[next() % 2] = next() % 8; // opcode rewrite, mostly valid ones
      else if (len < work.length - 64) {
        const extra = next() % 64; // extension: random bytes, or strings
        for (let k = 0; k < extra; k++) work[len + k] = next() & 1 ? next() & 255 : next() % 4 === 0 ? 0 : 97 + (next() % 26);
        len += extra;
      }
      return len;
    };
    const accepted = fuzzCases(MUTATIONS, SEED, mutated(SEEDS, new Uint8Array(4096), next, mutate), check);
    console.log(`fuzz: ${MUTATIONS} mutated packets, ${accepted} accepted and re-encoded, ${(performance.now() - started).toFixed(0)} ms`);
    expect(accepted).toBeGreaterThan(MUTATIONS / 10);
  }, 120_000);

  test(`${RANDOM} random packets (random bytes after a random opcode)`, () => {
    const next = prng(SEED + 1);
    const work = new Uint8Array(1600);
    const random = (iter: number) => {
      const len = next() % (iter % 2 === 0 ? 64 : 1600);
      for (let k = 0; k < len; k++) work[k] = next() & 255;
      if (len >= 2) work[0] = 0, work[1] = next() % 8;
      return work.subarray(0, len);
    };
    const accepted = fuzzCases(RANDOM, SEED + 1, random, check);
    console.log(`fuzz: ${RANDOM} random packets, ${accepted} accepted`);
  }, 120_000);

  test(`${STRUCTURED} structure-aware packets (fast-check): encode at any offset, decode to the same values`, () => {
    fc.assert(
      fc.property(packetArbitrary, fc.nat(300), (p, offset) => {
        const n = tftpLength(p);
        const buf = new Uint8Array(offset + n);
        expect(encodeTftp(p, buf, offset)).toBe(n);
        const r = decodeTftp(buf.subarray(offset));
        if (!r.ok) throw new Error(r.error);
        expect(r.value).toEqual(p);
      }),
      { numRuns: STRUCTURED, seed: SEED },
    );
  }, 120_000);

  test(`${STRUCTURED} arbitrary byte arrays (fast-check) never throw`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(check(bytes)).not.toBeTypeOf("string");
      }),
      { numRuns: STRUCTURED, seed: SEED },
    );
  }, 120_000);
});

// Latin1 strings without NUL: what the codec can carry.
const str = (min: number, max: number) =>
  fc.array(fc.integer({ min: 1, max: 255 }), { minLength: min, maxLength: max }).map((a) => String.fromCharCode(...a));
const u16 = fc.integer({ min: 0, max: 0xffff });
const options = fc.array(fc.tuple(str(1, 12), str(0, 12)), { maxLength: 6 });

const packetArbitrary: fc.Arbitrary<TftpPacket> = fc.oneof(
  fc.record({ op: fc.constantFrom(1 as const, 2 as const), filename: str(0, 80), mode: str(0, 10), options }),
  fc.record({ op: fc.constant(3 as const), block: u16, data: fc.uint8Array({ maxLength: 1500 }) }),
  fc.record({ op: fc.constant(4 as const), block: u16 }),
  fc.record({ op: fc.constant(5 as const), code: u16, message: str(0, 80) }),
  fc.record({ op: fc.constant(6 as const), options }),
);
