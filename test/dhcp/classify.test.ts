import { describe, expect, test } from "bun:test";
import { BOOT_BINARIES, classifyDhcp, userClasses, type BootChoice } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { assemble, ipxeRequest, opt, pxeRomDiscover, relayedDiscover, str } from "./hand-built.ts";

const MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

function request(options: number[], op = 1): DhcpPacket {
  const r = decodeDhcp(assemble({ op, xid: 1, chaddr: MAC }, [...opt(53, 1), ...options, 255]));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const arch = (a: number) => opt(93, a >> 8, a & 255);
const vendor = (text: string) => opt(60, ...str(text));
const user = (text: string) => opt(77, ...str(text));
const tftp = (file: string, reason = "pxe rom"): BootChoice => ({ kind: "binary", file, transport: "tftp", reason });
const http = (file: string): BootChoice => ({ kind: "binary", file, transport: "http", reason: "uefi http boot" });

describe("classifyDhcp boot choice", () => {
  const cases: Array<[string, number[], BootChoice, number?]> = [
    ["BIOS PXE ROM", [...arch(0), ...vendor("PXEClient:Arch:00000:UNDI:002001")], tftp("undionly.kpxe")],
    ["x86 UEFI PXE", [...arch(6), ...vendor("PXEClient:Arch:00006:UNDI:003016")], tftp("ipxe.efi")],
    ["x64 UEFI PXE (7)", [...arch(7), ...vendor("PXEClient:Arch:00007:UNDI:003016")], tftp("ipxe.efi")],
    ["x64 UEFI PXE (9)", [...arch(9), ...vendor("PXEClient:Arch:00009:UNDI:003016")], tftp("ipxe.efi")],
    ["ARM 32 UEFI PXE", [...arch(10), ...vendor("PXEClient:Arch:00010:UNDI:003016")], tftp("snp-arm64.efi")],
    ["ARM 64 UEFI PXE", [...arch(11), ...vendor("PXEClient:Arch:00011:UNDI:003016")], tftp("snp-arm64.efi")],
    ["x86 UEFI HTTP boot", [...arch(15), ...vendor("HTTPClient:Arch:00015:UNDI:003001")], http("ipxe.efi")],
    ["x64 UEFI HTTP boot", [...arch(16), ...vendor("HTTPClient:Arch:00016:UNDI:003001")], http("ipxe.efi")],
    ["HTTPClient with a PXE arch number", [...arch(7), ...vendor("HTTPClient")], http("ipxe.efi")],
    ["HTTP arch from a PXEClient: table says http", [...arch(16), ...vendor("PXEClient")], { kind: "binary", file: "ipxe.efi", transport: "http", reason: "pxe rom" }],
    ["arch from the vendor class when 93 is absent", vendor("PXEClient:Arch:00007:UNDI:003016"), tftp("ipxe.efi")],
    ["bare PXEClient without 93 is BIOS", vendor("PXEClient"), tftp("undionly.kpxe")],
    ["unsupported arch", [...arch(12), ...vendor("PXEClient:Arch:00012:UNDI:003016")], { kind: "none", reason: "no boot binary for this architecture" }],
    ["HTTPClient without arch", vendor("HTTPClient"), { kind: "none", reason: "no boot binary for this architecture" }],
    ["stock iPXE", [...arch(7), ...vendor("PXEClient:Arch:00007:UNDI:003010"), ...user("iPXE")], { kind: "script", reason: "stock ipxe" }],
    ["stock iPXE, RFC 3004 user class", [...arch(0), ...opt(77, 4, ...str("iPXE"))], { kind: "script", reason: "stock ipxe" }],
    ["our iPXE", [...arch(7), ...vendor("PXEClient"), ...user("Wisp")], { kind: "script", reason: "wisp ipxe" }],
    ["our iPXE, RFC 3004 list with both", [...vendor("PXEClient"), ...opt(77, 4, ...str("iPXE"), 4, ...str("Wisp"))], { kind: "script", reason: "wisp ipxe" }],
    ["our class beats HTTPClient", [...arch(16), ...vendor("HTTPClient"), ...user("Wisp")], { kind: "script", reason: "wisp ipxe" }],
    ["HTTPClient beats stock iPXE", [...arch(16), ...vendor("HTTPClient"), ...user("iPXE")], http("ipxe.efi")],
    ["dhclient", [...vendor("dhclient 4.4"), ...opt(12, ...str("host"))], { kind: "none", reason: "not a netboot client" }],
    ["a reply is not classified for boot", [...arch(0), ...vendor("PXEClient")], { kind: "none", reason: "not a request" }, 2],
  ];
  for (const [name, options, boot, op] of cases) {
    test(name, () => expect(classifyDhcp(request(options, op)).boot).toEqual(boot));
  }

  test("a configured Wisp user class", () => {
    const p = request([...vendor("PXEClient"), ...user("Acme-Boot")]);
    expect(classifyDhcp(p, { wispUserClass: "Acme-Boot" }).userClass).toBe("wisp");
    expect(classifyDhcp(p).userClass).toBeUndefined();
  });

  test("every boot binary is for an architecture with a registry name", () => {
    for (const code of Object.keys(BOOT_BINARIES)) {
      const c = classifyDhcp(request([...arch(Number(code)), ...vendor("PXEClient")]));
      expect(c.archName).toBeDefined();
      expect(c.boot.kind).toBe("binary");
    }
  });
});

describe("classifyDhcp fields", () => {
  test("PXE ROM DISCOVER", () => {
    const r = decodeDhcp(pxeRomDiscover);
    if (!r.ok) throw new Error(r.error);
    expect(classifyDhcp(r.value)).toEqual({
      messageType: 1,
      mac: "52:54:00:12:34:56",
      vendorClass: "PXEClient:Arch:00000:UNDI:002001",
      client: "pxe",
      userClass: undefined,
      arch: 0,
      archName: "x86 BIOS",
      ndi: { type: 1, major: 2, minor: 1 },
      guid: { type: 0, guid: "4c4c4544-0038-5810-8033-b4c04f31324a" },
      relayed: false,
      boot: tftp("undionly.kpxe"),
    });
  });

  test("relayed and iPXE", () => {
    const relayed = decodeDhcp(relayedDiscover);
    const ipxe = decodeDhcp(ipxeRequest);
    if (!relayed.ok || !ipxe.ok) throw new Error("fixture did not decode");
    expect(classifyDhcp(relayed.value).relayed).toBe(true);
    expect(classifyDhcp(relayed.value).mac).toBe("0c:c4:7a:01:02:03");
    expect(classifyDhcp(ipxe.value)).toMatchObject({ messageType: 3, userClass: "ipxe", arch: 7, relayed: false });
  });

  test("plain BOOTP has no message type", () => {
    const r = decodeDhcp(assemble({ op: 1, xid: 1, chaddr: MAC }, [255]));
    expect(r.ok && classifyDhcp(r.value).messageType).toBeUndefined();
  });
});

describe("userClasses", () => {
  test("bare text and RFC 3004 lists", () => {
    expect(userClasses(Uint8Array.from(str("iPXE")))).toEqual(["iPXE"]);
    expect(userClasses(Uint8Array.from([4, ...str("iPXE"), 4, ...str("Wisp")]))).toEqual(["iPXE", "Wisp"]);
    expect(userClasses(Uint8Array.from([2, ...str("ab"), 9]))).toEqual(["\u0002ab\t"]);
    expect(userClasses(new Uint8Array(0))).toEqual([""]);
  });
});
