// Decoding never throws, and every accepted message re-encodes and decodes to the same values.
// Mutations run in a tight loop on a seeded PRNG; fast-check drives the structure-aware cases.
// WISP_FUZZ_SCALE=10 for a longer run; a failure prints its seed and the input as hex.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fuzzCases, fuzzSeed, FUZZ_SCALE, mutated, prng } from "../support/fuzz.ts";
import { decodeSyslog, formatSyslog, type SdElement, type SyslogMessage } from "../../daemon/syslog/codec.ts";
import { lineFromDatagram } from "../../daemon/syslog/line.ts";

const SCALE = FUZZ_SCALE;
const SEED = fuzzSeed(0x5eed);
const MUTATIONS = 200_000 * SCALE;
const RANDOM = 40_000 * SCALE;
const STRUCTURED = 20_000 * SCALE;
const ANY_BYTES = 20_000 * SCALE;

const encoder = new TextEncoder();
const when = new Date(0);

/** Decodes `buf` and checks the invariants; returns whether it was accepted, or the failure. */
function check(buf: Uint8Array): boolean | string {
  let r;
  try {
    r = decodeSyslog(buf);
    lineFromDatagram(buf, "192.0.2.1", when);
  } catch (e) {
    return `decode threw ${e}`;
  }
  if (!r.ok) return typeof r.error === "string" && r.error.startsWith("byte ") ? false : `bad error ${JSON.stringify(r.error)}`;
  const text = formatSyslog(r.value);
  const again = decodeSyslog(encoder.encode(text));
  if (!again.ok) return `re-decode of ${JSON.stringify(text)} failed: ${again.error}`;
  const a = JSON.stringify(r.value);
  const b = JSON.stringify(again.value);
  return a === b ? true : `re-decoded message differs:\n  ${a}\n  ${b}`;
}

const SEEDS = [
  `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \ufeff'su root' failed for lonvick on /dev/pts/8`,
  "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
  '<11>1 2026-11-22T05:20:01.510772+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"][zoo@123 tiger="hungry"] hi there',
  '<13>1 - - - - - [x@1 a="q\\"u" b="b\\\\s" c="br\\]" d="o\\n"] ünïcode',
  "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
  "<13>Nov 22 05:20:01 vm tag3[8715]: msg3164",
  "<6>ipxe: Waiting for link-up on net0... ok",
  "<3>nuc1.lab.example ipxe: Could not boot: Connection timed out",
  "<30>Jan  2 15:04:05 tink-worker[1]: starting",
  "<30> 2024-01-02T15:04:05+01:00 hook tink-worker[1]: hi",
  "<6>Jan  1 00:00:05 hook kernel: [    0.000000] Linux version 6.6.0",
  "<13>hello world\r\n",
  "<191>x",
  "garbage",
].map((s) => encoder.encode(s));

// Bytes the decoders branch on.
const INTERESTING = [...encoder.encode(' <>[]"\\=-:1T.Z+ 0\n\r'), 0x00, 0xef, 0xbb, 0xbf, 0xff, 0x7f];

describe("syslog codec fuzz", () => {
  test(`${MUTATIONS} mutated messages (bit flips, byte writes, delimiters, truncation, insertion, deletion, repetition)`, () => {
    const started = performance.now();
    const next = prng(SEED);
    const mutate = (work: Uint8Array, len: number): number => {
      const kind = next() % 8;
      const at = next() % len;
      if (kind === 0) work[at]! ^= 1 << (next() % 8);
      else if (kind === 1) work[at] = next() & 255;
      else if (kind <= 3) work[at] = INTERESTING[next() % INTERESTING.length]!;
      else if (kind === 4) len = next() % (len + 1);
      else if (kind === 5 && len < work.length - 1) {
        work.copyWithin(at + 1, at, len);
        work[at] = INTERESTING[next() % INTERESTING.length]!;
        len++;
      } else if (kind === 6) {
        const n = Math.min(len - at, 1 + (next() % 8));
        work.copyWithin(at, at + n, len);
        len -= n;
      } else if (kind === 7) {
        const n = Math.min(len - at, 1 + (next() % 16));
        if (len + n <= work.length) {
          work.copyWithin(at + n, at, len);
          len += n;
        }
      }
      return len;
    };
    const accepted = fuzzCases(MUTATIONS, SEED, mutated(SEEDS, new Uint8Array(4096), next, mutate), check);
    const ms = performance.now() - started;
    console.log(`fuzz: ${MUTATIONS} mutated messages, ${accepted} accepted and round-tripped, ${ms.toFixed(0)} ms`);
    expect(accepted).toBeGreaterThan(MUTATIONS / 4);
  }, 120_000);

  test(`${RANDOM} random messages (random bytes, some behind a valid PRI and version)`, () => {
    const next = prng(SEED + 1);
    const work = new Uint8Array(1024);
    const prefixes = ["", "<13>", "<13>1 ", "<13>1 - - - - - [", "<13>Jan  1 00:00:00 "].map((s) => encoder.encode(s));
    const random = (iter: number) => {
      const prefix = prefixes[iter % prefixes.length]!;
      work.set(prefix);
      const len = prefix.length + (next() % (work.length - prefix.length));
      // Half printable ASCII (the header alphabet), half any byte.
      for (let k = prefix.length; k < len; k++) work[k] = iter & 1 ? 0x20 + (next() % 95) : next() & 255;
      return work.subarray(0, len);
    };
    const accepted = fuzzCases(RANDOM, SEED + 1, random, check);
    console.log(`fuzz: ${RANDOM} random messages, ${accepted} accepted`);
  }, 120_000);

  test(`${STRUCTURED} structure-aware RFC 5424 messages (fast-check): encode, decode to the same values`, () => {
    fc.assert(
      fc.property(message5424(), (m) => {
        const r = decodeSyslog(encoder.encode(formatSyslog(m)));
        if (!r.ok) throw new Error(`${r.error}: ${formatSyslog(m)}`);
        expect(r.value).toEqual(m);
      }),
      { numRuns: STRUCTURED, seed: SEED },
    );
  }, 120_000);

  test(`${STRUCTURED} structure-aware BSD messages (fast-check): the parts come back`, () => {
    fc.assert(
      fc.property(messageBsd(), (m) => {
        const r = decodeSyslog(encoder.encode(formatSyslog(m)));
        if (!r.ok) throw new Error(`${r.error}: ${formatSyslog(m)}`);
        expect(r.value).toEqual(m);
      }),
      { numRuns: STRUCTURED, seed: SEED },
    );
  }, 120_000);

  test(`${ANY_BYTES} arbitrary byte arrays and strings (fast-check) never throw`, () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ unit: "binary", maxLength: 300 }).map((s) => encoder.encode("<14>" + s))), (bytes) => {
        expect(check(bytes)).not.toBeTypeOf("string");
      }),
      { numRuns: ANY_BYTES, seed: SEED },
    );
  }, 120_000);

  test("adversarial 60 KB inputs decode in linear time", () => {
    const n = 60_000;
    const inputs = [
      "<13>" + "\n".repeat(n) + "x",
      "<13>" + "a".repeat(n) + ": x",
      "<13>" + "a ".repeat(n / 2),
      "<13>Jan  1 00:00:00 " + "[".repeat(n),
      "<13>1 - - - - - [a" + ' b="\\\\"'.repeat(n / 8) + "]",
      "<13>1 - - - - - " + "[a]".repeat(n / 3),
      "<13>1 - - - - - [a b=\"" + "\\".repeat(n),
      "<13>" + "1".repeat(n),
      "<13>" + "Jan  1 ".repeat(n / 7),
    ];
    for (const text of inputs) {
      const bytes = encoder.encode(text);
      // Quadratic work on 60 KB takes seconds every time; the best of three keeps one
      // collection pause of the shared test process from counting.
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        check(bytes);
        best = Math.min(best, performance.now() - started);
      }
      expect(best).toBeLessThan(100);
    }
  });
});

// Generators of valid fields, as decodeSyslog returns them.
const printable = (min: number, max: number) => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: min, maxLength: max });
const nonNil = (a: fc.Arbitrary<string>) => a.filter((s) => s !== "-");
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const sdName = printable(1, 32).filter((s) => !/[= \]"]/.test(s));
// Any text: the codec trims trailing CR, LF and NUL, so generated messages do not end with one.
const text = (max: number) => fc.string({ unit: "binary", maxLength: max }).filter((s) => !/[\r\n\0]$/.test(s));
const rfc3339 = fc
  .record({
    date: fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2999-12-31T23:59:59Z"), noInvalidDate: true }),
    digits: fc.integer({ min: 0, max: 9 }),
    offset: fc.constantFrom("Z", "+00:00", "-07:00", "+05:30", "+23:59"),
  })
  .map(({ date, digits, offset }) => date.toISOString().slice(0, 19) + (digits ? "." + "123456789".slice(0, digits) : "") + offset);

function message5424(): fc.Arbitrary<SyslogMessage> {
  const sd: fc.Arbitrary<SdElement[]> = fc.array(fc.record({ id: sdName, params: fc.array(fc.record({ name: sdName, value: text(20) }), { maxLength: 4 }) }), { maxLength: 3 });
  return fc
    .record({
      facility: fc.integer({ min: 0, max: 23 }),
      severity: fc.integer({ min: 0, max: 7 }),
      timestamp: optional(rfc3339),
      hostname: optional(nonNil(printable(1, 255))),
      app: optional(nonNil(printable(1, 48))),
      procId: optional(nonNil(printable(1, 128))),
      msgId: optional(nonNil(printable(1, 32))),
      structuredData: sd,
      message: text(200),
    })
    .map((r) => {
      const m: SyslogMessage = { format: "rfc5424", facility: r.facility, severity: r.severity, structuredData: r.structuredData, message: r.message };
      for (const k of ["timestamp", "hostname", "app", "procId", "msgId"] as const) if (r[k] !== undefined) m[k] = r[k];
      return m;
    });
}

// A BSD message in the shapes senders use: a timestamp (then a hostname) or none, a tag or none.
function messageBsd(): fc.Arbitrary<SyslogMessage> {
  const word = (max: number) => fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-._/"), minLength: 1, maxLength: max });
  const bsdTime = fc
    .record({ month: fc.constantFrom("Jan", "Feb", "Mar", "Oct", "Dec"), day: fc.integer({ min: 1, max: 31 }), h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }) })
    .map(({ month, day, h, m, s }) => `${month} ${String(day).padStart(2, " ")} ${[h, m, s].map((n) => String(n).padStart(2, "0")).join(":")}`);
  return fc
    .record({
      facility: fc.integer({ min: 0, max: 23 }),
      severity: fc.integer({ min: 0, max: 7 }),
      timestamp: optional(fc.oneof(bsdTime, rfc3339)),
      hostname: optional(word(30)),
      tag: optional(fc.record({ app: word(32), procId: optional(fc.nat().map(String)) })),
      // A message whose first word could be read as a tag or hostname is another message.
      message: text(120).filter((s) => !/^\S+(:| )/.test(s)),
    })
    .map((r) => {
      const m: SyslogMessage = { format: "rfc3164", facility: r.facility, severity: r.severity, structuredData: [], message: r.message };
      if (r.timestamp !== undefined) m.timestamp = r.timestamp;
      // Without a timestamp a hostname is only read before a tag (iPXE's form).
      if (r.hostname !== undefined && (r.timestamp !== undefined || r.tag !== undefined) && !(r.timestamp === undefined && r.hostname === "1")) m.hostname = r.hostname;
      if (r.tag !== undefined) {
        m.app = r.tag.app;
        if (r.tag.procId !== undefined) m.procId = r.tag.procId;
      }
      return m;
    });
}
