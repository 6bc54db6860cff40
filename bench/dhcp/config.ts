/**
 * Pure parts of the DHCP benchmark: the deterministic host list and what each server is given
 * to serve it (Kea JSON, dnsmasq lines, Tinkerbell Hardware YAML, perfdhcp's MAC list). No I/O.
 */
import { formatIpv4, parseIpv4 } from "../../daemon/wire/address.ts";

/** The client network every reservation lives in; the relay (perfdhcp's giaddr) is `relayIp`. */
export const CLIENT_NETWORK = "10.77.0.0";
export const CLIENT_PREFIX = 16;
/** Address of the simulated relay agent on the client network: giaddr, and the clients' router. */
export const RELAY_IP = "10.77.0.1";
/** Hosts fill x.x.N.1-250 from N = 1: never the network, broadcast or relay address. */
const HOSTS_PER_OCTET = 250;
/** Lease time in every server's configuration (seconds). */
export const LEASE_TIME = 86_400;
/** Namespace the Hardware objects are created in. */
export const HARDWARE_NAMESPACE = "bench";
/** Knuth's multiplicative constant: odd, so `i * K mod 2^32` is a bijection (unique MACs). */
const MAC_SPREAD = 2_654_435_761;

/** One reserved client: the same MAC, address and name are given to every server. */
export interface BenchHost {
  name: string;
  /** Lower-case colon form. */
  mac: string;
  ip: string;
}

/** The addressing shared by all configurations. */
export interface BenchNetwork {
  /** CIDR of the client network, e.g. 10.77.0.0/16. */
  subnet: string;
  netmask: string;
  /** giaddr and option 3. */
  relayIp: string;
}

/** The client network of the benchmark. */
export function benchNetwork(): BenchNetwork {
  return { subnet: `${CLIENT_NETWORK}/${CLIENT_PREFIX}`, netmask: formatIpv4(prefixMask(CLIENT_PREFIX)), relayIp: RELAY_IP };
}

function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The largest host count the address plan holds (x.x.1-255.1-250 in a /16). */
export const MAX_HOSTS = 255 * HOSTS_PER_OCTET;

/** `count` hosts, the same on every run: spread-out locally administered MACs, addresses in order. */
export function benchHosts(count: number): BenchHost[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new RangeError(`hosts: expected an integer 1-${MAX_HOSTS}, got ${count}`);
  }
  const base = parseIpv4(CLIENT_NETWORK);
  if (!base.ok) throw new Error(base.error);
  const width = String(count).length;
  const hosts: BenchHost[] = [];
  for (let i = 0; i < count; i++) {
    const spread = Math.imul(i, MAC_SPREAD) >>> 0;
    // 02: locally administered, unicast (IEEE 802 bit 1 of the first octet).
    const bytes = [0x02, 0x77, spread >>> 24, (spread >>> 16) & 255, (spread >>> 8) & 255, spread & 255];
    const mac = bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
    const ip = base.value + (1 + Math.floor(i / HOSTS_PER_OCTET)) * 256 + 1 + (i % HOSTS_PER_OCTET);
    hosts.push({ name: `bench-${String(i).padStart(width, "0")}`, mac, ip: formatIpv4(ip) });
  }
  return hosts;
}

/** perfdhcp `-M` file: one MAC a line. */
export function macList(hosts: readonly BenchHost[]): string {
  return hosts.map((h) => h.mac).join("\n") + "\n";
}

/** Where Kea keeps its files and which interface it serves. */
export interface KeaPaths {
  iface: string;
  leaseFile: string;
  logFile: string;
}

/**
 * kea-dhcp4 configuration: one subnet holding every reservation, no pool (addresses only from
 * reservations, as `reservation` mode and dnsmasq `static`), UDP sockets since all traffic is
 * relayed, leases persisted to a memfile, logging at WARN.
 */
export function keaConfig(hosts: readonly BenchHost[], net: BenchNetwork, paths: KeaPaths): object {
  return {
    Dhcp4: {
      "interfaces-config": { interfaces: [paths.iface], "dhcp-socket-type": "udp" },
      "lease-database": { type: "memfile", persist: true, name: paths.leaseFile, "lfc-interval": 0 },
      "multi-threading": { "enable-multi-threading": false },
      "host-reservation-identifiers": ["hw-address"],
      "valid-lifetime": LEASE_TIME,
      subnet4: [
        {
          id: 1,
          subnet: net.subnet,
          "reservations-in-subnet": true,
          "reservations-out-of-pool": true,
          "option-data": [{ name: "routers", data: net.relayIp }],
          reservations: hosts.map((h) => ({ "hw-address": h.mac, "ip-address": h.ip, hostname: h.name })),
        },
      ],
      loggers: [{ name: "kea-dhcp4", output_options: [{ output: paths.logFile }], severity: "WARN" }],
    },
  };
}

/** Which interface dnsmasq serves and where it logs. */
export interface DnsmasqPaths {
  iface: string;
  logFile: string;
}

/**
 * dnsmasq configuration lines: DHCP only (`port=0`), bound to the server interface, a `static`
 * range on the relayed client network (no dynamic pool), one `dhcp-host` per reservation, the
 * lease limit raised above the host count (the default, 1000, would refuse the rest), leases in
 * memory only, per-packet log lines off.
 */
export function dnsmasqConfig(hosts: readonly BenchHost[], net: BenchNetwork, paths: DnsmasqPaths): string[] {
  const [network] = net.subnet.split("/");
  return [
    "port=0",
    `interface=${paths.iface}`,
    "bind-interfaces",
    `dhcp-range=${network},static,${net.netmask},${LEASE_TIME}`,
    `dhcp-option=option:router,${net.relayIp}`,
    `dhcp-lease-max=${hosts.length + 1000}`,
    "leasefile-ro",
    "quiet-dhcp",
    `log-facility=${paths.logFile}`,
    ...hosts.map((h) => `dhcp-host=${h.mac},${h.ip},${h.name}`),
  ];
}

/** Tinkerbell Hardware manifests (multi-document YAML) for the hosts, one interface each. */
export function hardwareYaml(hosts: readonly BenchHost[], net: BenchNetwork, namespace = HARDWARE_NAMESPACE): string {
  return hosts
    .map((h) =>
      [
        "apiVersion: tinkerbell.org/v1alpha1",
        "kind: Hardware",
        "metadata:",
        `  name: ${h.name}`,
        `  namespace: ${namespace}`,
        "spec:",
        "  interfaces:",
        "    - dhcp:",
        `        mac: ${h.mac}`,
        `        hostname: ${h.name}`,
        `        lease_time: ${LEASE_TIME}`,
        "        ip:",
        `          address: ${h.ip}`,
        `          netmask: ${net.netmask}`,
        `          gateway: ${net.relayIp}`,
        "      netboot:",
        "        allowPXE: true",
        "        allowWorkflow: false",
      ].join("\n"),
    )
    .join("\n---\n")
    .concat("\n");
}

/** Splits hosts into chunks of `size` (apply batches). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
