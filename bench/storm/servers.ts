/**
 * What the storm boots from, inside the server's network namespace, pinned to the server CPU:
 * one wispd (DHCP in reservation mode answering the relay, TFTP, HTTP boot, metadata, gRPC),
 * or the static baseline, dnsmasq (DHCP and TFTP) with nginx (the script, kernel and initrd).
 * Also the documents each machine needs in wispd: Hardware, and a Workflow of a 3-action
 * Template.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchHost, BenchNetwork } from "../dhcp/config.ts";
import { dnsmasqConfig } from "../dhcp/config.ts";
import { inNamespace, sh, type Link } from "../dhcp/netns.ts";
import { nginxConfig } from "../support/nginx.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** Ports inside the server namespace (nothing else listens there). */
export const HTTP_PORT = 7080;
export const GRPC_PORT = 42113;
/** Namespace of the storm's documents. */
export const NAMESPACE = "storm";
const TEMPLATE = "storm-three-actions";
/** Where Debian's ipxe package puts the binaries both servers serve. */
export const IPXE_DIR = "/usr/lib/ipxe";
export const IPXE_FILE = "undionly.kpxe";
/** Artifact names of Hook for x86_64, as wispd's script asks for them. */
export const KERNEL_FILE = "vmlinuz-x86_64";
export const INITRD_FILE = "initramfs-x86_64";
const READY_TIMEOUT_MS = 90_000;

/** The documents for the storm: a Template, then a Hardware and a Workflow per machine. */
export function stormDocuments(hosts: readonly BenchHost[], net: BenchNetwork): object[] {
  const actions = ["wipe", "image", "configure"];
  const template = {
    apiVersion: "tinkerbell.org/v1alpha1",
    kind: "Template",
    metadata: { name: TEMPLATE, namespace: NAMESPACE },
    spec: {
      data: `version: "0.1"\nname: ${TEMPLATE}\nglobal_timeout: 3600\ntasks:\n  - name: os\n    worker: "{{.device_1}}"\n    actions:\n${actions.map((a) => `      - name: ${a}\n        image: quay.io/tinkerbell/actions/${a}:latest\n        timeout: 600\n        environment: { DEST_DISK: /dev/sda }`).join("\n")}\n`,
    },
  };
  const docs: object[] = [template];
  for (const h of hosts) {
    docs.push({
      apiVersion: "tinkerbell.org/v1alpha1",
      kind: "Hardware",
      metadata: { name: h.name, namespace: NAMESPACE },
      spec: {
        interfaces: [{ dhcp: { mac: h.mac, hostname: h.name, arch: "x86_64", lease_time: 86_400, ip: { address: h.ip, netmask: net.netmask, gateway: net.relayIp } }, netboot: { allowPXE: true, allowWorkflow: true } }],
      },
    });
    docs.push({ apiVersion: "tinkerbell.org/v1alpha1", kind: "Workflow", metadata: { name: h.name, namespace: NAMESPACE }, spec: { templateRef: TEMPLATE, hardwareRef: h.name, hardwareMap: { device_1: h.mac } } });
  }
  return docs;
}

/** The Bun executable npm installed for this repository (the process measured is Bun itself). */
function bunExecutable(): string {
  const exe = join(ROOT, "node_modules", "bun", "bin", "bun.exe");
  return existsSync(exe) ? exe : process.execPath;
}

/** Waits until a URL answers 200 from inside namespace `ns` (curl), or throws naming `what`. */
export async function waitHttpIn(ns: string, url: string, what: string, proc: ReturnType<typeof Bun.spawn>, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}); see ${logFile}: ${tail(logFile)}`);
    if (sh(["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url], { allowFail: true }).trim() === "200") return;
    await Bun.sleep(200);
  }
  throw new Error(`${what} did not answer ${url} within ${READY_TIMEOUT_MS} ms; see ${logFile}`);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-3).join(" | ");
  } catch {
    return "";
  }
}

/** Servers started for a run; stop() ends them (SIGTERM, SIGKILL after a bounded wait), also on failure. */
export class Servers {
  private readonly live: ReturnType<typeof Bun.spawn>[] = [];
  spawn(argv: string[], logFile: string, env: Record<string, string> = {}): ReturnType<typeof Bun.spawn> {
    const p = Bun.spawn(argv, { stdout: Bun.file(logFile), stderr: Bun.file(logFile), stdin: "ignore", env: { ...process.env, ...env } });
    this.live.push(p);
    return p;
  }
  /** SIGTERM to each still running, not waited for: a SIGINT handler's first step, before what they use goes. */
  terminate(): void {
    for (const p of this.live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
  }
  async stop(graceMs = 10_000): Promise<void> {
    const alive = this.live.splice(0).filter((p) => p.exitCode === null && p.signalCode === null);
    for (const p of alive) p.kill("SIGTERM");
    await Promise.race([Promise.all(alive.map((p) => p.exited)), Bun.sleep(graceMs)]);
    for (const p of alive) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
}

/** A running wispd in the server namespace. */
export interface StormWispd {
  pid: number;
  url: string;
  apiToken: string;
  agentToken: string;
  logFile: string;
}

/**
 * Starts wispd on the link's server address with every service the storm uses; on PostgreSQL when
 * `database` is given (its URL, and the environment postgres.js reads beside it, e.g. PGHOST).
 */
export async function startStormWispd(procs: Servers, dir: string, link: Link, cpu: number, artifactsDir: string, logLevel: string, profileDir?: string, givenDataDir?: string, database?: { url: string; env: Record<string, string> }): Promise<StormWispd> {
  const dataDir = givenDataDir ?? join(dir, "wispd-data");
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dir, "wispd.log");
  const argv = [
    bunExecutable(),
    // Bun writes the CPU profile (and its Markdown digest) when wispd exits after SIGTERM.
    ...(profileDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profileDir}`] : []),
    join(ROOT, "daemon", "main.ts"),
    "--data-dir", dataDir,
    "--listen-address", link.serverIp,
    "--public-ip", link.serverIp,
    "--http-port", String(HTTP_PORT),
    "--grpc-port", String(GRPC_PORT),
    "--tftp-port", "69",
    "--syslog-port", "0",
    "--dhcp-interface", link.serverIface,
    "--dhcp-mode", "reservation",
    "--ipxe-dir", IPXE_DIR,
    "--artifacts-dir", artifactsDir,
    "--agent-auth", "token",
    "--log-level", logLevel,
    // The data directory still holds the API and agent tokens.
    ...(database ? ["--database-url", database.url] : []),
  ];
  const proc = procs.spawn(inNamespace(link.serverNs, cpu, argv), logFile, database?.env);
  const url = `http://${link.serverIp}:${HTTP_PORT}`;
  await waitHttpIn(link.serverNs, `${url}/healthz`, "wispd", proc, logFile);
  return { pid: proc.pid, url, apiToken: readFileSync(join(dataDir, "api-token"), "utf8").trim(), agentToken: readFileSync(join(dataDir, "agent-token"), "utf8").trim(), logFile };
}

/** Processes of the static baseline. */
export interface Baseline {
  dnsmasqPid: number;
  nginxPid: number;
  scriptUrl: string;
}

/**
 * dnsmasq serving the same reservations over DHCP (the PXE ROM gets undionly.kpxe over its TFTP,
 * iPXE's user class gets the script URL) and nginx serving a static script with the same kernel
 * and initrd; both on the server CPU.
 */
export async function startBaseline(procs: Servers, dir: string, link: Link, cpu: number, hosts: readonly BenchHost[], net: BenchNetwork, artifactsDir: string, maxTransfers: number): Promise<Baseline> {
  const web = join(dir, "nginx-root");
  const tftpRoot = join(dir, "tftp-root");
  mkdirSync(web, { recursive: true });
  mkdirSync(tftpRoot, { recursive: true });
  const base = `http://${link.serverIp}:${HTTP_PORT}`;
  writeFileSync(join(web, "auto.ipxe"), `#!ipxe\nkernel ${base}/${KERNEL_FILE} initrd=${INITRD_FILE} console=ttyS0\ninitrd ${base}/${INITRD_FILE}\nboot\n`);
  for (const f of [KERNEL_FILE, INITRD_FILE]) symlinkSync(join(artifactsDir, f), join(web, f));
  symlinkSync(join(IPXE_DIR, IPXE_FILE), join(tftpRoot, IPXE_FILE));

  const conf = join(dir, "dnsmasq.conf");
  const dnsmasqLog = join(dir, "dnsmasq.log");
  const lines = [
    ...dnsmasqConfig(hosts, net, { iface: link.serverIface, logFile: dnsmasqLog }),
    "enable-tftp",
    `tftp-root=${tftpRoot}`,
    `tftp-max=${maxTransfers}`,
    "dhcp-userclass=set:ipxe,iPXE",
    `dhcp-boot=tag:!ipxe,${IPXE_FILE},,${link.serverIp}`,
    `dhcp-boot=tag:ipxe,${base}/auto.ipxe`,
  ];
  writeFileSync(conf, lines.join("\n") + "\n");
  const dnsmasq = procs.spawn(inNamespace(link.serverNs, cpu, ["dnsmasq", "--no-daemon", `--conf-file=${conf}`]), join(dir, "dnsmasq.out"));

  const nginxDir = join(dir, "nginx");
  mkdirSync(nginxDir, { recursive: true });
  writeFileSync(join(nginxDir, "nginx.conf"), nginxConfig(nginxDir, web, HTTP_PORT, { host: link.serverIp, workerConnections: 16_384 }));
  const nginxLog = join(nginxDir, "error.log");
  const nginx = procs.spawn(inNamespace(link.serverNs, cpu, ["nginx", "-p", nginxDir, "-c", join(nginxDir, "nginx.conf"), "-e", nginxLog]), join(dir, "nginx.out"));
  await waitHttpIn(link.serverNs, `${base}/auto.ipxe`, "nginx", nginx, nginxLog);
  // dnsmasq: bound once its TFTP and DHCP sockets exist.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!sh(["ip", "netns", "exec", link.serverNs, "ss", "-Hulnp", "sport = :67"], { allowFail: true }).includes(`pid=${dnsmasq.pid},`)) {
    if (dnsmasq.exitCode !== null || Date.now() > deadline) throw new Error(`dnsmasq did not bind port 67; see ${dnsmasqLog} and ${join(dir, "dnsmasq.out")}: ${tail(join(dir, "dnsmasq.out"))}`);
    await Bun.sleep(100);
  }
  return { dnsmasqPid: dnsmasq.pid, nginxPid: nginx.pid, scriptUrl: `${base}/auto.ipxe` };
}
