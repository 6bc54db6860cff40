// The server's reused, lazy decoder (daemon/dhcp/decoder.ts) against the eager decodeDhcp: the
// same packets, option order, classification and errors, on the real captures, the hand-built
// packets and fuzzed input; and the fast path itself accepts every packet decodeDhcp accepts
// (`refused` counts only malformed ones), one decoder reused throughout as the server reuses it.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { classifyDhcp } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, dhcpPacket, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { DhcpDecoder, ReceivedOptions } from "../../daemon/dhcp/decoder.ts";
import type { Result } from "../../daemon/lib/result.ts";
import { fuzzCases, fuzzSeed, FUZZ_SCALE, mutated, prng } from "../support/fuzz.ts";
import { assemble, HAND_BUILT, opt, str } from "./hand-built.ts";
import { packetDifference } from "./packet-equal.ts";

const DIR = join(import.meta.dir, "../fixtures/dhcp");
const header = { op: 1, xid: 7, chaddr: [2, 0, 0, 0, 0, 1] };

function fixtureBytes(text: string): Uint8Array {
  const hexPart = /^== hex\n([\s\S]*?)(?=^== |(?![\s\S]))/m.exec(text)?.[1] ?? "";
  const digits = hexPart
    .split("\n")
    .map((l) => l.replace(/^\s*(0x)?[0-9a-fA-F]+:\s/, "").replace(/\s+/g, ""))
    .join("");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const FIXTURES: Record<string, Uint8Array> = Object.fromEntries(
  readdirSync(DIR)
    .filter((f) => f.endsWith(".txt"))
    .map((f) => [f.replace(/\.txt$/, ""), fixtureBytes(readFileSync(join(DIR, f), "utf8"))]),
);

/** Where the lazy result differs from the eager one (values, option order, error), or undefined. */
function difference(lazy: Result<DhcpPacket>, eager: Result<DhcpPacket>): string | undefined {
  if (lazy.ok !== eager.ok) return `lazy ok=${lazy.ok}, eager ok=${eager.ok}`;
  if (!lazy.ok || !eager.ok) return lazy.ok || eager.ok || lazy.error === eager.error ? undefined : `error "${(lazy as { error: string }).error}" != "${(eager as { error: string }).error}"`;
  const diff = packetDifference(lazy.value, eager.value);
  if (diff !== undefined) return diff;
  const order = [...lazy.value.options.keys()].join();
  if (order !== [...eager.value.options.keys()].join()) return `option order ${order} != ${[...eager.value.options.keys()].join()}`;
  return undefined;
}

describe("DhcpDecoder (lazy, reused) against decodeDhcp", () => {
  const cases = { ...FIXTURES, ...HAND_BUILT };

  test("the real captures and hand-built packets decode and classify the same", () => {
    const decoder = new DhcpDecoder();
    expect(Object.keys(FIXTURES).filter((n) => n.startsWith("capture-")).length).toBe(10);
    let accepted = 0;
    for (const [name, bytes] of Object.entries(cases)) {
      const eager = decodeDhcp(bytes);
      const refusedBefore = decoder.refused;
      const lazy = decoder.decode(bytes);
      expect(`${name}: ${difference(lazy, eager) ?? "same"}`).toBe(`${name}: same`);
      if (!eager.ok) continue;
      accepted++;
      expect(`${name}: refused ${decoder.refused - refusedBefore}`).toBe(`${name}: refused 0`);
      expect(classifyDhcp((lazy as { value: DhcpPacket }).value)).toEqual(classifyDhcp(eager.value));
    }
    expect(accepted).toBeGreaterThanOrEqual(14);
  });

  test("one decoder reused: a packet with fewer options leaves nothing of the one before", () => {
    const decoder = new DhcpDecoder();
    const many = decoder.decode(HAND_BUILT["pxe-rom-discover"]!);
    expect(many.ok).toBe(true);
    const few = assemble(header, opt(53, 3));
    const r = decoder.decode(few);
    if (!r.ok) throw new Error(r.error);
    expect([...r.value.options]).toEqual([[53, Uint8Array.of(3)]]);
    expect(r.value.options.has(97)).toBe(false);
    expect(r.value.options.get(60)).toBeUndefined();
    expect(r.value.options.size).toBe(1);
  });

  test("a repeated option is concatenated (RFC 3396) and option 52's areas are read, as decodeDhcp does", () => {
    const decoder = new DhcpDecoder();
    const repeated = assemble(header, [...opt(43, 1, 2), ...opt(53, 1), ...opt(43, 3)]);
    expect(difference(decoder.decode(repeated), decodeDhcp(repeated))).toBeUndefined();
    expect((decoder.decode(repeated) as { value: DhcpPacket }).value.options.get(43)).toEqual(Uint8Array.of(1, 2, 3));
    const overloaded = assemble({ ...header, file: [...opt(67, ...str("x.efi")), 255] }, [...opt(52, 1), ...opt(53, 1)]);
    expect(difference(decoder.decode(overloaded), decodeDhcp(overloaded))).toBeUndefined();
    expect(decoder.refused).toBe(0);
  });

  test("malformed packets: decodeDhcp's error, counted as refused, and the next good packet decodes", () => {
    const decoder = new DhcpDecoder();
    const bad = [
      new Uint8Array(10),
      assemble(header, [...opt(53, 1), 12, 200, 65]),
      assemble(header, [...opt(53, 1, 1)]),
      assemble(header, [...opt(52, 1, 1), ...opt(53, 1)]),
      assemble(header, [52, 0, ...opt(53, 1)]),
      assemble({ ...header, file: opt(52, 2) }, [...opt(52, 1), ...opt(53, 1)]),
    ];
    for (const bytes of bad) {
      const eager = decodeDhcp(bytes);
      expect(eager.ok).toBe(false);
      expect(difference(decoder.decode(bytes), eager)).toBeUndefined();
    }
    expect(decoder.refused).toBe(bad.length);
    const good = assemble(header, opt(53, 1));
    expect(decoder.decode(good).ok).toBe(true);
    expect(decoder.refused).toBe(bad.length);
  });

  test("set and delete on received options turn them into a map of the same values", () => {
    const options = new ReceivedOptions();
    const bytes = Uint8Array.of(53, 1, 1, 60, 2, 65, 66);
    options.reset(bytes);
    options.add(53, 2, 1);
    options.add(60, 5, 2);
    options.delete(53);
    options.set(12, Uint8Array.of(120));
    expect([...options]).toEqual([
      [60, Uint8Array.of(65, 66)],
      [12, Uint8Array.of(120)],
    ]);
    options.reset(bytes);
    expect(options.size).toBe(0);
    options.add(53, 2, 1);
    for (const code of [-1, 256, 53.5, Number.NaN]) {
      expect(options.get(code)).toBeUndefined();
      expect(options.has(code)).toBe(false);
    }
  });

  const MUTATIONS = 200_000 * FUZZ_SCALE;
  test(`${MUTATIONS} fuzzed packets: the same result as decodeDhcp, and every accepted packet taken by the fast path`, () => {
    const seed = fuzzSeed(0xdec0de);
    const next = prng(seed);
    const decoder = new DhcpDecoder();
    const reply = dhcpPacket({ op: 2, xid: 9, chaddr: Uint8Array.of(2, 0, 0, 0, 0, 9), file: new TextEncoder().encode("ipxe.efi") });
    reply.options.set(53, Uint8Array.of(2));
    reply.options.set(43, Uint8Array.from({ length: 300 }, (_, i) => i));
    reply.options.set(82, Uint8Array.of(1, 2, 65, 66, 2, 0));
    const long = new Uint8Array(dhcpLength(reply));
    encodeDhcp(reply, long, 0);
    const pool = [...Object.values(cases), long];
    const mutate = (work: Uint8Array, len: number): number => {
      const kind = next() % 6;
      if (kind === 0) work[next() % len]! ^= 1 << (next() % 8);
      else if (kind <= 2 && len > 240) work[240 + (next() % (len - 240))] = next() & 1 ? next() & 255 : [0, 52, 53, 255, 82, 119][next() % 6]!;
      else if (kind === 3 && len > 240) work[240 + (next() % (len - 240))] = next() % 6;
      else if (kind === 4) len = next() % (len + 1);
      else if (len > 108) work[44 + (next() % 192)] = next() & 255;
      return len;
    };
    const same = (bytes: Uint8Array): boolean | string => {
      const eager = decodeDhcp(bytes);
      const refusedBefore = decoder.refused;
      const lazy = decoder.decode(bytes);
      const diff = difference(lazy, eager) ?? (eager.ok && decoder.refused !== refusedBefore ? "the fast path refused a packet decodeDhcp accepts" : undefined);
      return diff ?? eager.ok;
    };
    const accepted = fuzzCases(MUTATIONS, seed, mutated(pool, new Uint8Array(2048), next, mutate), same);
    console.log(`decoder fuzz: ${MUTATIONS} packets, ${accepted} accepted, ${decoder.refused} refused (malformed)`);
    expect(accepted).toBeGreaterThan(MUTATIONS / 10);
    expect(decoder.refused).toBeGreaterThan(MUTATIONS / 10);
  }, 120_000);
});
