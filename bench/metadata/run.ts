/**
 * Metadata service throughput: wrk against a metadata leaf and against `/metadata` on wispd, and
 * against nginx serving static files with the same bytes, in the same run, on loopback. The
 * server is pinned to CPU 0 and wrk to CPU 1 (taskset); the four targets are measured in
 * alternation, `--rounds` times, so load from elsewhere on the machine falls on all of them.
 * Writes docs/benchmarks/metadata.md and bench/results/metadata.json.
 *
 *   npx bun bench/metadata/run.ts [--duration 5] [--rounds 2] [--connections 32]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dir, "..", "..");
const SERVER_CPU = 0;
const CLIENT_CPU = 1;
/** wispd identifies the machine by the peer: the benchmark's Hardware owns 127.0.0.1. */
const HARDWARE = {
  apiVersion: "tinkerbell.org/v1alpha1",
  kind: "Hardware",
  metadata: { name: "bench", namespace: "default" },
  spec: {
    interfaces: [{ dhcp: { mac: "52:54:00:be:0c:01", hostname: "bench", ip: { address: "127.0.0.1", netmask: "255.0.0.0" } } }],
    userData: "#cloud-config\nruncmd:\n  - [echo, bench]\n",
    metadata: {
      instance: {
        id: "i-bench-0001",
        hostname: "bench.lab",
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJlbmNobWFya2tleWZvcndpc3BtZXRhZGF0YQ bench@lab"],
        operating_system: { slug: "debian_12", distro: "debian", version: "12" },
        storage: {
          disks: [{ device: "/dev/nvme0n1", wipe_table: true, partitions: [{ label: "EFI", number: 1, size: 524288 }, { label: "ROOT", number: 2, size: 0 }] }],
          filesystems: [{ mount: { device: "/dev/nvme0n1p2", format: "ext4", point: "/", create: { options: ["-L", "ROOT"] } } }],
        },
      },
    },
  },
};
/** The two metadata paths measured, and the static file nginx serves for each. */
const TARGETS = [
  { name: "leaf", path: "/2009-04-04/meta-data/instance-id", file: "instance-id" },
  { name: "metadata", path: "/metadata", file: "metadata.json" },
] as const;

interface WrkResult {
  requestsPerSecond: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  requests: number;
  non2xx: number;
  errors: string | undefined;
}

interface Measurement extends WrkResult {
  server: "wispd" | "nginx";
  target: string;
  round: number;
  bytes: number;
}

function fail(message: string): never {
  console.error(`bench metadata: ${message}`);
  process.exit(1);
}

function need(tool: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0) fail(`${tool} is missing: apt-get install ${pkg}`);
}

/** Waits for a JSON log line of wispd with this message; resolves to it. */
function waitLog(proc: ChildProcess, msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`wispd: no "${msg}" within ${timeoutMs} ms`)), timeoutMs);
    proc.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec.msg === msg) {
            clearTimeout(timer);
            resolve(rec);
          }
        } catch {
          // not a log line
        }
      }
    });
    proc.on("exit", (code) => reject(new Error(`wispd exited (${code}) before "${msg}"`)));
  });
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (r.status !== 200) fail(`${url}: HTTP ${r.status}: ${await r.text()}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** A free loopback TCP port (bound and released). */
function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

function nginxConfig(dir: string, port: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type text/plain;
  sendfile on;
  client_body_temp_path ${dir}/body;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
  }
}
`;
}

const toMs = (value: string, unit: string): number => Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]!;

/** Parses wrk's report (with --latency). */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk output without Requests/sec:\n${out}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : undefined;
  };
  const requests = /(\d+) requests in/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const errors = /Socket errors:.*$/m.exec(out)?.[0];
  return { requestsPerSecond: Number(rps[1]), latencyP50Ms: pct("50"), latencyP99Ms: pct("99"), requests: Number(requests?.[1] ?? 0), non2xx: Number(non2xx?.[1] ?? 0), errors };
}

function wrk(url: string, seconds: number, connections: number): WrkResult {
  const r = spawnSync("taskset", ["-c", String(CLIENT_CPU), "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", url], { encoding: "utf8" });
  if (r.status !== 0) fail(`wrk ${url}: ${r.stderr || r.stdout}`);
  return parseWrk(r.stdout);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function versionOf(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "unknown";
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: "string", default: "5" }, rounds: { type: "string", default: "2" }, connections: { type: "string", default: "32" } } });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  need("wrk", "wrk");
  need("nginx", "nginx");
  need("taskset", "util-linux");
  if (cpus().length < 2) fail("needs two CPUs (server on CPU 0, wrk on CPU 1)");

  const dir = mkdtempSync(join(tmpdir(), "wisp-bench-metadata-"));
  const procs: ChildProcess[] = [];
  // Stops the servers and waits (bounded) for them to exit before their files are removed.
  const cleanup = async () => {
    const exited = procs.filter((p) => p.exitCode === null && p.signalCode === null).map((p) => new Promise((r) => p.once("exit", r)));
    for (const p of procs) p.kill("SIGTERM");
    await Promise.race([Promise.all(exited), Bun.sleep(10_000)]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    const loadBefore = loadavg();
    const dataDir = join(dir, "wispd");
    const wispd = spawn("taskset", ["-c", String(SERVER_CPU), "node", join(ROOT, "bin", "wispd"), "--data-dir", dataDir, "--listen-address", "127.0.0.1", "--http-port", "0", "--tftp-port", "0", "--syslog-port", "0", "--log-level", "info"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    procs.push(wispd);
    const port = (await waitLog(wispd, "http listening", 60_000)).port as number;
    const wispdUrl = `http://127.0.0.1:${port}`;
    const token = readFileSync(join(dataDir, "api-token"), "utf8").trim();
    const applied = await fetch(`${wispdUrl}/api/v1/apply`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ sources: [{ name: "bench.json", text: JSON.stringify(HARDWARE) }] }),
    });
    if (applied.status !== 200) fail(`apply: HTTP ${applied.status}: ${await applied.text()}`);
    // The index follows the store's notifications: wait until the machine is known.
    for (let i = 0; (await fetch(`${wispdUrl}${TARGETS[0].path}`)).status !== 200; i++) {
      if (i > 400) fail("the Hardware did not reach the index");
      await Bun.sleep(25);
    }

    // nginx serves the very bytes wispd answers with, so both send the same body sizes.
    mkdirSync(join(dir, "www"), { recursive: true });
    const sizes: Record<string, number> = {};
    for (const t of TARGETS) {
      const body = await fetchBytes(`${wispdUrl}${t.path}`);
      writeFileSync(join(dir, "www", t.file), body);
      sizes[t.name] = body.length;
    }
    const nginxPort = freePort();
    writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, nginxPort));
    const nginx = spawn("taskset", ["-c", String(SERVER_CPU), "nginx", "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { stdio: "ignore" });
    procs.push(nginx);
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${nginxUrl}/${TARGETS[0].file}`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (i > 200) fail("nginx did not answer");
      await Bun.sleep(25);
    }
    for (const t of TARGETS) {
      const [a, b] = [await fetchBytes(`${wispdUrl}${t.path}`), await fetchBytes(`${nginxUrl}/${t.file}`)];
      if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) fail(`${t.name}: wispd and nginx bodies differ`);
    }

    const measurements: Measurement[] = [];
    for (const server of ["wispd", "nginx"] as const) for (const t of TARGETS) wrk(server === "wispd" ? `${wispdUrl}${t.path}` : `${nginxUrl}/${t.file}`, 1, connections); // warm-up
    for (let round = 1; round <= rounds; round++) {
      for (const t of TARGETS) {
        for (const server of ["wispd", "nginx"] as const) {
          const url = server === "wispd" ? `${wispdUrl}${t.path}` : `${nginxUrl}/${t.file}`;
          const r = wrk(url, duration, connections);
          if (r.non2xx > 0) fail(`${server} ${t.name}: ${r.non2xx} responses were not 2xx`);
          measurements.push({ ...r, server, target: t.name, round, bytes: sizes[t.name]! });
          console.log(`round ${round} ${server.padEnd(5)} ${t.name.padEnd(8)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${r.latencyP50Ms?.toFixed(2)} ms  p99 ${r.latencyP99Ms?.toFixed(2)} ms`);
        }
      }
    }
    const loadAfter = loadavg();

    const summary = TARGETS.map((t) => {
      const of = (server: string) => median(measurements.filter((m) => m.server === server && m.target === t.name).map((m) => m.requestsPerSecond));
      const wispdRps = of("wispd");
      const nginxRps = of("nginx");
      return { target: t.name, path: t.path, bytes: sizes[t.name]!, wispdRps, nginxRps, ratio: wispdRps / nginxRps };
    });
    const record = {
      date: new Date().toISOString(),
      host: { cpus: cpus().length, model: cpus()[0]?.model, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
      versions: { bun: versionOf(["npx", "bun", "--version"]), nginx: versionOf(["nginx", "-v"]), wrk: versionOf(["wrk", "--version"]) },
      settings: { durationSeconds: duration, rounds, connections, threads: 1, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU },
      summary,
      measurements,
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "metadata.json"), JSON.stringify(record, null, 2) + "\n");
    mkdirSync(join(ROOT, "docs", "benchmarks"), { recursive: true });
    writeFileSync(join(ROOT, "docs", "benchmarks", "metadata.md"), markdown(record));
    for (const s of summary) console.log(`${s.target}: wispd ${s.wispdRps.toFixed(0)} req/s, nginx ${s.nginxRps.toFixed(0)} req/s, ratio ${s.ratio.toFixed(2)} (${s.bytes} bytes)`);
  } finally {
    await cleanup();
  }
}

type RunRecord = {
  date: string;
  host: { cpus: number; model?: string; loadavgBefore: number[]; loadavgAfter: number[] };
  versions: Record<string, string>;
  settings: { durationSeconds: number; rounds: number; connections: number; serverCpu: number; clientCpu: number };
  summary: { target: string; path: string; bytes: number; wispdRps: number; nginxRps: number; ratio: number }[];
  measurements: Measurement[];
};

function markdown(r: RunRecord): string {
  const f = (n: number | undefined, d = 0) => (n === undefined ? "-" : n.toFixed(d));
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  return `# Metadata service: wispd against nginx

Generated by \`npx bun bench/metadata/run.ts\` on ${r.date}. Do not edit by hand.

wrk (1 thread, ${r.settings.connections} connections, keep-alive, ${r.settings.durationSeconds} s per measurement, ${r.settings.rounds} rounds)
on CPU ${r.settings.clientCpu}; the server on CPU ${r.settings.serverCpu} (taskset), over loopback. wispd answers as the
metadata service does in production: the peer 127.0.0.1 is looked up in the hardware index, the
Hardware's prepared tree is walked and the leaf sent. nginx serves static files holding the very
bytes wispd sends (checked before measuring), \`access_log off\`, one process. The four targets
are measured in alternation in each round; the figures are medians over the rounds.

| target | path | body bytes | wispd req/s | nginx req/s | wispd / nginx |
| --- | --- | ---: | ---: | ---: | ---: |
${r.summary.map((s) => `| ${s.target} | \`${s.path}\` | ${s.bytes} | ${f(s.wispdRps)} | ${f(s.nginxRps)} | ${f(s.ratio, 2)} |`).join("\n")}

Every measurement:

| round | server | target | req/s | p50 ms | p99 ms | requests |
| ---: | --- | --- | ---: | ---: | ---: | ---: |
${r.measurements.map((m) => `| ${m.round} | ${m.server} | ${m.target} | ${f(m.requestsPerSecond)} | ${f(m.latencyP50Ms, 2)} | ${f(m.latencyP99Ms, 2)} | ${m.requests} |`).join("\n")}

Conditions: ${r.host.cpus} CPUs (${r.host.model ?? "unknown model"}), load average (1/5/15 min) ${load(r.host.loadavgBefore)} before
and ${load(r.host.loadavgAfter)} after. The machine is shared with other work, which lands on both
CPUs during the run: absolute figures move from run to run, the ratio less so. Versions:
${Object.entries(r.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.
`;
}

await main();
