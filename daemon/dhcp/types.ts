/**
 * The contract between the DHCP server, its policy and the in-memory hardware index. The server
 * receives and sends; the policy decides (pure); the index answers lookups without the database.
 */
import type { DhcpClassification } from "./classify.ts";
import type { DhcpPacket } from "./codec.ts";

/** One Hardware interface as the boot paths need it; addresses are uint32 (network order value). */
export interface DhcpHost {
  namespace: string;
  hardwareName: string;
  /** Lower-case colon form. */
  mac: string;
  ip?: number;
  netmask?: number;
  gateway?: number;
  hostname?: string;
  domainName?: string;
  /** Seconds; undefined = the server default. */
  leaseTime?: number;
  nameServers: number[];
  timeServers: number[];
  /** Hardware `arch` (e.g. x86_64, aarch64) and `uefi`, used when the client sends no option 93. */
  arch?: string;
  uefi?: boolean;
  vlanId?: string;
  /** RFC 3442 routes: destination CIDR and router, as written in the Hardware. */
  routes: { destination: string; router: string }[];
  /** Per-hardware override of option 66/siaddr and 67/file. */
  tftpServerName?: string;
  bootFileName?: string;
  allowPXE: boolean;
  allowWorkflow: boolean;
  /** Hardware says: do not answer this MAC at all. */
  disableDhcp: boolean;
  ipxe?: { url?: string; contents?: string; binary?: string };
  agentId?: string;
  /**
   * Options derived from the fields above (1, 28, 3, 6, 12, 15, 42, 119, 121; 51, 58, 59 when
   * `leaseTime` is set), encoded once by hostsFromHardware so replies share them; the policy
   * encodes them itself when absent.
   */
  encodedOptions?: ReadonlyMap<number, Uint8Array>;
}

/** Narrow lookups the boot paths make; implemented by the in-memory index. */
export interface HardwareLookup {
  byMac(mac: string): DhcpHost | undefined;
  /** By an interface address (uint32), for requests that carry only a source IP. */
  byIp(ip: number): DhcpHost | undefined;
}

/** `--dhcp-mode`. */
export type DhcpMode = "reservation" | "proxy" | "auto-proxy" | "off";

/** What the policy knows about this installation. */
export interface DhcpPolicyConfig {
  mode: DhcpMode;
  /** Address put in URLs (iPXE script, HTTP boot binary) and siaddr for TFTP: `--public-ip`. */
  publicIp: number;
  /** HTTP port of wispd (`--http-port`), for `http://<publicIp>:<port>/...` URLs. */
  httpPort: number;
  /** Our iPXE's user class (option 77) that ends the chainload loop. */
  wispUserClass: string;
  /** Lease time when the Hardware gives none (seconds). */
  defaultLeaseTime: number;
}

/** Where a request arrived: the interface's own address is the server identifier (option 54). */
export interface ReceiveContext {
  ifaceName: string;
  /** Address of the receiving interface (uint32), or `--public-ip` when configured so. */
  serverIp: number;
  /** Network of the receiving interface, to check a reservation belongs on this link. */
  ifaceNetwork?: { address: number; netmask: number };
}

/** How a reply reaches the client (RFC 2131 section 4.1). */
export type Delivery =
  | { kind: "relay"; ip: number; port: 67 }
  | { kind: "broadcast"; port: 68 }
  | { kind: "unicast"; ip: number; port: number }
  /** The client has no address yet and did not ask for broadcast: yiaddr at chaddr (needs an ARP entry). */
  | { kind: "unicast-mac"; ip: number; mac: string; port: 68 };

/** The policy's answer: a reply and its delivery, or a reason for silence (counted as a metric). */
export type Decision =
  | { kind: "reply"; reply: DhcpPacket; delivery: Delivery; host?: DhcpHost; event: string }
  | { kind: "drop"; reason: string; detail?: string; host?: DhcpHost };

/** Signature of the pure decision function in policy.ts. */
export type Decide = (
  req: DhcpPacket,
  cls: DhcpClassification,
  ctx: ReceiveContext,
  lookup: HardwareLookup,
  config: DhcpPolicyConfig,
) => Decision;
