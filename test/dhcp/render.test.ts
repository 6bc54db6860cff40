import { describe, expect, test } from "bun:test";
import { dhcpPacket } from "../../daemon/dhcp/codec.ts";
import { setOption } from "../../daemon/dhcp/options.ts";
import { renderDhcp, renderOption } from "../../daemon/dhcp/render.ts";

describe("renderOption", () => {
  test("typed values, unknown codes and values invalid for their type", () => {
    expect(renderOption(53, Uint8Array.of(5))).toBe("option 53 message-type: 5 ACK");
    expect(renderOption(53, Uint8Array.of(99))).toBe("option 53 message-type: 99 unknown");
    expect(renderOption(53, Uint8Array.of(1, 2))).toBe("option 53 message-type: invalid (length 2, expected 1): 01 02");
    expect(renderOption(250, Uint8Array.of(0, 255))).toBe("option 250: 00 ff");
    expect(renderOption(250, Uint8Array.of(65))).toBe('option 250: "A"');
    expect(renderOption(43, new Uint8Array(0))).toBe("option 43 vendor-specific: (empty)");
    expect(renderOption(121, Uint8Array.of(24, 192, 168, 1, 10, 0, 0, 1))).toBe("option 121 classless-static-route: 192.168.1.0/24 via 10.0.0.1");
    expect(renderOption(21, Uint8Array.of(10, 0, 0, 0, 255, 0, 0, 0))).toBe("option 21 policy-filter: 10.0.0.0 255.0.0.0");
    expect(renderOption(19, Uint8Array.of(1))).toBe("option 19 ip-forwarding: true");
    expect(renderOption(2, Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toBe("option 2 time-offset: -1");
  });

  test("a built reply renders field by field", () => {
    const p = dhcpPacket({ xid: 0xabc, yiaddr: 0x0a000017, chaddr: Uint8Array.of(1, 2, 3, 4, 5, 6), file: new TextEncoder().encode("ipxe.efi") });
    setOption(p, 53, 5);
    setOption(p, 6, [0x01010101, 0x08080808]);
    setOption(p, 119, ["example.com"]);
    expect(renderDhcp(p).split("\n").slice(4)).toEqual([
      "xid: 0x00000abc",
      "secs: 0",
      "flags: 0x0000",
      "ciaddr: 0.0.0.0",
      "yiaddr: 10.0.0.23",
      "siaddr: 0.0.0.0",
      "giaddr: 0.0.0.0",
      "chaddr: 01:02:03:04:05:06",
      'sname: ""',
      'file: "ipxe.efi"',
      "option 53 message-type: 5 ACK",
      "option 6 domain-name-server: 1.1.1.1, 8.8.8.8",
      "option 119 domain-search: example.com",
    ]);
  });
});
