/**
 * Which machine a log line is about, from what a listener knows: an agent's id (a MAC for
 * Tinkerbell's agents) or a peer address and the MAC in a requested path; answered by the
 * in-memory hardware index, never the store.
 */
import type { HardwareLookup } from "../dhcp/types.ts";
import { hostFields, type MachineFields } from "../lib/log.ts";
import { normalizeMac } from "../manifest/values.ts";
import { parseIpv4 } from "../wire/address.ts";

/** The machine an agent is: its MAC when its id is one, with the Hardware holding that MAC. */
export function machineByAgent(index: HardwareLookup): (agentId: string) => MachineFields {
  return (agentId) => {
    const mac = normalizeMac(agentId);
    return hostFields(mac === undefined ? undefined : index.byMac(mac), mac);
  };
}

/** The machine at `address` (a MAC from the request wins when given). */
export function machineByAddress(index: HardwareLookup): (address: string, mac?: string) => MachineFields {
  return (address, mac) => {
    const m = mac === undefined ? undefined : normalizeMac(mac);
    const ip = parseIpv4(address);
    const host = (m === undefined ? undefined : index.byMac(m)) ?? (ip.ok ? index.byIp(ip.value) : undefined);
    return hostFields(host, m);
  };
}
