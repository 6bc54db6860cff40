import { describe, expect, test } from "bun:test";
import { decodeDhcp, dhcpPacket } from "../../daemon/dhcp/codec.ts";
import { decodeDomains, encodeDomains } from "../../daemon/dhcp/domain-search.ts";
import {
  OPTIONS, checkOption, encodeOption, getOption, setOption, type OptionSpec,
} from "../../daemon/dhcp/options.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";
import { ipxeRequest, relayedDiscover, str } from "./hand-built.ts";

const ip = (text: string): number => {
  const r = parseIpv4(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const packet = () => dhcpPacket();

describe("option table", () => {
  test("names are unique kebab-case and codes are bytes", () => {
    const entries = Object.entries(OPTIONS as Record<number, OptionSpec>);
    const names = entries.map(([, s]) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [code, spec] of entries) {
      expect(Number(code)).toBeGreaterThanOrEqual(0);
      expect(Number(code)).toBeLessThanOrEqual(255);
      expect(spec.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });

  test("covers RFC 2132 and the options COMPAT section 2 names", () => {
    const rfc2132 = [...Array(50).keys(), 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 65, 66, 67, ...Array.from({ length: 9 }, (_, i) => 68 + i), 255];
    const compat = [1, 3, 6, 12, 15, 28, 42, 43, 50, 51, 53, 54, 55, 57, 58, 59, 60, 61, 66, 67, 77, 82, 93, 94, 97, 118, 119, 121];
    for (const code of [...rfc2132, ...compat]) expect(code in OPTIONS).toBe(true);
  });
});

describe("getOption decodes on demand, typed by the table", () => {
  test("values of a decoded iPXE request", () => {
    const r = decodeDhcp(ipxeRequest);
    if (!r.ok) throw new Error(r.error);
    const p = r.value;
    expect(getOption(p, 53)).toBe(3);
    expect(getOption(p, 57)).toBe(1472);
    expect(getOption(p, 93)).toEqual([7]);
    expect(getOption(p, 94)).toEqual({ type: 1, major: 3, minor: 10 });
    expect(getOption(p, 97)).toEqual({ type: 0, guid: "4c4c4544-0038-5810-8033-b4c04f31324a" });
    expect(getOption(p, 60)).toBe("PXEClient:Arch:00007:UNDI:003010");
    expect(getOption(p, 77)).toBe("iPXE");
    expect(getOption(p, 50)).toBe(ip("10.0.0.23"));
    expect(getOption(p, 55)?.slice(0, 3)).toEqual([1, 3, 6]);
    expect(getOption(p, 175)?.map((s) => s.code)).toEqual([0x13, 0x14, 0x15, 0x17, 0x24, 0xeb, 0xb1]);
    expect(getOption(p, 61)).toEqual(Uint8Array.of(1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56));
    expect(getOption(p, 1)).toBeUndefined();
  });

  test("option 82 sub-options", () => {
    const r = decodeDhcp(relayedDiscover);
    if (!r.ok) throw new Error(r.error);
    const subs = getOption(r.value, 82) ?? [];
    expect(subs.map((s) => s.code)).toEqual([1, 2]);
    expect(new TextDecoder().decode(subs[0]!.data)).toBe("ge-0/0/7.0");
  });

  test("unknown codes come back as raw bytes; invalid hand-set values as undefined", () => {
    const p = packet();
    p.options.set(250, Uint8Array.of(1, 2));
    p.options.set(53, Uint8Array.of(1, 2));
    expect(getOption(p, 250)).toEqual(Uint8Array.of(1, 2));
    expect(getOption(p, 53)).toBeUndefined();
    expect(checkOption(53, Uint8Array.of(1, 2))).toBe("length 2, expected 1");
    expect(checkOption(250, Uint8Array.of(1, 2))).toBeUndefined();
  });
});

describe("setOption encodes by type and getOption reads it back", () => {
  const cases: Array<[number, unknown, number[]]> = [
    [1, ip("255.255.255.0"), [255, 255, 255, 0]],
    [2, -3600, [0xff, 0xff, 0xf1, 0xf0]],
    [3, [ip("10.0.0.1"), ip("10.0.0.2")], [10, 0, 0, 1, 10, 0, 0, 2]],
    [6, [], []],
    [12, "node-07", str("node-07")],
    [13, 0x1234, [0x12, 0x34]],
    [19, true, [1]],
    [21, [[ip("10.0.0.0"), ip("255.0.0.0")]], [10, 0, 0, 0, 255, 0, 0, 0]],
    [25, [68, 296], [0, 68, 1, 40]],
    [51, 86400, [0, 1, 0x51, 0x80]],
    [53, 5, [5]],
    [55, [1, 3, 6], [1, 3, 6]],
    [61, Uint8Array.of(1, 2), [1, 2]],
    [82, [{ code: 1, data: Uint8Array.of(65) }, { code: 5, data: Uint8Array.of(10, 0, 0, 0) }], [1, 1, 65, 5, 4, 10, 0, 0, 0]],
    [93, [7, 16], [0, 7, 0, 16]],
    [94, { type: 1, major: 3, minor: 16 }, [1, 3, 16]],
    [97, { type: 0, guid: "00112233-4455-6677-8899-aabbccddeeff" }, [0, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]],
    [118, ip("192.168.7.0"), [192, 168, 7, 0]],
    [175, [{ code: 1, data: Uint8Array.of(1) }], [1, 1, 1]],
  ];
  for (const [code, value, bytes] of cases) {
    test(`option ${code}`, () => {
      const p = packet();
      const r = setOption(p, code, value as never);
      expect(r.ok && Array.from(r.value)).toEqual(bytes);
      expect(getOption(p, code) as unknown).toEqual(value);
    });
  }

  test("refuses values that do not fit the type", () => {
    expect(encodeOption(53, 256)).toEqual({ ok: false, error: "option 53 (message-type): 256 is not a 8-bit unsigned integer" });
    expect(encodeOption(51, -1).ok).toBe(false);
    expect(encodeOption(2, 2 ** 31).ok).toBe(false);
    expect(encodeOption(3, [1.5]).ok).toBe(false);
    expect(encodeOption(97, { type: 0, guid: "not-a-guid" }).ok).toBe(false);
    expect(encodeOption(121, [{ destination: 0, prefix: 33, router: 0 }]).ok).toBe(false);
    expect(encodeOption(119, ["a..b"]).ok).toBe(false);
    expect(encodeOption(119, [`${"x".repeat(64)}.com`]).ok).toBe(false);
    expect(encodeOption(0 as number, Uint8Array.of()).ok).toBe(false);
    expect(encodeOption(255 as number, Uint8Array.of()).ok).toBe(false);
    expect(encodeOption(250, "text" as never).ok).toBe(false);
  });
});

describe("option 119 domain search (RFC 3397)", () => {
  test("the RFC 3397 section 3 example, compressed", () => {
    const bytes = [3, ...str("eng"), 5, ...str("apple"), 3, ...str("com"), 0, 9, ...str("marketing"), 0xc0, 4];
    const r = encodeDomains(["eng.apple.com.", "marketing.apple.com."]);
    expect(r.ok && Array.from(r.value)).toEqual(bytes);
    expect(decodeDomains(Uint8Array.from(bytes))).toEqual(["eng.apple.com", "marketing.apple.com"]);
  });

  test("a whole repeated name is one pointer; suffix matching ignores case", () => {
    const r = encodeDomains(["example.com", "Example.COM", "lab.example.com"]);
    expect(r.ok && Array.from(r.value)).toEqual([7, ...str("example"), 3, ...str("com"), 0, 0xc0, 0, 3, ...str("lab"), 0xc0, 0]);
  });

  test("rejects loops, forward pointers, long labels and overruns", () => {
    const check = (bytes: number[]) => checkOption(119, Uint8Array.from(bytes));
    expect(check([1, 97, 0xc0, 0])).toBe("name at +0: pointer at +2 to +0 does not point back");
    expect(check([1, 97, 0, 0xc0, 5, 1, 98, 0])).toBe("name at +3: pointer at +3 to +5 does not point back");
    expect(check([64, ...Array(64).fill(97), 0])).toBe("name at +0: label length 64 at +0, expected at most 63");
    expect(check([3, 97])).toBe("name at +0: label at +0 overruns the option");
    expect(check([1, 97])).toBe("name at +0: truncated at +2");
    expect(check([1, 97, 0, 0xc0])).toBe("name at +3: truncated pointer at +3");
    const long = Array.from({ length: 5 }, () => [63, ...Array(63).fill(97)]).flat();
    expect(check([...long, 0])).toBe("name at +0: longer than 255 bytes");
    expect(check([])).toBeUndefined();
  });
});

describe("option 121 classless static routes (RFC 3442)", () => {
  test("destination is only its significant octets", () => {
    const routes = [
      { destination: 0, prefix: 0, router: ip("10.0.0.254") },
      { destination: ip("10.0.0.0"), prefix: 8, router: ip("10.0.0.1") },
      { destination: ip("10.17.0.0"), prefix: 16, router: ip("10.0.0.1") },
      { destination: ip("10.229.0.128"), prefix: 25, router: ip("10.0.0.1") },
      { destination: ip("10.198.122.47"), prefix: 32, router: ip("10.0.0.1") },
    ];
    const p = packet();
    const r = setOption(p, 121, routes);
    expect(r.ok && Array.from(r.value)).toEqual([
      0, 10, 0, 0, 254,
      8, 10, 10, 0, 0, 1,
      16, 10, 17, 10, 0, 0, 1,
      25, 10, 229, 0, 128, 10, 0, 0, 1,
      32, 10, 198, 122, 47, 10, 0, 0, 1,
    ]);
    expect(getOption(p, 121)).toEqual(routes);
    expect(checkOption(121, Uint8Array.of(24, 10, 0, 0, 10, 0, 0))).toBe("route at +0: truncated");
  });
});
