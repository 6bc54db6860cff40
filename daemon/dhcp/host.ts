/** Hardware (as stored) -> the DhcpHost records the boot paths look up, one per interface MAC. Pure. */
import { normalizeMac } from "../manifest/values.ts";
import type { Hardware, HardwareInterface } from "../manifest/types.ts";
import { parseIpv4 } from "../wire/address.ts";
import { encodeHostOptions } from "./host-options.ts";
import type { DhcpHost } from "./types.ts";

const MAX_LEASE = 0xffffffff; // RFC 2132 9.2: a 32-bit count of seconds, all ones = infinite

/**
 * One DhcpHost per interface with a valid MAC (the first interface wins a repeated MAC).
 * Addresses that do not parse are left out rather than failing the whole Hardware; allowPXE
 * and allowWorkflow default to false, as in Tinkerbell.
 */
export function hostsFromHardware(hw: Pick<Hardware, "metadata" | "spec">): DhcpHost[] {
  const hosts: DhcpHost[] = [];
  const seen = new Set<string>();
  for (const iface of hw.spec.interfaces ?? []) {
    const mac = iface.dhcp?.mac === undefined ? undefined : normalizeMac(iface.dhcp.mac);
    if (mac === undefined || seen.has(mac)) continue;
    seen.add(mac);
    const host = hostFromInterface(hw, iface, mac);
    host.encodedOptions = encodeHostOptions(host);
    hosts.push(host);
  }
  return hosts;
}

function hostFromInterface(hw: Pick<Hardware, "metadata" | "spec">, iface: HardwareInterface, mac: string): DhcpHost {
  const dhcp = iface.dhcp ?? {};
  const netboot = iface.netboot ?? {};
  const host: DhcpHost = {
    namespace: hw.metadata.namespace,
    hardwareName: hw.metadata.name,
    mac,
    nameServers: addresses(dhcp.name_servers),
    timeServers: addresses(dhcp.time_servers),
    routes: (dhcp.classless_static_routes ?? []).map((r) => ({ destination: r.destination_descriptor, router: r.router })),
    allowPXE: netboot.allowPXE ?? false,
    allowWorkflow: netboot.allowWorkflow ?? false,
    disableDhcp: iface.disableDhcp ?? false,
  };
  const ip = address(dhcp.ip?.address);
  if (ip !== undefined) host.ip = ip;
  const netmask = address(dhcp.ip?.netmask);
  if (netmask !== undefined) host.netmask = netmask;
  const gateway = address(dhcp.ip?.gateway);
  if (gateway !== undefined) host.gateway = gateway;
  if (dhcp.hostname) host.hostname = dhcp.hostname;
  if (dhcp.domain_name) host.domainName = dhcp.domain_name;
  if (Number.isInteger(dhcp.lease_time) && dhcp.lease_time! > 0 && dhcp.lease_time! <= MAX_LEASE) host.leaseTime = dhcp.lease_time;
  if (dhcp.arch) host.arch = dhcp.arch;
  if (dhcp.uefi !== undefined) host.uefi = dhcp.uefi;
  if (dhcp.vlan_id) host.vlanId = dhcp.vlan_id;
  if (dhcp.tftp_server_name) host.tftpServerName = dhcp.tftp_server_name;
  if (dhcp.boot_file_name) host.bootFileName = dhcp.boot_file_name;
  const ipxe = netboot.ipxe;
  if (ipxe !== undefined && (ipxe.url || ipxe.contents || ipxe.binary)) {
    host.ipxe = {};
    if (ipxe.url) host.ipxe.url = ipxe.url;
    if (ipxe.contents) host.ipxe.contents = ipxe.contents;
    if (ipxe.binary) host.ipxe.binary = ipxe.binary;
  }
  if (hw.spec.agentID) host.agentId = hw.spec.agentID;
  return host;
}

function address(text: string | undefined): number | undefined {
  if (typeof text !== "string") return undefined;
  const parsed = parseIpv4(text.trim());
  return parsed.ok ? parsed.value : undefined;
}

// Time servers may be names in a manifest; DHCP carries addresses only (RFC 2132 8.3).
function addresses(texts: string[] | undefined): number[] {
  const out: number[] = [];
  for (const text of texts ?? []) {
    const ip = address(text);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}
