/**
 * wispd and real DHCP clients inside network namespaces: start wispd in a namespace, apply
 * Hardware through its API with the wisp CLI, read /metrics, and run dhclient, udhcpc and a
 * hand-built packet probe with bounded retries. Used by the server-*.test.ts files.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { createNetLab, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
/** How long wispd may take to be ready (PGlite reopen, index load, sockets). */
const READY_TIMEOUT_MS = 30_000;
/** How long a Hardware change may take to reach the DHCP index. */
const INDEX_TIMEOUT_MS = 10_000;
/** Bound on a lab's set-up: namespaces, links, a PGlite copy, wispd ready, Hardware indexed. */
const LAB_SETUP_TIMEOUT_MS = 60_000;

/** The Debian packages that provide the tools these tests drive. */
export const CLIENT_TOOLS = { dhclient: "isc-dhcp-client", udhcpc: "udhcpc", dhcrelay: "isc-dhcp-relay", curl: "curl", setpriv: "util-linux" };

// Client scripts, their records and manifests go in one directory per test process, removed
// when the process is gone (however it ends).
let scratch: string | undefined;
function scratchDir(prefix: string): string {
  if (scratch === undefined) {
    scratch = mkdtempSync(join(tmpdir(), "wisp-dhcp-clients-"));
    whenProcessGone(`rm -rf ${shellQuote(scratch)}`);
  }
  return mkdtempSync(join(scratch, prefix));
}

export interface NsWispd {
  url: string;
  dataDir: string;
  logs: Record<string, unknown>[];
  /** Waits for a log line matching `match` (already logged or to come). */
  waitLog(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The /metrics text. */
  metrics(): Promise<string>;
  /** One sample of /metrics, 0 when absent. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Applies manifests (YAML text) with the wisp CLI, then waits until the DHCP index holds `entries` hosts. */
  apply(yaml: string, entries: number): Promise<void>;
  /** SIGTERM and wait; the exit code. */
  stop(): Promise<number>;
}

/** Starts wispd in `ns` on a copy of a PGlite data dir; `prefix` runs before it (e.g. setpriv). */
export async function startWispdIn(ns: Netns, dataDir: string, args: string[], prefix: string[] = []): Promise<NsWispd> {
  const proc = ns.spawn([...prefix, "node", join(ROOT, "bin", "wispd"), "--listen-address", "127.0.0.1", "--http-port", "0", "--data-dir", dataDir, ...args]);
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  void new Response(proc.stderr).text().then((t) => (stderr = t));
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ raw: line });
        }
      }
      for (const w of waiters) w();
    }
    ended = true;
    for (const w of waiters) w();
  })();

  const waitLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = READY_TIMEOUT_MS) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) return done(() => resolve(found));
        if (ended) done(() => reject(new Error(`wispd exited (${proc.exitCode}) before the log line: ${stderr}\n${tail(logs)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`log line not seen within ${timeoutMs} ms:\n${tail(logs)}`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });

  await waitLog((l) => l.msg === "wispd ready");
  const port = (logs.find((l) => l.msg === "http listening")!.port as number);
  const url = `http://127.0.0.1:${port}`;
  const metrics = () => ns.run(["curl", "-sS", "--max-time", "5", `${url}/metrics`]);
  const self: NsWispd = {
    url,
    dataDir,
    logs,
    waitLog,
    metrics,
    async metric(name, labels = {}) {
      return sample(await metrics(), name, labels);
    },
    async apply(yaml, entries) {
      const file = join(scratchDir("hw-"), "hardware.yaml");
      writeFileSync(file, yaml);
      await ns.run(["node", join(ROOT, "bin", "wisp"), "apply", "-f", file], { env: { WISP_SERVER: url, WISP_DATA_DIR: dataDir, WISP_TOKEN: "" } });
      const deadline = performance.now() + INDEX_TIMEOUT_MS;
      // The index is fed by the store's notifications in wispd: watch its size in /metrics.
      while ((await self.metric("wisp_hardware_index_entries")) < entries) {
        if (performance.now() > deadline) throw new Error(`the DHCP index did not reach ${entries} entries within ${INDEX_TIMEOUT_MS} ms`);
        await Bun.sleep(20);
      }
    },
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
  return self;
}

/** What a lab's topology gives wispd: the namespace it runs in, its arguments and the Hardware to apply. */
export interface WispdPlacement {
  server: Netns;
  args: string[];
  /** Runs before wispd, e.g. setpriv. */
  prefix?: string[];
  hardware?: { yaml: string; entries: number };
}

/**
 * For the enclosing describe block: before all, checks CLIENT_TOOLS, makes a net lab, lets
 * `topology` build its namespaces and links, starts wispd where it says on a fresh PGlite copy
 * and applies its Hardware; after all, stops wispd (expecting exit 0), closes the lab and
 * removes the copy. Read `lab` and `wispd` inside tests, not at describe time.
 */
export function wispdLab(topology: (lab: NetLab) => Promise<WispdPlacement>): { readonly lab: NetLab; readonly wispd: NsWispd } {
  let lab: NetLab | undefined;
  let wispd: NsWispd | undefined;
  let removeData: (() => void) | undefined;

  beforeAll(async () => {
    await requireTools(CLIENT_TOOLS);
    lab = await createNetLab();
    const placement = await topology(lab);
    const data = await pgliteDataDir();
    removeData = data.remove;
    wispd = await startWispdIn(placement.server, data.dataDir, placement.args, placement.prefix);
    if (placement.hardware) await wispd.apply(placement.hardware.yaml, placement.hardware.entries);
  }, LAB_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    // DEBUG_LOGS=1 prints wispd's DHCP log lines, to see what a failed exchange looked like.
    if (process.env.DEBUG_LOGS) for (const l of wispd?.logs ?? []) if (String(l.msg).startsWith("dhcp")) console.log(JSON.stringify(l));
    if (wispd) expect(await wispd.stop()).toBe(0);
    await lab?.close();
    removeData?.();
  });

  return {
    get lab() {
      if (!lab) throw new Error("the net lab is made in beforeAll: read it inside a test");
      return lab;
    },
    get wispd() {
      if (!wispd) throw new Error("wispd starts in beforeAll: read it inside a test");
      return wispd;
    },
  };
}

function tail(logs: Record<string, unknown>[]): string {
  return logs.slice(-15).map((l) => JSON.stringify(l)).join("\n");
}

/** The value of one sample in Prometheus text: the line with this name and these labels (0 if none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return 0;
}

/**
 * One Hardware with one interface, as users write it; `uefi` and name servers only when given,
 * `spec` lines (e.g. disks, metadata) appended under spec.
 */
export function hardwareYaml(h: { name: string; mac: string; ip: string; netmask?: string; gateway: string; dns?: string[]; hostname: string; uefi?: boolean; lease?: number; allowPXE?: boolean; spec?: string }): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata:
  name: ${h.name}
  namespace: default
spec:
  interfaces:
    - dhcp:
        mac: ${h.mac}
        hostname: ${h.hostname}
        arch: x86_64
${h.uefi === undefined ? "" : `        uefi: ${h.uefi}\n`}        ip:
          address: ${h.ip}
          netmask: ${h.netmask ?? "255.255.255.0"}
          gateway: ${h.gateway}
${h.dns === undefined ? "" : `        name_servers: [${h.dns.join(", ")}]\n`}        lease_time: ${h.lease ?? 600}
      netboot:
        allowPXE: ${h.allowPXE ?? true}
        allowWorkflow: true
${h.spec ?? ""}`;
}

/** A client's view of one event: the reason (BOUND, REBOOT, bound, renew...) and its variables. */
export type ClientEvent = Record<string, string>;

/** A directory with a client script that records each event's variables (and applies the address). */
export function clientScript(kind: "dhclient" | "udhcpc"): { dir: string; script: string; events(): ClientEvent[] } {
  const dir = scratchDir(`${kind}-`);
  const script = join(dir, "script.sh");
  // Both clients call the script with a scrubbed environment, so the paths are written in. Each
  // event is written whole, then renamed into place: a reader never sees half of one.
  const record = (reason: string, vars: string) =>
    `f=${dir}/$(date +%s%N).$$; { echo "reason=${reason}"; env | grep -E '^(${vars})' | sort; } > "$f.tmp" && mv "$f.tmp" "$f.event"`;
  const body =
    kind === "dhclient"
      ? `${record("$reason", "new_|old_")}
case "$reason" in BOUND|REBOOT|RENEW|REBIND) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface";; esac`
      : `${record("$1", "(ip|subnet|mask|router|dns|hostname|lease|serverid|domain|siaddr|boot_file|opt53)=")}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; esac`;
  writeFileSync(script, `#!/bin/sh\n${body}\nexit 0\n`);
  chmodSync(script, 0o755);
  return {
    dir,
    script,
    events: () =>
      readdirSync(dir)
        .filter((f) => f.endsWith(".event"))
        .sort()
        .map((f) => readFileSync(join(dir, f), "utf8").trim().split("\n"))
        .map((lines) => Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))),
  };
}

/** Waits until `events()` has one whose reason is in `reasons`; throws after `timeoutMs`. */
export async function waitEvent(events: () => ClientEvent[], reasons: string[], timeoutMs: number): Promise<ClientEvent> {
  let found: ClientEvent | undefined;
  await waitFor(() => (found = events().find((e) => reasons.includes(e.reason!))) !== undefined, timeoutMs, () => `no ${reasons.join("/")} event; events: ${JSON.stringify(events())}`);
  return found!;
}

/** Polls `done` (another process's files) until true; throws after `timeoutMs`. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: () => string = () => "condition not met"): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`within ${timeoutMs} ms: ${what()}`);
    await Bun.sleep(25);
  }
}

/** Sends `packets` (hex) from `ns` and prints the replies: see probe.ts. Resolves to them, decoded from hex. */
export async function probe(
  ns: Netns,
  opts: { iface: string; bindPort: number; to: string; packets: Uint8Array[]; waitMs: number; replies?: number },
): Promise<{ from: string; bytes: Uint8Array }[]> {
  const argv = [BUN, join(import.meta.dir, "probe.ts"), opts.iface, String(opts.bindPort), opts.to, String(opts.waitMs), String(opts.replies ?? 1), ...opts.packets.map((p) => Buffer.from(p).toString("hex"))];
  const out = await ns.run(argv, { timeoutMs: opts.waitMs + 10_000 });
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { from: string; hex: string })
    .map((r) => ({ from: r.from, bytes: new Uint8Array(Buffer.from(r.hex, "hex")) }));
}
