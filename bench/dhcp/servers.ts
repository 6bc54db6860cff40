/**
 * The three servers under test, each started in the server namespace pinned to one CPU, serving
 * the same reservations: Kea and dnsmasq from generated configuration files, wispd from Hardware
 * manifests applied through its REST API (the `wisp` CLI). `stop` is idempotent.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchHost, type BenchNetwork, chunks, dnsmasqConfig, hardwareYaml, keaConfig } from "./config.ts";
import { inNamespace, sh, type Link } from "./netns.ts";

/** Names accepted by `--servers`, in the order they run. */
export const SERVER_NAMES = ["wispd", "kea", "dnsmasq", "wispd-base"] as const;
/** What a run measures unless `--servers` says otherwise. */
export const DEFAULT_SERVERS: readonly ServerName[] = ["wispd", "kea", "dnsmasq"];
export type ServerName = (typeof SERVER_NAMES)[number];

/** How long a server may take to bind port 67 (wispd opens its store first). */
const BIND_TIMEOUT_MS = 60_000;
/** How long SIGTERM may take before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** Hardware objects per `wisp apply` (each apply is one transaction). */
const APPLY_BATCH = 2_000;
/** HTTP port of wispd inside its namespace (nothing else listens there). */
const WISPD_HTTP_PORT = 7080;

/** What every server needs to start. */
export interface StartContext {
  /** This server's namespace and link to the generator. */
  link: Link;
  /** Private scratch directory of this server. */
  dir: string;
  hosts: readonly BenchHost[];
  net: BenchNetwork;
  cpu: number;
  /** Repository root (for wispd and the wisp CLI). */
  root: string;
  /**
   * `--baseline-root`: another checkout of Wisp (e.g. `git archive` of an earlier commit) whose
   * daemon runs as `wispd-base`, so a change is measured against its parent in the same run.
   */
  baselineRoot?: string;
  note: (message: string) => void;
}

/** A running server. */
export interface RunningServer {
  name: ServerName;
  pid: number;
  version: string;
  /** Seconds from spawn until bound and (wispd) loaded with every reservation. */
  setupSeconds: number;
  logFile: string;
  stop(): Promise<number | null>;
}

/** Debian packages that provide each external program. */
export const PROGRAM_PACKAGES: Record<string, string> = {
  "kea-dhcp4": "kea-dhcp4-server",
  perfdhcp: "kea-admin",
  dnsmasq: "dnsmasq-base",
  ip: "iproute2",
  taskset: "util-linux",
  ss: "iproute2",
};

/** The programs a run needs for the chosen servers. */
export function requiredPrograms(servers: readonly ServerName[]): string[] {
  const need = ["ip", "taskset", "ss", "perfdhcp"];
  if (servers.includes("kea")) need.push("kea-dhcp4");
  if (servers.includes("dnsmasq")) need.push("dnsmasq");
  return need;
}

function spawnLogged(argv: string[], logFile: string, env: Record<string, string | undefined> = process.env): ReturnType<typeof Bun.spawn> {
  return Bun.spawn(argv, { stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.stderr`), stdin: "ignore", env });
}

function pidHasPort67(ns: string, pid: number): boolean {
  const out = sh(["ip", "netns", "exec", ns, "ss", "-Hulnp", "sport = :67"], { allowFail: true });
  return out.includes(`pid=${pid},`);
}

async function waitBound(name: string, proc: ReturnType<typeof Bun.spawn>, ns: string, logFile: string): Promise<void> {
  const deadline = Date.now() + BIND_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before binding port 67; see ${logFile}(.stderr): ${tail(`${logFile}.stderr`)}`);
    }
    if (pidHasPort67(ns, proc.pid)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${name} did not bind port 67 within ${BIND_TIMEOUT_MS} ms; see ${logFile}`);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-3).join(" | ");
  } catch {
    return "";
  }
}

function stopper(proc: ReturnType<typeof Bun.spawn>): () => Promise<number | null> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await proc.exited;
    clearTimeout(timer);
    return proc.exitCode;
  };
}

/** Installed version of a program, from its own version flag. */
export function programVersion(name: ServerName | "perfdhcp", root: string): string {
  switch (name) {
    case "kea":
      return sh(["kea-dhcp4", "-v"]).trim();
    case "dnsmasq":
      return /version (\S+)/.exec(sh(["dnsmasq", "--version"]))?.[1] ?? "unknown";
    case "perfdhcp":
      return sh(["perfdhcp", "-v"]).replace(/^VERSION:\s*/, "").trim();
    case "wispd":
    case "wispd-base":
      return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  }
}

async function startKea(ctx: StartContext): Promise<RunningServer> {
  const started = performance.now();
  const conf = join(ctx.dir, "kea-dhcp4.json");
  const logFile = join(ctx.dir, "kea-dhcp4.log");
  writeFileSync(conf, JSON.stringify(keaConfig(ctx.hosts, ctx.net, { iface: ctx.link.serverIface, leaseFile: join(ctx.dir, "kea-leases4.csv"), logFile }), null, 1));
  // Kea writes its pid and logger lock under /run/kea unless told otherwise.
  const env = { ...process.env, KEA_PIDFILE_DIR: ctx.dir, KEA_LOCKFILE_DIR: ctx.dir };
  const proc = spawnLogged(inNamespace(ctx.link.serverNs, ctx.cpu, ["kea-dhcp4", "-c", conf]), join(ctx.dir, "kea-dhcp4.out"), env);
  await waitBound("kea-dhcp4", proc, ctx.link.serverNs, join(ctx.dir, "kea-dhcp4.out"));
  return { name: "kea", pid: proc.pid, version: programVersion("kea", ctx.root), setupSeconds: (performance.now() - started) / 1000, logFile, stop: stopper(proc) };
}

async function startDnsmasq(ctx: StartContext): Promise<RunningServer> {
  const started = performance.now();
  const conf = join(ctx.dir, "dnsmasq.conf");
  const logFile = join(ctx.dir, "dnsmasq.log");
  writeFileSync(conf, dnsmasqConfig(ctx.hosts, ctx.net, { iface: ctx.link.serverIface, logFile }).join("\n") + "\n");
  const proc = spawnLogged(inNamespace(ctx.link.serverNs, ctx.cpu, ["dnsmasq", "--no-daemon", `--conf-file=${conf}`]), join(ctx.dir, "dnsmasq.out"));
  await waitBound("dnsmasq", proc, ctx.link.serverNs, join(ctx.dir, "dnsmasq.out"));
  return { name: "dnsmasq", pid: proc.pid, version: programVersion("dnsmasq", ctx.root), setupSeconds: (performance.now() - started) / 1000, logFile, stop: stopper(proc) };
}

/** The Bun executable npm installed for this repository (the process we measure is Bun itself). */
function bunExecutable(root: string): string {
  const exe = join(root, "node_modules", "bun", "bin", "bun.exe");
  return existsSync(exe) ? exe : process.execPath;
}

async function wispCli(ctx: StartContext, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(inNamespace(ctx.link.serverNs, undefined, ["node", join(ctx.root, "bin", "wisp"), ...args]), {
    env: { ...process.env, WISP_TOKEN: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out: out + err };
}

async function startWispd(ctx: StartContext, name: "wispd" | "wispd-base" = "wispd"): Promise<RunningServer> {
  const daemonRoot = name === "wispd-base" ? ctx.baselineRoot : ctx.root;
  if (daemonRoot === undefined) throw new Error("wispd-base needs --baseline-root");
  const started = performance.now();
  const dataDir = join(ctx.dir, "data");
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(ctx.dir, "wispd.log");
  const argv = [
    bunExecutable(ctx.root),
    join(daemonRoot, "daemon", "main.ts"),
    "--data-dir", dataDir,
    "--listen-address", "127.0.0.1",
    "--http-port", String(WISPD_HTTP_PORT),
    "--grpc-port", "0",
    "--public-ip", ctx.link.serverIp,
    "--dhcp-interface", ctx.link.serverIface,
    "--dhcp-mode", "reservation",
    "--log-level", "warn",
  ];
  const proc = spawnLogged(inNamespace(ctx.link.serverNs, ctx.cpu, argv), logFile);
  const stop = stopper(proc);
  try {
    await waitBound("wispd", proc, ctx.link.serverNs, logFile);
    const env = { WISP_SERVER: `http://127.0.0.1:${WISPD_HTTP_PORT}`, WISP_DATA_DIR: dataDir };
    // The API answers once the store is open; the token file exists by then.
    const deadline = Date.now() + BIND_TIMEOUT_MS;
    for (;;) {
      const r = await wispCli(ctx, ["get", "hardware", "-A", "-o", "json"], env);
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`wispd API not ready: ${r.out.trim()}`);
      await Bun.sleep(250);
    }
    const applyStarted = performance.now();
    const batches = chunks(ctx.hosts, APPLY_BATCH);
    for (const [i, batch] of batches.entries()) {
      const file = join(ctx.dir, `hardware-${i}.yaml`);
      writeFileSync(file, hardwareYaml(batch, ctx.net));
      const r = await wispCli(ctx, ["apply", "-f", file], env);
      if (r.code !== 0) throw new Error(`wisp apply -f ${file} failed (exit ${r.code}): ${r.out.trim().split("\n").slice(-3).join(" | ")}`);
    }
    ctx.note(`${name}: applied ${ctx.hosts.length} Hardware in ${((performance.now() - applyStarted) / 1000).toFixed(1)} s (${batches.length} wisp apply calls)`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, pid: proc.pid, version: programVersion(name, daemonRoot), setupSeconds: (performance.now() - started) / 1000, logFile, stop };
}

/** Starts one server; resolves once it is bound and loaded (the caller probes with DHCP). */
export function startServer(name: ServerName, ctx: StartContext): Promise<RunningServer> {
  mkdirSync(ctx.dir, { recursive: true });
  switch (name) {
    case "kea":
      return startKea(ctx);
    case "dnsmasq":
      return startDnsmasq(ctx);
    case "wispd":
    case "wispd-base":
      return startWispd(ctx, name);
  }
}
