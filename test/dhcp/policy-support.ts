// Requests, hosts and a lookup for the policy tests: packets are assembled byte by byte
// (hand-built.ts), decoded and classified as the server does, then decided.
import { classifyDhcp, type DhcpClassification } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { hostsFromHardware } from "../../daemon/dhcp/host.ts";
import { decide } from "../../daemon/dhcp/policy.ts";
import type { Decision, DhcpHost, DhcpMode, DhcpPolicyConfig, HardwareLookup, ReceiveContext } from "../../daemon/dhcp/types.ts";
import type { HardwareInterface } from "../../daemon/manifest/types.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";
import { assemble, opt, str } from "./hand-built.ts";

/** Dotted quad -> uint32, throwing on a typo in a test. */
export function ip(text: string): number {
  const r = parseIpv4(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
const bytes4 = (text: string): number[] => text.split(".").map(Number);

export const MAC = "52:54:00:12:34:56";
export const MAC_BYTES = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const OTHER_MAC_BYTES = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];
export const SERVER_IP = "10.0.0.1";
export const PUBLIC_IP = "10.0.0.5";
export const GUID = [0x4c, 0x4c, 0x45, 0x44, 0x00, 0x38, 0x58, 0x10, 0x80, 0x33, 0xb4, 0xc0, 0x4f, 0x31, 0x32, 0x4a];

export const CONFIG: DhcpPolicyConfig = {
  mode: "reservation",
  publicIp: ip(PUBLIC_IP),
  httpPort: 8080,
  wispUserClass: "Wisp",
  defaultLeaseTime: 86400,
};
export const CTX: ReceiveContext = {
  ifaceName: "eth0",
  serverIp: ip(SERVER_IP),
  ifaceNetwork: { address: ip("10.0.0.0"), netmask: ip("255.255.255.0") },
};

/** The interface of the standard test machine; `patch` replaces parts of it. */
export function iface(patch: { dhcp?: object; netboot?: object; disableDhcp?: boolean } = {}): HardwareInterface {
  return {
    dhcp: {
      mac: MAC,
      hostname: "node-1",
      domain_name: "lab.example.com",
      lease_time: 3600,
      name_servers: ["10.0.0.53", "1.1.1.1"],
      time_servers: ["10.0.0.123"],
      arch: "x86_64",
      uefi: true,
      ip: { address: "10.0.0.23", netmask: "255.255.255.0", gateway: "10.0.0.254" },
      ...patch.dhcp,
    },
    netboot: { allowPXE: true, allowWorkflow: true, ...patch.netboot },
    ...(patch.disableDhcp === undefined ? {} : { disableDhcp: patch.disableDhcp }),
  };
}

/** Hosts of one Hardware with the given interfaces, as the index holds them. */
export function hosts(...interfaces: HardwareInterface[]): DhcpHost[] {
  return hostsFromHardware({ metadata: { name: "node-1", namespace: "lab" }, spec: { interfaces } });
}

/** A lookup over `list`. */
export function lookupOf(list: DhcpHost[]): HardwareLookup {
  const macs = new Map(list.map((h) => [h.mac, h]));
  const ips = new Map(list.flatMap((h) => (h.ip === undefined ? [] : [[h.ip, h] as const])));
  return { byMac: (mac) => macs.get(mac), byIp: (a) => ips.get(a) };
}

// Option builders, as raw bytes.
export const type = (t: number) => opt(53, t);
export const arch = (a: number) => opt(93, a >> 8, a & 255);
export const vendor = (text: string) => opt(60, ...str(text));
export const user = (text: string) => opt(77, ...str(text));
export const requestedIp = (text: string) => opt(50, ...bytes4(text));
export const serverId = (text: string) => opt(54, ...bytes4(text));
export const prl = (...codes: number[]) => opt(55, ...codes);
export const maxSize = (n: number) => opt(57, n >> 8, n & 255);
export const guid = () => opt(97, 0, ...GUID);
export const subnetSelection = (text: string) => opt(118, ...bytes4(text));
export const pxeRom = (a = 0) => [...arch(a), ...opt(94, 1, 2, 1), ...guid(), ...vendor(`PXEClient:Arch:${String(a).padStart(5, "0")}:UNDI:002001`)];

/** Header fields of a test request. */
export interface RequestFields {
  op?: number;
  htype?: number;
  hlen?: number;
  flags?: number;
  mac?: number[];
  ciaddr?: string;
  giaddr?: string;
  hops?: number;
}

/** A decoded, classified request with raw `options` (add type(n) yourself; 255 is appended). */
export function request(options: number[], fields: RequestFields = {}): { req: DhcpPacket; cls: DhcpClassification } {
  const raw = assemble(
    {
      op: fields.op ?? 1,
      htype: fields.htype,
      hlen: fields.hlen,
      hops: fields.hops,
      xid: 0x11223344,
      flags: fields.flags,
      ciaddr: fields.ciaddr === undefined ? undefined : bytes4(fields.ciaddr),
      giaddr: fields.giaddr === undefined ? undefined : bytes4(fields.giaddr),
      chaddr: fields.mac ?? MAC_BYTES,
    },
    [...options, 255],
  );
  const r = decodeDhcp(raw);
  if (!r.ok) throw new Error(r.error);
  return { req: r.value, cls: classifyDhcp(r.value, { wispUserClass: CONFIG.wispUserClass }) };
}

/** Decides `options`/`fields` against `list` in `mode`. */
export function decideFor(
  options: number[],
  opts: { fields?: RequestFields; hosts?: DhcpHost[]; mode?: DhcpMode; ctx?: Partial<ReceiveContext>; config?: Partial<DhcpPolicyConfig> } = {},
): Decision {
  const { req, cls } = request(options, opts.fields);
  const config = { ...CONFIG, mode: opts.mode ?? CONFIG.mode, ...opts.config };
  return decide(req, cls, { ...CTX, ...opts.ctx }, lookupOf(opts.hosts ?? hosts(iface())), config);
}

/** The reply of a reply Decision, or a thrown error naming the drop. */
export function replyOf(d: Decision): Extract<Decision, { kind: "reply" }> {
  if (d.kind !== "reply") throw new Error(`expected a reply, got drop ${d.reason}${d.detail ? ` (${d.detail})` : ""}`);
  return d;
}

/** Text of a byte field (file, sname). */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
