/** peerIpv4 reads addresses in place: it must agree with parseIpv4 (daemon/wire) on every string. */
import { describe, expect, test } from "bun:test";
import { peerIpv4 } from "../../daemon/http/client-address.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";

const reference = (s: string): number | undefined => {
  const r = parseIpv4(s.startsWith("::ffff:") ? s.slice(7) : s);
  return r.ok ? r.value : undefined;
};

describe("peerIpv4", () => {
  test("known cases", () => {
    for (const [s, want] of [
      ["127.0.0.1", 0x7f000001], ["0.0.0.0", 0], ["255.255.255.255", 0xffffffff], ["::ffff:10.0.0.5", 0x0a000005],
      ["256.0.0.1", undefined], ["01.0.0.1", undefined], ["1.2.3", undefined], ["1.2.3.4.", undefined], ["1.2.3.4.5", undefined],
      ["1..2.3", undefined], ["", undefined], ["::1", undefined], ["1.2.3.4 ", undefined], ["1.2.3.0004", undefined], ["a.b.c.d", undefined],
    ] as const) {
      expect([s, peerIpv4(s)]).toEqual([s, want]);
      expect([s, peerIpv4(s)]).toEqual([s, reference(s)]);
    }
  });

  test("agrees with parseIpv4 on 200,000 random strings near the dotted-quad shape", () => {
    const alphabet = "0123456789..:f x";
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let i = 0; i < 200_000; i++) {
      let s: string;
      if (rand(2) === 0) s = Array.from({ length: 4 }, () => String(rand(300)).padStart(rand(3) + 1, rand(4) === 0 ? "0" : "")).join(".");
      else s = Array.from({ length: rand(18) }, () => alphabet[rand(alphabet.length)]).join("");
      if (rand(8) === 0) s = `::ffff:${s}`;
      if (peerIpv4(s) !== reference(s)) throw new Error(`disagree on ${JSON.stringify(s)}: ${peerIpv4(s)} vs ${reference(s)}`);
    }
  });
});
