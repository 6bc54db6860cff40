/**
 * What a netbooting client is told to load: an iPXE script URL, or an iPXE binary over TFTP or
 * HTTP, after the per-hardware overrides. Pure; policy.ts puts the answer into the reply.
 */
import { formatIpv4, parseIpv4 } from "../wire/address.ts";
import { BOOT_BINARIES, type BootBinary, type DhcpClassification } from "./classify.ts";
import type { DhcpHost, DhcpPolicyConfig } from "./types.ts";

/** HTTP path prefix of iPXE scripts: `<prefix>/<mac>/auto.ipxe`, or `<prefix>/auto.ipxe` for any machine. */
export const SCRIPT_PATH = "/ipxe/script";
/** HTTP path prefix of iPXE binaries (UEFI HTTP boot): `<prefix>/<file>`. */
export const BINARY_PATH = "/ipxe/binary";
/** The script's file name, as Tinkerbell's smee serves it. */
export const SCRIPT_NAME = "auto.ipxe";

/** Option 60 a reply carries back: the PXE spec's `PXEClient`, or `HTTPClient` for UEFI HTTP boot. */
export type ReplyVendorClass = "PXEClient" | "HTTPClient";

/** The boot part of a reply. */
export interface BootReply {
  /** The `file` field and option 67: a binary name (TFTP) or an http URL. */
  file: string;
  /** siaddr, the next server. */
  nextServer: number;
  /** Option 66 (and a proxy's `sname`): only for TFTP, where a firmware fetches `file` itself. */
  tftpServer: string | undefined;
  /** Option 60 to send; `PXEClient` also means option 43 (PXE discovery control). */
  vendorClass: ReplyVendorClass | undefined;
}

/**
 * Option 93 architecture to assume from a Hardware's `arch` (and `uefi`) when the client sends
 * neither option 93 nor an Arch in its vendor class. ARM has no BIOS boot, so it is always UEFI.
 */
export const HARDWARE_ARCHES = {
  x86_64: { bios: 0, uefi: 7 },
  amd64: { bios: 0, uefi: 7 },
  x86: { bios: 0, uefi: 6 },
  i386: { bios: 0, uefi: 6 },
  i686: { bios: 0, uefi: 6 },
  aarch64: { bios: 11, uefi: 11 },
  arm64: { bios: 11, uefi: 11 },
  arm: { bios: 10, uefi: 10 },
} as const satisfies Record<string, { bios: number; uefi: number }>;

/** `http://<publicIp>:<httpPort>`, the base of every URL a reply carries. */
export function httpBase(config: Pick<DhcpPolicyConfig, "publicIp" | "httpPort">): string {
  return `http://${formatIpv4(config.publicIp)}:${config.httpPort}`;
}

/**
 * The iPXE script URL: with the MAC in the path (as smee's default `-dhcp-http-ipxe-script-prepend-mac`),
 * so the HTTP server knows the machine without trusting the source address; without a MAC for
 * machines Wisp does not know (auto-proxy).
 */
export function scriptUrl(config: Pick<DhcpPolicyConfig, "publicIp" | "httpPort">, mac?: string): string {
  return mac === undefined
    ? `${httpBase(config)}${SCRIPT_PATH}/${SCRIPT_NAME}`
    : `${httpBase(config)}${SCRIPT_PATH}/${mac}/${SCRIPT_NAME}`;
}

/** The URL of an iPXE binary for UEFI HTTP boot. */
export function binaryUrl(config: Pick<DhcpPolicyConfig, "publicIp" | "httpPort">, file: string): string {
  return `${httpBase(config)}${BINARY_PATH}/${file}`;
}

/**
 * The boot part of a reply to `cls`, or undefined when there is nothing to boot: not a netboot
 * client, Hardware with `allowPXE: false`, or no binary for the architecture. `host` is
 * undefined only for machines Wisp does not know (auto-proxy), which get the generic script.
 */
export function chooseBoot(cls: DhcpClassification, host: DhcpHost | undefined, config: DhcpPolicyConfig): BootReply | undefined {
  if (host !== undefined && !host.allowPXE) return undefined;
  const vendorClass: ReplyVendorClass | undefined =
    cls.client === "http" ? "HTTPClient" : cls.client === "pxe" || cls.userClass !== undefined ? "PXEClient" : undefined;
  const boot = cls.boot;
  if (boot.kind === "script") {
    const file = host?.ipxe?.url ?? scriptUrl(config, host === undefined ? undefined : cls.mac);
    return { file, nextServer: config.publicIp, tftpServer: undefined, vendorClass };
  }
  // classify picks by the client's architecture; without one, the Hardware's arch says more
  // than classify's BIOS default (and rescues HTTP boot, which classify cannot place).
  const fromHardware = cls.arch === undefined && host !== undefined ? hardwareBinary(host) : undefined;
  if (boot.kind === "none" && (fromHardware === undefined || cls.client === undefined)) return undefined;
  const transport = boot.kind === "binary" ? boot.transport : cls.client === "http" ? "http" : "tftp";
  const binary = host?.ipxe?.binary ?? fromHardware?.file ?? (boot.kind === "binary" ? boot.file : undefined);
  if (binary === undefined) return undefined;
  if (transport === "http") {
    return { file: binaryUrl(config, binary), nextServer: config.publicIp, tftpServer: undefined, vendorClass };
  }
  return tftpBoot(host, config, binary, vendorClass);
}

// Hardware `tftp_server_name` and `boot_file_name` replace the TFTP server (66, siaddr when it
// is an address) and the file (67) that a PXE ROM loads; iPXE and HTTP boot keep their URLs.
function tftpBoot(host: DhcpHost | undefined, config: DhcpPolicyConfig, binary: string, vendorClass: ReplyVendorClass | undefined): BootReply {
  const server = host?.tftpServerName;
  const serverIp = server === undefined ? undefined : parseIpv4(server);
  return {
    file: host?.bootFileName ?? binary,
    nextServer: serverIp?.ok ? serverIp.value : config.publicIp,
    tftpServer: server ?? formatIpv4(config.publicIp),
    vendorClass,
  };
}

/** The binary for a Hardware's `arch`/`uefi`, or undefined when it names no known architecture. */
export function hardwareBinary(host: Pick<DhcpHost, "arch" | "uefi">): BootBinary | undefined {
  const arches = host.arch === undefined ? undefined : (HARDWARE_ARCHES as Record<string, { bios: number; uefi: number }>)[host.arch.toLowerCase()];
  if (arches === undefined) return undefined;
  return (BOOT_BINARIES as Record<number, BootBinary>)[host.uefi ? arches.uefi : arches.bios];
}
