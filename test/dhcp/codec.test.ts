import { describe, expect, test } from "bun:test";
import { decodeDhcp, dhcpLength, dhcpPacket, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { setOption } from "../../daemon/dhcp/options.ts";
import { HAND_BUILT, assemble, ipxeRequest, opt, overloadedOffer, pxeRomDiscover, str } from "./hand-built.ts";
import { packetDifference } from "./packet-equal.ts";

const MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const header = { op: 1, xid: 1, chaddr: MAC };

function decoded(bytes: Uint8Array): DhcpPacket {
  const r = decodeDhcp(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function encoded(p: DhcpPacket): Uint8Array {
  const out = new Uint8Array(dhcpLength(p));
  encodeDhcp(p, out, 0);
  return out;
}

function errorOf(bytes: Uint8Array): string {
  const r = decodeDhcp(bytes);
  return r.ok ? "(accepted)" : r.error;
}

describe("decodeDhcp", () => {
  test("reads the header fields of a PXE ROM DISCOVER", () => {
    const p = decoded(pxeRomDiscover);
    expect([p.op, p.htype, p.hlen, p.hops, p.xid, p.secs, p.flags]).toEqual([1, 1, 6, 0, 0x2a3b4c5d, 4, 0x8000]);
    expect([p.ciaddr, p.yiaddr, p.siaddr, p.giaddr]).toEqual([0, 0, 0, 0]);
    expect(Array.from(p.chaddr)).toEqual(MAC);
    expect(p.sname.length).toBe(0);
    expect(p.file.length).toBe(0);
    expect([...p.options.keys()]).toEqual([53, 57, 55, 97, 94, 93, 60]);
  });

  test("keeps views into the received buffer, not copies", () => {
    const p = decoded(ipxeRequest);
    for (const view of [p.chaddr, p.sname, p.file, p.options.get(60)!, p.options.get(175)!]) {
      expect(view.buffer).toBe(ipxeRequest.buffer);
    }
  });

  test("cuts sname and file at their first NUL, keeps a full field without one", () => {
    const sname = [...str("tftp.example"), 0, ...str("junk")];
    const file = Array(128).fill(0x41);
    const p = decoded(assemble({ ...header, sname, file }, [255]));
    expect(new TextDecoder().decode(p.sname)).toBe("tftp.example");
    expect(p.file.length).toBe(128);
  });

  test("chaddr is hlen bytes", () => {
    expect(decoded(assemble({ ...header, hlen: 4 }, [255])).chaddr.length).toBe(4);
    expect(decoded(assemble({ ...header, hlen: 16, chaddr: Array(16).fill(7) }, [255])).chaddr.length).toBe(16);
  });

  test("skips pads, stops at end, tolerates a missing end and ignores bytes after it", () => {
    const p = decoded(assemble(header, [0, 0, ...opt(53, 1), 0, 255, 53, 9, 9, 9]));
    expect([...p.options]).toEqual([[53, Uint8Array.of(1)]]);
    expect(decoded(assemble(header, opt(53, 3))).options.get(53)).toEqual(Uint8Array.of(3));
  });

  test("concatenates repeated instances of an option (RFC 3396)", () => {
    const p = decoded(assemble(header, [...opt(43, 1, 2), ...opt(53, 1), ...opt(43, 3), ...opt(43), 255]));
    expect(p.options.get(43)).toEqual(Uint8Array.of(1, 2, 3));
    expect([...p.options.keys()]).toEqual([43, 53]);
  });

  test("reads options overloaded into file and sname, in that order, and consumes option 52", () => {
    const p = decoded(overloadedOffer);
    expect(p.options.has(52)).toBe(false);
    expect([...p.options.keys()]).toEqual([53, 54, 51, 1, 3, 119, 67, 15, 42]);
    expect(p.file.length).toBe(0);
    expect(p.sname.length).toBe(0);
    // 119 spans the options and file fields; its pointer in the second part points into the first.
    expect(Array.from(p.options.get(119)!.subarray(13))).toEqual([3, ...str("lab"), 0xc0, 0]);
  });

  test("overload 1 reads only file; sname keeps its name", () => {
    const p = decoded(
      assemble({ ...header, sname: str("srv"), file: [...opt(67, ...str("x.efi")), 255] }, [...opt(52, 1), 255]),
    );
    expect(new TextDecoder().decode(p.sname)).toBe("srv");
    expect(p.file.length).toBe(0);
    expect(new TextDecoder().decode(p.options.get(67)!)).toBe("x.efi");
  });
});

describe("decodeDhcp errors name the byte and field", () => {
  const full = pxeRomDiscover;
  const cases: Array<[string, Uint8Array, string]> = [
    ["empty", new Uint8Array(0), "truncated at byte 0: op"],
    ["cut in xid", full.subarray(0, 6), "truncated at byte 4: xid"],
    ["cut in sname", full.subarray(0, 100), "truncated at byte 44: sname"],
    ["no cookie", full.subarray(0, 236), "truncated at byte 236: magic cookie"],
    ["bad op", assemble({ ...header, op: 3 }, [255]), "op at byte 0: 3, expected 1 or 2"],
    ["hlen > 16", assemble({ ...header, hlen: 17 }, [255]), "hlen at byte 2: 17, expected at most 16"],
    ["bad cookie", Uint8Array.from([...full.subarray(0, 239), 0x64, 255]), "magic cookie at byte 236: 0x63825364, expected 0x63825363"],
    ["53 length 2", assemble(header, [0, 0, 0, ...opt(53, 1, 1), 255]), "option 53 at byte 243: length 2, expected 1"],
    ["option past the end", assemble(header, [...opt(53, 1), 12, 200, 65, 65]), "option 12 at byte 243: length 200 runs past the end of the options field at byte 247"],
    ["no length byte", assemble(header, [...opt(53, 1), 12]), "option 12 at byte 243: truncated before its length (options field ends at byte 244)"],
    ["ips not a multiple of 4", assemble(header, opt(3, 10, 0, 0, 1, 2)), "option 3 at byte 240: length 5, expected a multiple of 4"],
    ["guid length", assemble(header, opt(97, 0, 1, 2)), "option 97 at byte 240: length 3, expected 17"],
    ["split option checked whole", assemble(header, [...opt(51, 0, 0), ...opt(53, 1), ...opt(51, 0, 0, 1)]), "option 51 at byte 240: length 5, expected 4"],
    ["52 length", assemble(header, [...opt(53, 1), ...opt(52, 1, 1)]), "option 52 at byte 243: length 2, expected 1"],
    ["52 value", assemble(header, opt(52, 4)), "option 52 at byte 240: value 4, expected 1, 2 or 3"],
    ["52 inside file", assemble({ ...header, file: opt(52, 2) }, opt(52, 1)), "option 52 at byte 108: only allowed in the options field"],
    ["overrun in file", assemble({ ...header, file: [...Array(120).fill(0), 12, 20] }, opt(52, 1)), "option 12 at byte 228: length 20 runs past the end of the file field at byte 236"],
    ["overloaded option checked", assemble({ ...header, sname: opt(53, 1, 2) }, opt(52, 2)), "option 53 at byte 44: length 2, expected 1"],
    ["bad 119 pointer", assemble(header, opt(119, 0xc0, 0)), "option 119 at byte 240: name at +0: pointer at +0 to +0 does not point back"],
    ["bad 121 prefix", assemble(header, opt(121, 33, 1, 1, 1, 1, 1, 1, 1, 1)), "option 121 at byte 240: route at +0: prefix length 33, expected 0-32"],
    ["82 sub-option overrun", assemble(header, opt(82, 1, 9, 65)), "option 82 at byte 240: sub-option 1 at +0: length 9, only 1 left"],
  ];
  for (const [name, bytes, message] of cases) test(name, () => expect(errorOf(bytes)).toBe(message));
});

describe("encodeDhcp", () => {
  test("round trips every hand-built packet", () => {
    for (const bytes of Object.values(HAND_BUILT)) {
      const p = decoded(bytes);
      expect(packetDifference(p, decoded(encoded(p)))).toBeUndefined();
    }
  });

  test("re-encodes a non-overloaded packet byte for byte (up to padding)", () => {
    const p = decoded(ipxeRequest);
    const padding = Math.max(0, 300 - ipxeRequest.length);
    expect(Array.from(encoded(p))).toEqual(Array.from(ipxeRequest).concat(Array(padding).fill(0)));
  });

  test("dhcpLength equals the bytes written", () => {
    for (const bytes of Object.values(HAND_BUILT)) {
      const p = decoded(bytes);
      const out = new Uint8Array(2000);
      expect(encodeDhcp(p, out, 0)).toBe(dhcpLength(p));
    }
    const big = dhcpPacket({ chaddr: Uint8Array.from(MAC) });
    big.options.set(43, new Uint8Array(600));
    expect(dhcpLength(big)).toBe(240 + 600 + 3 * 2 + 1);
    expect(encodeDhcp(big, new Uint8Array(2000), 0)).toBe(dhcpLength(big));
  });

  test("encodes at a non-zero offset without touching the bytes around it", () => {
    const p = decoded(pxeRomDiscover);
    const atZero = encoded(p);
    const out = new Uint8Array(atZero.length + 50).fill(0xee);
    const n = encodeDhcp(p, out, 33);
    expect(n).toBe(atZero.length);
    expect(Array.from(out.subarray(33, 33 + n))).toEqual(Array.from(atZero));
    expect(out.subarray(0, 33).every((b) => b === 0xee)).toBe(true);
    expect(out.subarray(33 + n).every((b) => b === 0xee)).toBe(true);
  });

  test("pads to the 300-byte BOOTP minimum (RFC 1542) and ends with option 255", () => {
    const p = dhcpPacket({ op: 2, xid: 7, chaddr: Uint8Array.from(MAC) });
    setOption(p, 53, 2);
    const bytes = encoded(p);
    expect(bytes.length).toBe(300);
    expect(Array.from(bytes.subarray(236, 244))).toEqual([99, 130, 83, 99, 53, 1, 2, 255]);
    expect(bytes.subarray(244).every((b) => b === 0)).toBe(true);
  });

  test("writes option 53 first whatever the map order", () => {
    const p = dhcpPacket({ chaddr: Uint8Array.from(MAC) });
    setOption(p, 54, 0x0a000001);
    setOption(p, 53, 5);
    expect(Array.from(encoded(p).subarray(240, 243))).toEqual([53, 1, 5]);
  });

  test("splits values longer than 255 bytes into consecutive instances (RFC 3396)", () => {
    const p = dhcpPacket({ chaddr: Uint8Array.from(MAC) });
    const long = Uint8Array.from({ length: 600 }, (_, i) => i & 255);
    p.options.set(43, long);
    const bytes = encoded(p);
    expect([bytes[240], bytes[241], bytes[240 + 257], bytes[241 + 257], bytes[240 + 514], bytes[241 + 514]]).toEqual([43, 255, 43, 255, 43, 90]);
    expect(decoded(bytes).options.get(43)).toEqual(long);
  });

  test("truncates over-long chaddr, sname and file to their fields; skips pad and end codes", () => {
    const p = dhcpPacket({ chaddr: new Uint8Array(20).fill(1), sname: new Uint8Array(70).fill(0x61), file: new Uint8Array(10).fill(0x62) });
    p.options.set(0, Uint8Array.of(1));
    p.options.set(255, Uint8Array.of(1));
    const back = decoded(encoded(p));
    expect(back.sname.length).toBe(64);
    expect(back.file.length).toBe(10);
    expect(back.options.size).toBe(0);
  });

  test("throws RangeError (a caller bug) when the buffer is too small", () => {
    const p = decoded(pxeRomDiscover);
    expect(() => encodeDhcp(p, new Uint8Array(299), 0)).toThrow(RangeError);
    expect(() => encodeDhcp(p, new Uint8Array(400), 200)).toThrow(RangeError);
  });
});
