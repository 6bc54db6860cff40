/**
 * The options of a reservation that depend only on its Hardware (1, 28, 3, 6, 12, 15, 42, 119,
 * 121, and 51/58/59 when it gives a lease time): encoded once when the index loads the Hardware, then shared by every reply. Pure.
 */
import { ipv4ToBytes, parseIpv4 } from "../wire/address.ts";
import type { ClasslessRoute } from "./options.ts";
import { encodeOption, type OptionCode, type OptionValue } from "./options.ts";
import type { DhcpHost } from "./types.ts";

const INFINITE_LEASE = 0xffffffff; // RFC 2132 9.2

/** Encoded option values of `host` by code, in the order replies list them when not asked otherwise. */
export function encodeHostOptions(host: DhcpHost): ReadonlyMap<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const put = <C extends OptionCode>(code: C, value: OptionValue<C> | undefined): void => {
    if (value === undefined) return;
    const bytes = encodeOption(code, value);
    if (bytes.ok) out.set(code, bytes.value);
  };
  const { ip, netmask, gateway } = host;
  put(1, netmask);
  // RFC 2132 5.3: the subnet's broadcast address, all host bits set.
  put(28, ip !== undefined && netmask !== undefined ? ((ip & netmask) | ~netmask) >>> 0 : undefined);
  put(3, gateway === undefined ? undefined : [gateway]);
  put(6, host.nameServers.length > 0 ? host.nameServers : undefined);
  put(12, host.hostname || undefined);
  put(15, host.domainName || undefined);
  put(42, host.timeServers.length > 0 ? host.timeServers : undefined);
  // RFC 3397: the domain is also the search list, so short names resolve in it.
  put(119, host.domainName ? [host.domainName] : undefined);
  put(121, classlessRoutes(host));
  if (host.leaseTime !== undefined) {
    for (const code of [51, 58, 59] as const) {
      const bytes = leaseOption(code, host.leaseTime);
      if (bytes !== undefined) out.set(code, bytes);
    }
  }
  return out;
}

/**
 * Option 51 (lease), 58 (T1 = 0.5 lease) or 59 (T2 = 0.875 lease, RFC 2131 4.4.5) for `lease`
 * seconds; no timers for an infinite lease (RFC 2132 9.2).
 */
export function leaseOption(code: 51 | 58 | 59 | number, lease: number): Uint8Array | undefined {
  if (code === 51) return ipv4ToBytes(lease);
  if (lease === INFINITE_LEASE) return undefined;
  if (code === 58) return ipv4ToBytes(Math.floor(lease / 2));
  if (code === 59) return ipv4ToBytes(Math.floor((lease * 7) / 8));
  return undefined;
}

/** The host's encoded options: precomputed by hostsFromHardware, else encoded now. */
export function hostOptions(host: DhcpHost): ReadonlyMap<number, Uint8Array> {
  return host.encodedOptions ?? encodeHostOptions(host);
}

/**
 * RFC 3442 routes from the Hardware, with the default route added when a gateway is given:
 * a client that receives option 121 MUST ignore option 3 (RFC 3442, "DHCP Client Behavior").
 * Entries that do not parse are left out.
 */
export function classlessRoutes(host: Pick<DhcpHost, "routes" | "gateway">): ClasslessRoute[] | undefined {
  if (host.routes.length === 0) return undefined;
  const routes: ClasslessRoute[] = [];
  for (const r of host.routes) {
    const route = parseRoute(r.destination, r.router);
    if (route !== undefined) routes.push(route);
  }
  if (host.gateway !== undefined && !routes.some((r) => r.prefix === 0)) {
    routes.push({ destination: 0, prefix: 0, router: host.gateway });
  }
  return routes.length > 0 ? routes : undefined;
}

// "10.1.0.0/16" via "10.0.0.1"; a bare address is a /32. Host bits are cleared (RFC 3442 allows
// only the significant octets on the wire).
function parseRoute(destination: string, router: string): ClasslessRoute | undefined {
  const [address = "", prefixText = "32", extra] = destination.trim().split("/");
  const prefix = Number(prefixText);
  const dest = parseIpv4(address);
  const via = parseIpv4(router.trim());
  if (extra !== undefined || !/^\d{1,2}$/.test(prefixText) || prefix > 32 || !dest.ok || !via.ok) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { destination: (dest.value & mask) >>> 0, prefix, router: via.value };
}
