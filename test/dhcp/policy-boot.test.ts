// Boot paths of the policy (COMPAT section 2): PXE ROM -> iPXE binary over TFTP, stock iPXE and
// our iPXE -> script URL, UEFI HTTP boot -> binary URL; the Hardware's arch when the client sends
// none; per-hardware overrides; allowPXE false and disableDhcp.
import { describe, expect, test } from "bun:test";
import type { DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { getOption } from "../../daemon/dhcp/options.ts";
import { arch, decideFor, hosts, iface, ip, MAC, pxeRom, replyOf, requestedIp, serverId, text, type, user, vendor } from "./policy-support.ts";

const SCRIPT = `http://10.0.0.5:8080/ipxe/script/${MAC}/auto.ipxe`;
const DISCOVER = 1;
const REQUEST = 3;

/** What a test checks of a reply's boot part. */
interface Boot {
  file: string;
  siaddr: string;
  /** Option 66; undefined = absent. */
  tftp?: string;
  /** Option 60; undefined = absent. */
  vendorClass?: string;
  /** Option 43 present. */
  pxe: boolean;
}

function bootOf(r: DhcpPacket): Boot {
  const boot: Boot = { file: text(r.file), siaddr: `${r.siaddr >>> 24}.${(r.siaddr >>> 16) & 255}.${(r.siaddr >>> 8) & 255}.${r.siaddr & 255}`, pxe: r.options.has(43) };
  const tftp = getOption(r, 66);
  if (tftp !== undefined) boot.tftp = tftp;
  const vc = getOption(r, 60);
  if (vc !== undefined) boot.vendorClass = vc;
  if (r.options.has(67)) expect(getOption(r, 67)).toBe(boot.file);
  return boot;
}

const tftp = (file: string, server = "10.0.0.5", siaddr = server): Boot => ({ file, siaddr, tftp: server, vendorClass: "PXEClient", pxe: true });
const script = (file = SCRIPT): Boot => ({ file, siaddr: "10.0.0.5", vendorClass: "PXEClient", pxe: true });
const http = (file: string): Boot => ({ file: `http://10.0.0.5:8080/ipxe/binary/${file}`, siaddr: "10.0.0.5", vendorClass: "HTTPClient", pxe: false });
const NONE: Boot = { file: "", siaddr: "0.0.0.0", pxe: false };

type Case = [name: string, options: number[], boot: Boot, interfacePatch?: Parameters<typeof iface>[0]];

describe("boot paths (reservation mode, DISCOVER and REQUEST alike)", () => {
  const bios = { dhcp: { uefi: false } };
  const cases: Case[] = [
    ["BIOS PXE ROM -> undionly.kpxe over TFTP", pxeRom(0), tftp("undionly.kpxe")],
    ["x64 UEFI PXE -> ipxe.efi over TFTP", pxeRom(7), tftp("ipxe.efi")],
    ["ARM64 UEFI PXE -> snp-arm64.efi over TFTP", pxeRom(11), tftp("snp-arm64.efi")],
    ["stock iPXE -> the script URL with the MAC", [...pxeRom(7), ...user("iPXE")], script()],
    ["our iPXE -> the script URL (ends the chainload loop)", [...pxeRom(7), ...user("Wisp")], script()],
    ["our iPXE without a vendor class", user("Wisp"), script()],
    ["UEFI HTTP boot -> the binary over HTTP, 60 echoed", [...arch(16), ...vendor("HTTPClient:Arch:00016:UNDI:003001")], http("ipxe.efi")],
    ["no option 93: the Hardware's arch (x86_64 UEFI)", vendor("PXEClient"), tftp("ipxe.efi")],
    ["no option 93: the Hardware's arch (x86_64 BIOS)", vendor("PXEClient"), tftp("undionly.kpxe"), bios],
    ["no option 93: the Hardware's arch (aarch64)", vendor("PXEClient"), tftp("snp-arm64.efi"), { dhcp: { arch: "aarch64", uefi: false } }],
    ["no option 93 and no arch in the Hardware: BIOS", vendor("PXEClient"), tftp("undionly.kpxe"), { dhcp: { arch: undefined } }],
    ["HTTP boot without an arch: the Hardware's", vendor("HTTPClient"), http("ipxe.efi")],
    ["HTTP boot without any arch: no boot file", vendor("HTTPClient"), NONE, { dhcp: { arch: undefined } }],
    ["option 93 wins over the Hardware's arch", pxeRom(0), tftp("undionly.kpxe")],
    ["unsupported architecture: lease only", pxeRom(12), NONE],
    ["not a netboot client: lease only", vendor("dhclient 4.4"), NONE],
    ["override: ipxe.binary over TFTP", pxeRom(7), tftp("custom.efi"), { netboot: { ipxe: { binary: "custom.efi" } } }],
    ["override: ipxe.binary over HTTP", [...arch(16), ...vendor("HTTPClient")], http("custom.efi"), { netboot: { ipxe: { binary: "custom.efi" } } }],
    ["override: ipxe.url for stock iPXE", [...pxeRom(7), ...user("iPXE")], script("https://boot.example/x.ipxe"), { netboot: { ipxe: { url: "https://boot.example/x.ipxe" } } }],
    ["override: ipxe.url for our iPXE", user("Wisp"), script("https://boot.example/x.ipxe"), { netboot: { ipxe: { url: "https://boot.example/x.ipxe" } } }],
    ["override: tftp_server_name and boot_file_name (an address)", pxeRom(0), tftp("pxelinux.0", "10.9.9.9"), { dhcp: { tftp_server_name: "10.9.9.9", boot_file_name: "pxelinux.0" } }],
    ["override: tftp_server_name as a name keeps siaddr", pxeRom(0), tftp("undionly.kpxe", "tftp.lab", "10.0.0.5"), { dhcp: { tftp_server_name: "tftp.lab" } }],
    ["override: boot_file_name does not touch iPXE's script", [...pxeRom(7), ...user("iPXE")], script(), { dhcp: { boot_file_name: "pxelinux.0" } }],
    ["allowPXE false: lease, no boot file", pxeRom(0), NONE, { netboot: { allowPXE: false } }],
    ["allowPXE false: our iPXE gets no script either", [...pxeRom(7), ...user("Wisp")], NONE, { netboot: { allowPXE: false } }],
  ];
  for (const [name, options, boot, patch] of cases) {
    test(name, () => {
      const list = hosts(iface(patch));
      const offer = replyOf(decideFor([...type(DISCOVER), ...options], { hosts: list }));
      expect(offer.reply.yiaddr).toBe(ip("10.0.0.23"));
      expect(bootOf(offer.reply)).toEqual(boot);
      const ack = replyOf(decideFor([...type(REQUEST), ...options, ...serverId("10.0.0.1"), ...requestedIp("10.0.0.23")], { hosts: list }));
      expect(bootOf(ack.reply)).toEqual(boot);
    });
  }

  test("disableDhcp: silence, even for a PXE ROM", () => {
    expect(decideFor([...type(DISCOVER), ...pxeRom()], { hosts: hosts(iface({ disableDhcp: true })) })).toMatchObject({ kind: "drop", reason: "disabled" });
  });

  test("option 97 is echoed to PXE clients", () => {
    const r = replyOf(decideFor([...type(DISCOVER), ...pxeRom()])).reply;
    expect(getOption(r, 97)?.guid).toBe("4c4c4544-0038-5810-8033-b4c04f31324a");
    const plain = replyOf(decideFor([...type(DISCOVER), ...vendor("dhclient")])).reply;
    expect(plain.options.has(97)).toBe(false);
  });

  test("a URL longer than the file field goes in option 67 only", () => {
    const url = `https://boot.example/${"x".repeat(140)}.ipxe`;
    const r = replyOf(decideFor([...type(DISCOVER), ...user("Wisp")], { hosts: hosts(iface({ netboot: { ipxe: { url } } })) })).reply;
    expect(r.file.length).toBe(0);
    expect(getOption(r, 67)).toBe(url);
  });

  test("URLs use --public-ip and --http-port; option 54 the receiving address", () => {
    const r = replyOf(decideFor([...type(DISCOVER), ...user("Wisp")], { config: { publicIp: ip("192.0.2.7"), httpPort: 80 } })).reply;
    expect(text(r.file)).toBe(`http://192.0.2.7:80/ipxe/script/${MAC}/auto.ipxe`);
    expect(r.siaddr).toBe(ip("192.0.2.7"));
    expect(getOption(r, 54)).toBe(ip("10.0.0.1"));
  });
});
