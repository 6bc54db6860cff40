/**
 * Boot artifacts over HTTP: wispd against nginx with wrk, in the same run, on loopback (server on
 * CPU 0, wrk and curl on CPU 1). The iPXE script wispd generates for a Hardware (fetched once and
 * written to a file) against nginx serving that file; a 100 MiB artifact against nginx serving
 * the same file, in GB/s with wrk (a few connections) and with curl (one stream). Targets are
 * measured in alternation, `--rounds` times; figures are medians. Writes docs/benchmarks/http.md
 * and bench/results/http.json.
 *
 *   npx bun bench/http/run.ts [--duration 5] [--rounds 2] [--connections 32] [--big-connections 4] [--curl-runs 5] [--baseline DIR]
 *
 * `--baseline DIR`: also measure wispd from DIR (a checkout of an earlier commit) on the script,
 * in the same rounds, for a before/after table.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startNginx } from "../support/nginx.ts";
import { CLIENT_CPU, need, needTwoCpus, pinned, SERVER_CPU } from "../support/pinning.ts";
import { benchRun, median, versionOf } from "../support/processes.ts";
import { machine, machineLine, writeResults, type Machine } from "../support/results.ts";
import { applyAndWait, fetchBytes, startWispd } from "../support/wispd.ts";
import { clockTicks, treeTicks } from "../support/cpu.ts";
import { commitOf } from "../support/baseline.ts";
import { startBaselineWispd } from "./baseline.ts";
import { runWrk, type WrkResult } from "../support/wrk.ts";

const MAC = "52:54:00:be:0c:02";
const BIG_BYTES = 100 * 1024 * 1024;
/** A machine allowed to netboot; the script is generated for it. */
const HARDWARE = {
  apiVersion: "tinkerbell.org/v1alpha1",
  kind: "Hardware",
  metadata: { name: "bench-boot", namespace: "default" },
  spec: {
    interfaces: [{ dhcp: { mac: MAC, hostname: "bench-boot", ip: { address: "10.0.0.10", netmask: "255.255.255.0", gateway: "10.0.0.1" } }, netboot: { allowPXE: true, allowWorkflow: true } }],
  },
};
const SCRIPT_PATH = `/ipxe/script/${MAC}/auto.ipxe`;
const TARGETS = [
  { name: "ipxe-script", wispd: SCRIPT_PATH, nginx: "/auto.ipxe", kind: "requests" },
  { name: "100MiB-artifact", wispd: "/artifacts/big.img", nginx: "/big.img", kind: "throughput" },
] as const;
const SERVERS = ["wispd", "nginx"] as const;
/** A server measured: `baseline` is wispd from `--baseline DIR` (an earlier build), on the script only. */
type Server = (typeof SERVERS)[number] | "baseline";

interface Measurement extends WrkResult {
  server: Server;
  target: string;
  round: number;
  connections: number;
  /** CPU seconds of the server's process tree over the measurement (/proc ticks before and after). */
  serverCpuSeconds: number;
  /** Server CPU per request in microseconds: steadier than req/s on a shared machine. */
  cpuMicrosPerRequest: number;
}

interface CurlRun {
  server: (typeof SERVERS)[number];
  bytesPerSecond: number;
}

/** One curl download to /dev/null on the client CPU: bytes/s as curl measured it. */
function curlSpeed(url: string): number {
  const [cmd, ...args] = pinned(CLIENT_CPU, ["curl", "-sS", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url]);
  const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`curl ${url}: ${r.stderr}`);
  const [speed, size] = r.stdout.trim().split(" ").map(Number);
  if (size !== BIG_BYTES) throw new Error(`curl ${url}: ${size} bytes, not ${BIG_BYTES}`);
  return speed!;
}

function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, "w", 0o644);
  try {
    for (let left = bytes; left > 0; left -= 1 << 20) writeSync(fd, randomBytes(Math.min(left, 1 << 20)));
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "5" },
      rounds: { type: "string", default: "2" },
      connections: { type: "string", default: "32" },
      "big-connections": { type: "string", default: "4" },
      "curl-runs": { type: "string", default: "5" },
      baseline: { type: "string" },
    },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const bigConnections = Number(values["big-connections"]);
  const curlRuns = Number(values["curl-runs"]);
  need("wrk", "wrk");
  need("nginx", "nginx-light");
  need("curl", "curl");
  needTwoCpus();

  const { dir, procs, cleanup } = benchRun("http");
  try {
    const host = machine();
    const www = join(dir, "www");
    const artifacts = join(dir, "artifacts");
    mkdirSync(www, { recursive: true });
    mkdirSync(artifacts, { recursive: true });
    writeRandomFile(join(artifacts, "big.img"), BIG_BYTES);
    // nginx serves the same inode: no second 100 MiB on disk, and both read the same page cache.
    spawnSync("ln", [join(artifacts, "big.img"), join(www, "big.img")]);

    const wispd = await startWispd(procs, join(dir, "wispd"), ["--public-ip", "127.0.0.1", "--artifacts-dir", artifacts]);
    await applyAndWait(wispd, [HARDWARE], SCRIPT_PATH);
    const script = await fetchBytes(`${wispd.url}${SCRIPT_PATH}`);
    writeFileSync(join(www, "auto.ipxe"), script);
    const nginx = await startNginx(procs, dir, www, "/auto.ipxe");
    const baseline = values.baseline === undefined ? undefined : await startBaselineWispd(procs, values.baseline, join(dir, "baseline"), ["--public-ip", "127.0.0.1", "--artifacts-dir", artifacts]);
    if (baseline) await applyAndWait(baseline, [HARDWARE], SCRIPT_PATH);
    const urls: Record<Server, string> = { wispd: wispd.url, nginx: nginx.url, baseline: baseline?.url ?? "" };
    const pathOf = (server: Server, t: (typeof TARGETS)[number]): string => (server === "nginx" ? t.nginx : t.wispd);
    // The script names its server's port: the baseline's differs in those digits only.
    const servers = (t: (typeof TARGETS)[number]): Server[] => (baseline && t.kind === "requests" ? ["wispd", "baseline", "nginx"] : [...SERVERS]);
    const sizes: Record<string, number> = {};
    for (const t of TARGETS) {
      const [a, b] = [await fetchBytes(`${wispd.url}${t.wispd}`), await fetchBytes(`${nginx.url}${t.nginx}`)];
      if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) throw new Error(`${t.name}: wispd and nginx bodies differ`);
      sizes[t.name] = a.length;
    }

    const conns = (t: (typeof TARGETS)[number]) => (t.kind === "requests" ? connections : bigConnections);
    for (const t of TARGETS) for (const server of servers(t)) runWrk(`${urls[server]}${pathOf(server, t)}`, 1, conns(t)); // warm-up
    const measurements: Measurement[] = [];
    const pids: Record<Server, number> = { wispd: wispd.pid, nginx: nginx.pid, baseline: baseline?.pid ?? 0 };
    const hz = clockTicks();
    for (let round = 1; round <= rounds; round++) {
      for (const t of TARGETS) {
        for (const server of servers(t)) {
          const before = treeTicks(pids[server]);
          const r = runWrk(`${urls[server]}${pathOf(server, t)}`, duration, conns(t));
          const serverCpuSeconds = (treeTicks(pids[server]) - before) / hz;
          const cpuMicrosPerRequest = r.requests > 0 ? (serverCpuSeconds / r.requests) * 1e6 : NaN;
          measurements.push({ ...r, server, target: t.name, round, connections: conns(t), serverCpuSeconds, cpuMicrosPerRequest });
          console.log(`round ${round} ${server.padEnd(8)} ${t.name.padEnd(16)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s  ${(r.bytesPerSecond / 1e9).toFixed(2)} GB/s  p50 ${r.latencyP50Ms?.toFixed(2)} ms  p99 ${r.latencyP99Ms?.toFixed(2)} ms  cpu ${cpuMicrosPerRequest.toFixed(1)} us/request`);
        }
      }
    }
    const curl: CurlRun[] = [];
    for (let i = 0; i < curlRuns; i++) {
      for (const server of SERVERS) curl.push({ server, bytesPerSecond: curlSpeed(`${urls[server]}${TARGETS[1][server]}`) });
    }
    host.loadavgAfter = loadavg();

    const of = (server: string, target: string, pick: (m: Measurement) => number) => median(measurements.filter((m) => m.server === server && m.target === target).map(pick));
    const curlOf = (server: string) => median(curl.filter((c) => c.server === server).map((c) => c.bytesPerSecond));
    const before = (pick: (m: Measurement) => number) => (baseline ? of("baseline", "ipxe-script", pick) : undefined);
    const summary: SummaryLine[] = [
      { line: `iPXE script (${sizes["ipxe-script"]} bytes), req/s, ${connections} connections`, wispd: of("wispd", "ipxe-script", (m) => m.requestsPerSecond), nginx: of("nginx", "ipxe-script", (m) => m.requestsPerSecond), baseline: before((m) => m.requestsPerSecond), unit: "req/s" },
      { line: `iPXE script, p50 latency (ms; ratio nginx / wispd)`, wispd: of("wispd", "ipxe-script", (m) => m.latencyP50Ms ?? NaN), nginx: of("nginx", "ipxe-script", (m) => m.latencyP50Ms ?? NaN), baseline: before((m) => m.latencyP50Ms ?? NaN), unit: "ms", lowerIsBetter: true },
      { line: `iPXE script, server CPU per request (µs; ratio nginx / wispd)`, wispd: of("wispd", "ipxe-script", (m) => m.cpuMicrosPerRequest), nginx: of("nginx", "ipxe-script", (m) => m.cpuMicrosPerRequest), baseline: before((m) => m.cpuMicrosPerRequest), unit: "µs", lowerIsBetter: true },
      { line: `iPXE script, p99 latency (ms; ratio nginx / wispd)`, wispd: of("wispd", "ipxe-script", (m) => m.latencyP99Ms ?? NaN), nginx: of("nginx", "ipxe-script", (m) => m.latencyP99Ms ?? NaN), baseline: before((m) => m.latencyP99Ms ?? NaN), unit: "ms", lowerIsBetter: true },
      { line: `100 MiB artifact, wrk ${bigConnections} connections, GB/s`, wispd: of("wispd", "100MiB-artifact", (m) => m.bytesPerSecond) / 1e9, nginx: of("nginx", "100MiB-artifact", (m) => m.bytesPerSecond) / 1e9, unit: "GB/s" },
      { line: `100 MiB artifact, curl one stream, GB/s`, wispd: curlOf("wispd") / 1e9, nginx: curlOf("nginx") / 1e9, unit: "GB/s" },
    ].map((s) => ({ ...s, ratio: s.lowerIsBetter ? s.nginx / s.wispd : s.wispd / s.nginx }));

    const record: RunRecord = {
      date: new Date().toISOString(),
      command: `npx bun bench/http/run.ts --duration ${duration} --rounds ${rounds} --connections ${connections} --big-connections ${bigConnections} --curl-runs ${curlRuns}${baseline ? ` --baseline ${values.baseline}` : ""}`,
      baselineCommit: values.baseline === undefined ? undefined : commitOf(values.baseline),
      host,
      versions: { bun: versionOf(["npx", "bun", "--version"]), nginx: versionOf(["nginx", "-v"]), wrk: versionOf(["wrk", "--version"]), curl: versionOf(["curl", "-V"]) },
      settings: { durationSeconds: duration, rounds, connections, bigConnections, curlRuns, threads: 1, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU, scriptBytes: sizes["ipxe-script"]!, bigBytes: BIG_BYTES },
      summary,
      measurements,
      curl,
    };
    writeResults("http", record, markdown(record));
    console.log("");
    for (const s of summary) console.log(`${s.line.padEnd(60)} wispd ${s.wispd.toFixed(2).padStart(10)}  nginx ${s.nginx.toFixed(2).padStart(10)}  ratio ${s.ratio.toFixed(2)}`);
  } finally {
    await cleanup();
  }
}

/** A line of the summary; ratio > 1 means wispd ahead. */
interface SummaryLine {
  line: string;
  wispd: number;
  nginx: number;
  /** The same figure for `--baseline`'s wispd, when there was one. */
  baseline?: number;
  unit: string;
  lowerIsBetter?: boolean;
  ratio: number;
}

type RunRecord = {
  date: string;
  command: string;
  /** What `--baseline` held (its .commit file or the directory name). */
  baselineCommit?: string;
  host: Machine;
  versions: Record<string, string>;
  settings: { durationSeconds: number; rounds: number; connections: number; bigConnections: number; curlRuns: number; threads: number; serverCpu: number; clientCpu: number; scriptBytes: number; bigBytes: number };
  summary: SummaryLine[];
  measurements: Measurement[];
  curl: CurlRun[];
};

function markdown(r: RunRecord): string {
  const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? "-" : n.toFixed(d));
  const s = r.settings;
  return `# HTTP boot: wispd against nginx

Generated by \`${r.command}\` on ${r.date}. Do not edit by hand.

Server on CPU ${s.serverCpu}, clients on CPU ${s.clientCpu} (taskset), over loopback. wispd (\`bin/wispd --public-ip 127.0.0.1
--artifacts-dir D\`) answers the iPXE script \`/ipxe/script/<mac>/auto.ipxe\` of an applied Hardware
(${s.scriptBytes} bytes; rendered once and kept until the hardware index changes, then answered by Bun's router
ahead of Elysia, looked up, logged at info and counted per request) and serves \`/artifacts/big.img\` (100 MiB of random bytes) with sendfile. nginx (one
process, \`daemon off\`, \`access_log off\`, \`sendfile on\`) serves a static file holding the script
wispd generated (fetched once and written) and a hard link to the same 100 MiB file; bodies are
compared before measuring. wrk: 1 thread, keep-alive, ${s.durationSeconds} s per measurement, ${s.connections} connections on
the script and ${s.bigConnections} on the 100 MiB file (GB/s = 10^9 bytes/s of wrk's Transfer/sec, headers included,
which are noise next to 100 MiB); the targets alternate in each of ${s.rounds} rounds and the figures are
medians. Server CPU is the time of the server's process tree over each measurement (/proc, utime +
stime, before and after), divided by the requests wrk completed: it moves less than req/s when
other work shares the machine. curl: ${s.curlRuns} single-stream downloads of the 100 MiB file to /dev/null per server, alternating,
median of curl's own speed. The file sits in the page cache, so this measures the server and the
loopback, not the disk.

## Summary (ratio > 1: wispd ahead)

| line | wispd | nginx | ratio |
| --- | ---: | ---: | ---: |
${r.summary.map((x) => `| ${x.line} | ${f(x.wispd, x.unit === "req/s" ? 0 : x.unit === "µs" ? 1 : 2)} ${x.unit} | ${f(x.nginx, x.unit === "req/s" ? 0 : x.unit === "µs" ? 1 : 2)} ${x.unit} | ${f(x.ratio, 2)} |`).join("\n")}

${beforeAfter(r)}## Where wispd's time goes

Profiled on 2026-11-22 (\`bun --cpu-prof\`, JavaScript samples while wrk asks for the script). Before the
rendered-script cache, rendering the script (string building, value checks) took about 37% of the
samples and normalising the MAC 6%. With the cache: the \`ipxe script served\` info line about a third
(one write(2) per line 17%, pino's JSON and its diagnostics-channel trace the rest; nginx here has
\`access_log off\`), Elysia's lifecycle (its context and the root app's onRequest, onBeforeHandle and
onAfterResponse hooks) about 20%, Bun's \`Response\` 14% (a Uint8Array body and a headers object per response) and
\`requestIP\` 8%. Then (issue 8): the script's two paths are answered by Bun.serve's own router ahead
of Elysia (\`daemon/http/native-routes.ts\` counts and times them as the hooks did), log lines are
written in batches while they come fast (\`batchedLines\` in \`daemon/lib/log.ts\`: the first after a
quiet 10 ms at once, the rest at the window's end), the per-request line is serialised as pino would
without its generic loop (\`preparedLine\`), the response shares a Blob and a Headers built once per
rendered script, and X-Forwarded-For is not read without \`--trusted-proxies\`. What is left of
the JavaScript samples: \`requestIP\` about 20%, \`Response\` 14%, the log line 18% (the batched
write included), the metrics 8%; the rest of the CPU is Bun's HTTP server itself (a bare
\`Bun.serve\` route answering the same bytes used about 15 µs per request in the same sitting).

## Every wrk measurement

| round | server | target | connections | req/s | GB/s | p50 ms | p99 ms | requests | server CPU s | CPU µs / request |
| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${r.measurements.map((m) => `| ${m.round} | ${m.server} | ${m.target} | ${m.connections} | ${f(m.requestsPerSecond)} | ${f(m.bytesPerSecond / 1e9, 2)} | ${f(m.latencyP50Ms, 2)} | ${f(m.latencyP99Ms, 2)} | ${m.requests} | ${f(m.serverCpuSeconds, 2)} | ${f(m.cpuMicrosPerRequest, 1)} |`).join("\n")}

curl, one stream, GB/s: ${SERVERS.map((sv) => `${sv} ${r.curl.filter((c) => c.server === sv).map((c) => f(c.bytesPerSecond / 1e9, 2)).join(", ")}`).join("; ")}.

Conditions: ${machineLine(r.host)} Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.
`;
}

/** The before/after table when a `--baseline` wispd was measured in the same run. */
function beforeAfter(r: RunRecord): string {
  const lines = r.summary.filter((x) => x.baseline !== undefined);
  if (lines.length === 0) return "";
  const f = (n: number, unit: string) => `${n.toFixed(unit === "req/s" ? 0 : unit === "µs" ? 1 : 2)} ${unit}`;
  return `## Before and after (same run)

wispd before this change (\`--baseline\`: ${r.baselineCommit}) and after it, measured in alternation with nginx in the
same rounds (ratio > 1: after is better).

| line | before | after | nginx | after / before |
| --- | ---: | ---: | ---: | ---: |
${lines.map((x) => `| ${x.line} | ${f(x.baseline!, x.unit)} | ${f(x.wispd, x.unit)} | ${f(x.nginx, x.unit)} | ${(x.lowerIsBetter ? x.baseline! / x.wispd : x.wispd / x.baseline!).toFixed(2)} |`).join("\n")}

`;
}

/** The commit a baseline directory holds: its `.commit` file (written by whoever extracted it), else its path. */
await main();
