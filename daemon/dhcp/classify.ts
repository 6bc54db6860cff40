import { formatMac } from "../wire/address.ts";
import { archName } from "./arch.ts";
import { BOOTREQUEST, type DhcpPacket } from "./codec.ts";
import { getOption, type ClientGuid, type ClientNdi } from "./options.ts";

/** The user class Wisp's own iPXE script sets, so its second DHCP round ends the chainload loop. */
export const DEFAULT_WISP_USER_CLASS = "Wisp";

/** What classification needs to know about this installation. */
export interface ClassifyConfig {
  /** The user class (option 77) our own iPXE sends; see DEFAULT_WISP_USER_CLASS. */
  wispUserClass: string;
}

/** An iPXE binary for an architecture; `http` when the firmware fetches it over HTTP itself. */
export interface BootBinary {
  readonly file: string;
  readonly http?: true;
}

/** Boot binary by option 93 architecture (COMPAT section 2, as Tinkerbell's smee). */
export const BOOT_BINARIES = {
  0: { file: "undionly.kpxe" }, // x86 BIOS: iPXE on top of the ROM's UNDI driver
  6: { file: "ipxe.efi" }, // x86 UEFI
  7: { file: "ipxe.efi" }, // x64 UEFI
  9: { file: "ipxe.efi" }, // x64 UEFI as RFC 4578 numbered it
  10: { file: "snp-arm64.efi" }, // ARM UEFI
  11: { file: "snp-arm64.efi" }, // ARM 64-bit UEFI
  15: { file: "ipxe.efi", http: true }, // x86 UEFI HTTP boot
  16: { file: "ipxe.efi", http: true }, // x64 UEFI HTTP boot
} as const satisfies Record<number, BootBinary>;

/** What to offer a client: an iPXE script URL, an iPXE binary, or nothing (and why). */
export type BootChoice =
  | { kind: "script"; reason: string }
  | { kind: "binary"; file: string; transport: "tftp" | "http"; reason: string }
  | { kind: "none"; reason: string };

/** What a request says about the client, for policy and for logs. */
export interface DhcpClassification {
  /** Option 53, undefined for plain BOOTP. */
  messageType: number | undefined;
  /** chaddr in lower-case colon form. */
  mac: string;
  /** Option 60 as text. */
  vendorClass: string | undefined;
  /** "pxe" for a PXEClient vendor class, "http" for HTTPClient (UEFI HTTP boot). */
  client: "pxe" | "http" | undefined;
  /** "wisp" when our iPXE script set our user class, "ipxe" for stock iPXE (option 77). */
  userClass: "wisp" | "ipxe" | undefined;
  /** Option 93 (first entry), else the Arch field of a PXE vendor class. */
  arch: number | undefined;
  archName: string | undefined;
  /** Option 94. */
  ndi: ClientNdi | undefined;
  /** Option 97; proxy replies echo it. */
  guid: ClientGuid | undefined;
  /** giaddr != 0: came through a relay, so the reply goes back to giaddr:67 (RFC 2131 4.1). */
  relayed: boolean;
  boot: BootChoice;
}

const PXE_CLIENT = "PXEClient"; // PXE 2.1 spec: vendor class "PXEClient:Arch:xxxxx:UNDI:yyyzzz"
const HTTP_CLIENT = "HTTPClient"; // UEFI 2.5+ HTTP boot: "HTTPClient:Arch:xxxxx:UNDI:yyyzzz"
const IPXE_USER_CLASS = "iPXE";
const NO_CLASSES: readonly string[] = Object.freeze([]);
// The choices that carry nothing of the request are shared, frozen: a request allocates no choice.
const NOT_A_REQUEST: BootChoice = Object.freeze({ kind: "none", reason: "not a request" });
const WISP_IPXE: BootChoice = Object.freeze({ kind: "script", reason: "wisp ipxe" });
const STOCK_IPXE: BootChoice = Object.freeze({ kind: "script", reason: "stock ipxe" });
const NO_BINARY: BootChoice = Object.freeze({ kind: "none", reason: "no boot binary for this architecture" });
const NOT_NETBOOT: BootChoice = Object.freeze({ kind: "none", reason: "not a netboot client" });

/** Classifies a request as PXE ROM, UEFI HTTP boot, stock iPXE or our iPXE, and picks the boot file. */
export function classifyDhcp(p: DhcpPacket, config: ClassifyConfig = { wispUserClass: DEFAULT_WISP_USER_CLASS }): DhcpClassification {
  const vendorClass = getOption(p, 60);
  const client = vendorClass?.startsWith(PXE_CLIENT) ? "pxe" : vendorClass?.startsWith(HTTP_CLIENT) ? "http" : undefined;
  const userClassBytes = p.options.get(77);
  const classes = userClassBytes === undefined ? NO_CLASSES : userClasses(userClassBytes);
  const userClass = classes.includes(config.wispUserClass) ? "wisp" : classes.includes(IPXE_USER_CLASS) ? "ipxe" : undefined;
  const arch = getOption(p, 93)?.[0] ?? (vendorClass === undefined ? undefined : vendorClassArch(vendorClass));
  return {
    messageType: getOption(p, 53),
    mac: formatMac(p.chaddr),
    vendorClass,
    client,
    userClass,
    arch,
    archName: arch === undefined ? undefined : archName(arch),
    ndi: getOption(p, 94),
    guid: getOption(p, 97),
    relayed: p.giaddr !== 0,
    boot: chooseBoot(p.op, client, userClass, arch),
  };
}

/** The classes in option 77: the RFC 3004 4 list if the bytes parse as one, else the raw text. */
export function userClasses(bytes: Uint8Array): string[] {
  const classes: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const len = bytes[i]!;
    if (len === 0 || i + 1 + len > bytes.length) break; // RFC 3004 4: each class is 1+ bytes
    classes.push(String.fromCharCode(...bytes.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  // Stock iPXE sends a bare "iPXE", which does not parse as a list ('i' = 105 is too long).
  return i === bytes.length && classes.length > 0 ? classes : [String.fromCharCode(...bytes)];
}

// Order from COMPAT section 2: our iPXE first (ends the loop), then HTTP boot firmware, then
// stock iPXE (it can fetch the script itself), then a PXE ROM (gets iPXE over TFTP).
function chooseBoot(op: number, client: "pxe" | "http" | undefined, userClass: "wisp" | "ipxe" | undefined, arch: number | undefined): BootChoice {
  if (op !== BOOTREQUEST) return NOT_A_REQUEST;
  if (userClass === "wisp") return WISP_IPXE;
  if (client === "http") {
    const binary = arch === undefined ? undefined : bootBinary(arch);
    if (binary === undefined) return NO_BINARY;
    return { kind: "binary", file: binary.file, transport: "http", reason: "uefi http boot" };
  }
  if (userClass === "ipxe") return STOCK_IPXE;
  if (client === "pxe") {
    // PXE ROMs older than RFC 4578 send neither option 93 nor an Arch field: they are x86 BIOS.
    const binary = bootBinary(arch ?? 0);
    if (binary === undefined) return NO_BINARY;
    return { kind: "binary", file: binary.file, transport: binary.http ? "http" : "tftp", reason: "pxe rom" };
  }
  return NOT_NETBOOT;
}

function bootBinary(arch: number): BootBinary | undefined {
  return (BOOT_BINARIES as Record<number, BootBinary>)[arch];
}

// "PXEClient:Arch:00007:UNDI:003016" -> 7 (PXE 2.1 spec; UEFI HTTP boot uses the same layout).
function vendorClassArch(vendorClass: string): number | undefined {
  const match = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vendorClass);
  return match ? Number(match[1]) : undefined;
}
