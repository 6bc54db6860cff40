/**
 * Network namespaces for tests that send real packets: namespaces, veth pairs created directly
 * inside them (never on the host), bridges and addresses, commands and long-running processes
 * inside a namespace. Names are unique per lab (`wsp` + random), and everything is removed by
 * close() and, if the test process dies first, by a watcher (see cleanup.ts). Needs root.
 */
import type { Subprocess } from "bun";
import { randomBytes } from "node:crypto";
import { shellQuote, whenProcessGone } from "./cleanup.ts";

/** Whether this process may create namespaces; tests that need them skip only when this is false. */
export const IS_ROOT = process.getuid?.() === 0;
/** Longest interface name Linux takes (IFNAMSIZ 16, less the NUL). */
const MAX_IFNAME = 15;
/** Default bound on a command run inside a namespace. */
const EXEC_TIMEOUT_MS = 15_000;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the timeout killed it. */
  timedOut: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** One namespace of a lab. */
export interface Netns {
  readonly name: string;
  /** Runs `argv` inside the namespace to completion, killed after `timeoutMs`. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but throws (with stderr) unless it exits 0; resolves to stdout. */
  run(argv: string[], opts?: ExecOptions): Promise<string>;
  /** Starts `argv` inside the namespace with piped output; the lab kills it on close. */
  spawn(argv: string[], opts?: Omit<ExecOptions, "timeoutMs">): Subprocess<"ignore", "pipe", "pipe">;
}

/** One end of a veth pair. */
export interface LinkEnd {
  ns: Netns;
  name: string;
  mac?: string;
  /** CIDR, e.g. "10.77.0.1/24". */
  address?: string;
}

/** A set of namespaces removed together. */
export interface NetLab extends AsyncDisposable {
  /** `wsp` + 6 random characters: the start of every namespace name of this lab. */
  readonly prefix: string;
  /** Creates namespace `<prefix>-<label>` with loopback up and IPv6 off (no stray solicitations). */
  namespace(label: string): Promise<Netns>;
  /** A veth pair with one end in each namespace, both up. */
  link(a: LinkEnd, b: LinkEnd): Promise<void>;
  /** A bridge in `ns` over `ports`, up, with an optional CIDR address. */
  bridge(ns: Netns, name: string, ports: string[], address?: string): Promise<void>;
  /** Kills every process left in the lab's namespaces and deletes them. */
  close(): Promise<void>;
}

/** The accept backlog `ss` reports for this namespace's TCP listener on `port` (the Send-Q of its LISTEN line). */
export function listenBacklog(port: number): number {
  const line = Bun.spawnSync(["ss", "-Hltn", `sport = :${port}`]).stdout.toString().trim().split("\n")[0] ?? "";
  return Number(line.split(/\s+/)[2]);
}

/** Runs `argv` on the host to completion (bounded), capturing output. */
export async function execHost(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const proc = Bun.spawn(argv, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? EXEC_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut };
}

async function must(argv: string[], opts?: ExecOptions): Promise<string> {
  const r = await execHost(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

// Deletes the lab's namespaces, killing what runs in them first: a namespace with a process
// left in it outlives its name, and so do its links.
function removeScript(prefix: string): string {
  return `for ns in $(ip netns list | cut -d' ' -f1 | grep '^${prefix}-'); do ip netns pids "$ns" | xargs -r kill -9; ip netns del "$ns"; done`;
}

/** Creates an empty lab; close it in `finally` (or `await using`). */
export async function createNetLab(): Promise<NetLab> {
  if (!IS_ROOT) throw new Error("network namespaces need root");
  const prefix = `wsp${randomBytes(6).toString("base64url").replace(/[^a-z0-9]/gi, "").toLowerCase().padEnd(6, "0").slice(0, 6)}`;
  whenProcessGone(removeScript(prefix));
  const spawned = new Set<Subprocess>();
  let closed = false;

  const netns = (name: string): Netns => {
    const wrap = (argv: string[]) => ["ip", "netns", "exec", name, ...argv];
    return {
      name,
      exec: (argv, opts) => execHost(wrap(argv), opts),
      run: (argv, opts) => must(wrap(argv), opts),
      spawn(argv, opts = {}) {
        const proc = Bun.spawn(wrap(argv), { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
        spawned.add(proc);
        void proc.exited.then(() => spawned.delete(proc));
        return proc;
      },
    };
  };

  const checkName = (name: string) => {
    if (name.length === 0 || name.length > MAX_IFNAME) throw new Error(`interface name ${JSON.stringify(name)}: 1-${MAX_IFNAME} characters`);
  };
  const up = async (end: LinkEnd) => {
    if (end.mac) await must(["ip", "-n", end.ns.name, "link", "set", end.name, "address", end.mac]);
    if (end.address) await must(["ip", "-n", end.ns.name, "addr", "add", end.address, "dev", end.name]);
    await must(["ip", "-n", end.ns.name, "link", "set", end.name, "up"]);
  };

  const lab: NetLab = {
    prefix,
    async namespace(label) {
      if (closed) throw new Error("lab closed");
      const name = `${prefix}-${label}`;
      await must(["ip", "netns", "add", name]);
      await must(["ip", "-n", name, "link", "set", "lo", "up"]);
      await must(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
      return netns(name);
    },
    async link(a, b) {
      checkName(a.name);
      checkName(b.name);
      // Created inside the namespaces: the pair never appears among the host's interfaces.
      await must(["ip", "link", "add", a.name, "netns", a.ns.name, "type", "veth", "peer", "name", b.name, "netns", b.ns.name]);
      await up(a);
      await up(b);
    },
    async bridge(ns, name, ports, address) {
      checkName(name);
      await must(["ip", "-n", ns.name, "link", "add", name, "type", "bridge"]);
      for (const port of ports) await must(["ip", "-n", ns.name, "link", "set", port, "master", name]);
      await up({ ns, name, address });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const proc of spawned) proc.kill("SIGKILL");
      await Promise.all([...spawned].map((p) => p.exited));
      await must(["sh", "-c", removeScript(prefix)]);
      const left = (await must(["ip", "netns", "list"])).split("\n").filter((l) => l.startsWith(`${prefix}-`));
      if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(", ")}`);
    },
    [Symbol.asyncDispose]: () => lab.close(),
  };
  return lab;
}

/** Throws naming the Debian package when a tool a test drives is missing (tests never skip for it). */
export async function requireTools(tools: Record<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of Object.entries(tools)) {
    const r = await execHost(["sh", "-c", `command -v ${shellQuote(tool)} || test -x /usr/sbin/${shellQuote(tool)}`]);
    if (r.code !== 0) missing.push(`${tool} (apt-get install ${pkg})`);
  }
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(", ")}`);
}
