/**
 * The benchmark's private network: a server namespace and a generator namespace joined by a veth
 * pair. The generator side also holds the relay's client-network address (giaddr), and the server
 * routes the client network back through the generator, as a router with a relay agent would.
 * Nothing is created outside these two namespaces; `destroy` removes both (and with them the veth).
 */
import { randomBytes } from "node:crypto";
import { RELAY_IP, CLIENT_PREFIX, CLIENT_NETWORK } from "./config.ts";

/** The transit link between server and relay (not the client network). */
export const TRANSIT = { server: "10.76.0.1", relay: "10.76.0.2", prefix: 24 } as const;

/** Names and addresses of one topology; interface names stay within IFNAMSIZ (15). */
export interface Topology {
  serverNs: string;
  generatorNs: string;
  serverIface: string;
  generatorIface: string;
  /** Address the servers listen on and perfdhcp sends to. */
  serverIp: string;
  /** giaddr: perfdhcp binds it (`-l`), so it is the relay agent's address. */
  relayIp: string;
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
export function topologyNames(suffix = randomBytes(3).toString("hex")): Topology {
  return {
    serverNs: `wisp-bench-srv-${suffix}`,
    generatorNs: `wisp-bench-gen-${suffix}`,
    serverIface: `wbs-${suffix}`,
    generatorIface: `wbg-${suffix}`,
    serverIp: TRANSIT.server,
    relayIp: RELAY_IP,
  };
}

/** Creates both namespaces, the veth pair, addresses and the route back to the client network. */
export function createTopology(t: Topology): void {
  const inNs = (ns: string, ...args: string[]) => sh(["ip", "-n", ns, ...args]);
  sh(["ip", "netns", "add", t.serverNs]);
  sh(["ip", "netns", "add", t.generatorNs]);
  // Created directly inside the namespaces: the veth never appears in the caller's namespace.
  sh(["ip", "link", "add", t.serverIface, "netns", t.serverNs, "type", "veth", "peer", "name", t.generatorIface, "netns", t.generatorNs]);
  inNs(t.serverNs, "link", "set", "lo", "up");
  inNs(t.generatorNs, "link", "set", "lo", "up");
  inNs(t.serverNs, "addr", "add", `${TRANSIT.server}/${TRANSIT.prefix}`, "dev", t.serverIface);
  inNs(t.generatorNs, "addr", "add", `${TRANSIT.relay}/${TRANSIT.prefix}`, "dev", t.generatorIface);
  inNs(t.generatorNs, "addr", "add", `${RELAY_IP}/${CLIENT_PREFIX}`, "dev", t.generatorIface);
  inNs(t.serverNs, "link", "set", t.serverIface, "up");
  inNs(t.generatorNs, "link", "set", t.generatorIface, "up");
  inNs(t.serverNs, "route", "add", `${CLIENT_NETWORK}/${CLIENT_PREFIX}`, "via", TRANSIT.relay);
}

/** Removes both namespaces (the veth goes with them); safe to call twice or after a partial create. */
export function destroyTopology(t: Topology): void {
  sh(["ip", "netns", "del", t.serverNs], { allowFail: true });
  sh(["ip", "netns", "del", t.generatorNs], { allowFail: true });
}

/** argv prefix that runs a command inside a namespace pinned to one CPU (both `exec`, same pid). */
export function inNamespace(ns: string, cpu: number | undefined, argv: string[]): string[] {
  const pin = cpu === undefined ? [] : ["taskset", "-c", String(cpu)];
  return ["ip", "netns", "exec", ns, ...pin, ...argv];
}
