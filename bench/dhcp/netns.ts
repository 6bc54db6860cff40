/**
 * The benchmark's private network: one generator namespace and, per server, a server namespace
 * joined to it by its own veth pair. On each link the generator holds a relay address in the
 * client network (giaddr; perfdhcp sends out of the interface that holds the address it binds),
 * and each server namespace routes the client network back through its link, as a router with
 * a relay agent would. Nothing is created outside these namespaces; `destroyTopology`
 * removes them all (and with them the veths).
 */
import { randomBytes } from "node:crypto";
import { parseIpv4, formatIpv4 } from "../../daemon/wire/address.ts";
import { CLIENT_NETWORK, CLIENT_PREFIX, RELAY_IP } from "./config.ts";

/** Transit links between relay and servers: link k is 10.76.k.0/24, server .1, relay .2. */
const TRANSIT_PREFIX = 24;
const transitIp = (k: number, host: 1 | 2) => `10.76.${k}.${host}`;

/** One server's namespace and its link to the generator; interface names fit IFNAMSIZ (15). */
export interface Link {
  serverNs: string;
  serverIface: string;
  generatorIface: string;
  /** Address the server listens on and perfdhcp sends to. */
  serverIp: string;
  /** The relay's end of this link (the servers' next hop to the client network). */
  relayTransitIp: string;
  /** giaddr on this link: an address of the client network, bound by perfdhcp (`-l`). */
  relayIp: string;
}

/** Names and addresses of one run's network. */
export interface Topology {
  generatorNs: string;
  links: Record<string, Link>;
}

/** Relay address of link k: RELAY_IP (the clients' router), then the addresses after it. */
function relayIp(k: number): string {
  const base = parseIpv4(RELAY_IP);
  if (!base.ok) throw new Error(base.error);
  return formatIpv4(base.value + k);
}

/** Runs a command to completion; throws with its stderr when it fails. */
export function sh(cmd: string[], opts: { allowFail?: boolean } = {}): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0 && !opts.allowFail) {
    throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}): ${p.stderr.toString().trim()}`);
  }
  return p.stdout.toString();
}

/** Names for a new topology with a random suffix, so concurrent runs never collide. */
export function topologyNames(servers: readonly string[], suffix = randomBytes(3).toString("hex")): Topology {
  const links: Record<string, Link> = {};
  servers.forEach((name, k) => {
    links[name] = {
      serverNs: `wisp-bench-${name}-${suffix}`,
      serverIface: `wbs${k}-${suffix}`,
      generatorIface: `wbg${k}-${suffix}`,
      serverIp: transitIp(k, 1),
      relayTransitIp: transitIp(k, 2),
      relayIp: relayIp(k),
    };
  });
  return { generatorNs: `wisp-bench-gen-${suffix}`, links };
}

/** Creates the namespaces, veth pairs, addresses and the routes back to the client network. */
export function createTopology(t: Topology): void {
  const inNs = (ns: string, ...args: string[]) => sh(["ip", "-n", ns, ...args]);
  sh(["ip", "netns", "add", t.generatorNs]);
  inNs(t.generatorNs, "link", "set", "lo", "up");
  for (const l of Object.values(t.links)) {
    sh(["ip", "netns", "add", l.serverNs]);
    // Created directly inside the namespaces: the veth never appears in the caller's namespace.
    sh(["ip", "link", "add", l.serverIface, "netns", l.serverNs, "type", "veth", "peer", "name", l.generatorIface, "netns", t.generatorNs]);
    inNs(l.serverNs, "link", "set", "lo", "up");
    inNs(l.serverNs, "addr", "add", `${l.serverIp}/${TRANSIT_PREFIX}`, "dev", l.serverIface);
    inNs(t.generatorNs, "addr", "add", `${l.relayTransitIp}/${TRANSIT_PREFIX}`, "dev", l.generatorIface);
    // A host address only: the generator never routes to the client network itself.
    inNs(t.generatorNs, "addr", "add", `${l.relayIp}/32`, "dev", l.generatorIface);
    inNs(l.serverNs, "link", "set", l.serverIface, "up");
    inNs(t.generatorNs, "link", "set", l.generatorIface, "up");
    inNs(l.serverNs, "route", "add", `${CLIENT_NETWORK}/${CLIENT_PREFIX}`, "via", l.relayTransitIp);
  }
}

/** Removes every namespace (the veths go with them); safe to call twice or after a partial create. */
export function destroyTopology(t: Topology): void {
  for (const l of Object.values(t.links)) sh(["ip", "netns", "del", l.serverNs], { allowFail: true });
  sh(["ip", "netns", "del", t.generatorNs], { allowFail: true });
}

/** argv prefix that runs a command inside a namespace pinned to one CPU (both `exec`, same pid). */
export function inNamespace(ns: string, cpu: number | undefined, argv: string[]): string[] {
  const pin = cpu === undefined ? [] : ["taskset", "-c", String(cpu)];
  return ["ip", "netns", "exec", ns, ...pin, ...argv];
}
