import { describe, expect, test } from "bun:test";
import {
  formatIpv4, formatMac, ipv4FromBytes, ipv4ToBytes, normalizeMac, parseIpv4, parseMac,
} from "../../daemon/wire/address.ts";

describe("IPv4", () => {
  test("parses and formats dotted quads", () => {
    expect(parseIpv4("10.0.0.1")).toEqual({ ok: true, value: 0x0a000001 });
    expect(parseIpv4("255.255.255.255")).toEqual({ ok: true, value: 0xffffffff });
    expect(parseIpv4("0.0.0.0")).toEqual({ ok: true, value: 0 });
    expect(formatIpv4(0xc0a80101)).toBe("192.168.1.1");
    expect(formatIpv4(0xffffffff)).toBe("255.255.255.255");
  });

  test("refuses what is not a dotted quad", () => {
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3", " 1.2.3.4"]) {
      const r = parseIpv4(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain("invalid IPv4 address");
    }
  });

  test("converts to and from network-order bytes", () => {
    expect(Array.from(ipv4ToBytes(0xc0a80a01))).toEqual([192, 168, 10, 1]);
    const out = new Uint8Array(6);
    ipv4ToBytes(0x01020304, out, 2);
    expect(Array.from(out)).toEqual([0, 0, 1, 2, 3, 4]);
    expect(ipv4FromBytes(out, 2)).toBe(0x01020304);
    expect(ipv4FromBytes(Uint8Array.of(255, 255, 255, 255))).toBe(0xffffffff);
    expect(ipv4FromBytes(Uint8Array.of(1, 2, 3))).toBe(0);
  });
});

describe("MAC", () => {
  test("formats lower-case colon form", () => {
    expect(formatMac(Uint8Array.of(0x52, 0x54, 0x00, 0xab, 0xcd, 0xef))).toBe("52:54:00:ab:cd:ef");
    expect(formatMac(new Uint8Array(0))).toBe("");
  });

  test("parses any case and separator, and normalises", () => {
    for (const text of ["52:54:00:AB:cd:Ef", "52-54-00-ab-cd-ef", "525400ABCDEF"]) {
      const r = parseMac(text);
      expect(r.ok && Array.from(r.value)).toEqual([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
      expect(normalizeMac(text)).toEqual({ ok: true, value: "52:54:00:ab:cd:ef" });
    }
  });

  test("refuses malformed text", () => {
    for (const bad of ["", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52:54-00:ab:cd:ef", "zz:54:00:ab:cd:ef", "5254.00ab.cdef"]) {
      expect(parseMac(bad).ok).toBe(false);
    }
  });
});
