/**
 * Metadata service throughput: wrk against a metadata leaf and against `/metadata` on wispd, and
 * against nginx serving static files with the same bytes, in the same run, on loopback. The
 * server is pinned to CPU 0 and wrk to CPU 1 (taskset); the four targets are measured in
 * alternation, `--rounds` times, so load from elsewhere on the machine falls on all of them.
 * Writes docs/benchmarks/metadata.md and bench/results/metadata.json.
 *
 *   npx bun bench/metadata/run.ts [--duration 5] [--rounds 2] [--connections 32] [--baseline DIR]
 *
 * Server CPU per request (/proc ticks of the server's process tree over each measurement) is
 * recorded too. `--baseline DIR`: wispd from DIR (a checkout of an earlier commit) is measured in
 * the same rounds, for a before/after table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBaselineWispd } from "../http/baseline.ts";
import { commitOf } from "../support/baseline.ts";
import { clockTicks, treeTicks } from "../support/cpu.ts";
import { startNginx } from "../support/nginx.ts";
import { CLIENT_CPU, need, needTwoCpus, SERVER_CPU } from "../support/pinning.ts";
import { benchRun, median, versionOf } from "../support/processes.ts";
import { machine, machineLine, writeResults, type RunHeader } from "../support/results.ts";
import { applyAndWait, fetchBytes, startWispd } from "../support/wispd.ts";
import { runWrk, type WrkResult } from "../support/wrk.ts";

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

type Server = "wispd" | "baseline" | "nginx";

interface Measurement extends WrkResult {
  server: Server;
  target: string;
  round: number;
  bytes: number;
  /** CPU seconds of the server's process tree over the measurement. */
  serverCpuSeconds: number;
  cpuMicrosPerRequest: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: "string", default: "5" }, rounds: { type: "string", default: "2" }, connections: { type: "string", default: "32" }, baseline: { type: "string" } } });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  need("wrk", "wrk");
  need("nginx", "nginx-light");
  needTwoCpus();

  const { dir, procs, cleanup } = benchRun("metadata");
  try {
    const host = machine();
    const wispd = await startWispd(procs, join(dir, "wispd"));
    const wispdUrl = wispd.url;
    await applyAndWait(wispd, [HARDWARE], TARGETS[0].path);

    // nginx serves the very bytes wispd answers with, so both send the same body sizes.
    mkdirSync(join(dir, "www"), { recursive: true });
    const sizes: Record<string, number> = {};
    for (const t of TARGETS) {
      const body = await fetchBytes(`${wispdUrl}${t.path}`);
      writeFileSync(join(dir, "www", t.file), body);
      sizes[t.name] = body.length;
    }
    const nginx = await startNginx(procs, dir, join(dir, "www"), `/${TARGETS[0].file}`);
    const nginxUrl = nginx.url;
    const baseline = values.baseline === undefined ? undefined : await startBaselineWispd(procs, values.baseline, join(dir, "baseline"));
    if (baseline) await applyAndWait(baseline, [HARDWARE], TARGETS[0].path);
    const servers: Server[] = baseline ? ["wispd", "baseline", "nginx"] : ["wispd", "nginx"];
    const pids: Record<Server, number> = { wispd: wispd.pid, baseline: baseline?.pid ?? 0, nginx: nginx.pid };
    const urlOf = (server: Server, t: (typeof TARGETS)[number]) => (server === "nginx" ? `${nginxUrl}/${t.file}` : `${server === "wispd" ? wispdUrl : baseline!.url}${t.path}`);
    for (const t of TARGETS) {
      const [a, b] = [await fetchBytes(`${wispdUrl}${t.path}`), await fetchBytes(`${nginxUrl}/${t.file}`)];
      if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) throw new Error(`${t.name}: wispd and nginx bodies differ`);
      if (baseline && Buffer.compare(Buffer.from(a), Buffer.from(await fetchBytes(urlOf("baseline", t)))) !== 0) throw new Error(`${t.name}: wispd and the baseline differ`);
    }

    const measurements: Measurement[] = [];
    for (const server of servers) for (const t of TARGETS) runWrk(urlOf(server, t), 1, connections); // warm-up
    const hz = clockTicks();
    for (let round = 1; round <= rounds; round++) {
      for (const t of TARGETS) {
        for (const server of servers) {
          const before = treeTicks(pids[server]);
          const r = runWrk(urlOf(server, t), duration, connections);
          const serverCpuSeconds = (treeTicks(pids[server]) - before) / hz;
          const cpuMicrosPerRequest = r.requests > 0 ? (serverCpuSeconds / r.requests) * 1e6 : NaN;
          measurements.push({ ...r, server, target: t.name, round, bytes: sizes[t.name]!, serverCpuSeconds, cpuMicrosPerRequest });
          console.log(`round ${round} ${server.padEnd(8)} ${t.name.padEnd(8)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${r.latencyP50Ms?.toFixed(2)} ms  p99 ${r.latencyP99Ms?.toFixed(2)} ms  cpu ${cpuMicrosPerRequest.toFixed(1)} us/request`);
        }
      }
    }
    host.loadavgAfter = loadavg();

    const summary = TARGETS.map((t) => {
      const of = (server: string, pick: (m: Measurement) => number = (m) => m.requestsPerSecond) => median(measurements.filter((m) => m.server === server && m.target === t.name).map(pick));
      const wispdRps = of("wispd");
      const nginxRps = of("nginx");
      const cpu = (m: Measurement) => m.cpuMicrosPerRequest;
      return {
        target: t.name, path: t.path, bytes: sizes[t.name]!, wispdRps, nginxRps, ratio: wispdRps / nginxRps,
        wispdCpuMicros: of("wispd", cpu), nginxCpuMicros: of("nginx", cpu),
        ...(baseline ? { baselineRps: of("baseline"), baselineCpuMicros: of("baseline", cpu) } : {}),
      };
    });
    const record: RunRecord = {
      date: new Date().toISOString(),
      command: `npx bun bench/metadata/run.ts --duration ${duration} --rounds ${rounds} --connections ${connections}${baseline ? ` --baseline ${values.baseline}` : ""}`,
      baselineCommit: values.baseline === undefined ? undefined : commitOf(values.baseline),
      host,
      versions: { bun: versionOf(["npx", "bun", "--version"]), nginx: versionOf(["nginx", "-v"]), wrk: versionOf(["wrk", "--version"]) },
      settings: { durationSeconds: duration, rounds, connections, threads: 1, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU },
      summary,
      measurements,
    };
    writeResults("metadata", record, markdown(record));
    for (const s of summary) console.log(`${s.target}: wispd ${s.wispdRps.toFixed(0)} req/s, nginx ${s.nginxRps.toFixed(0)} req/s, ratio ${s.ratio.toFixed(2)} (${s.bytes} bytes)`);
  } finally {
    await cleanup();
  }
}

type RunRecord = RunHeader & {
  settings: { durationSeconds: number; rounds: number; connections: number; threads: number; serverCpu: number; clientCpu: number };
  summary: { target: string; path: string; bytes: number; wispdRps: number; nginxRps: number; ratio: number; wispdCpuMicros: number; nginxCpuMicros: number; baselineRps?: number; baselineCpuMicros?: number }[];
  measurements: Measurement[];
};

function markdown(r: RunRecord): string {
  const f = (n: number | undefined, d = 0) => (n === undefined ? "-" : n.toFixed(d));
  return `# Metadata service: wispd against nginx

Generated by \`${r.command}\` on ${r.date}. Do not edit by hand.

wrk (1 thread, ${r.settings.connections} connections, keep-alive, ${r.settings.durationSeconds} s per measurement, ${r.settings.rounds} rounds)
on CPU ${r.settings.clientCpu}; the server on CPU ${r.settings.serverCpu} (taskset), over loopback. wispd answers as the
metadata service does in production: the peer 127.0.0.1 is looked up in the hardware index, the
Hardware's prepared tree is walked and the leaf sent. nginx serves static files holding the very
bytes wispd sends (checked before measuring), \`access_log off\`, one process. The four targets
are measured in alternation in each round; the figures are medians over the rounds. Server CPU
per request is the server's process-tree time over a measurement (/proc utime + stime, before and
after) divided by the requests wrk completed: it moves less than req/s on a shared machine.

| target | path | body bytes | wispd req/s | nginx req/s | wispd / nginx | wispd CPU µs / request | nginx CPU µs / request |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${r.summary.map((s) => `| ${s.target} | \`${s.path}\` | ${s.bytes} | ${f(s.wispdRps)} | ${f(s.nginxRps)} | ${f(s.ratio, 2)} | ${f(s.wispdCpuMicros, 1)} | ${f(s.nginxCpuMicros, 1)} |`).join("\n")}
${
  r.baselineCommit === undefined
    ? ""
    : `
## Before and after (same run)

wispd before this change (\`--baseline\`: ${r.baselineCommit}) and after it, in the same rounds.

| target | before req/s | after req/s | before CPU µs / request | after CPU µs / request | CPU after / before |
| --- | ---: | ---: | ---: | ---: | ---: |
${r.summary.map((s) => `| ${s.target} | ${f(s.baselineRps)} | ${f(s.wispdRps)} | ${f(s.baselineCpuMicros, 1)} | ${f(s.wispdCpuMicros, 1)} | ${f(s.wispdCpuMicros / s.baselineCpuMicros!, 2)} |`).join("\n")}
`
}
Every measurement:

| round | server | target | req/s | p50 ms | p99 ms | requests | server CPU s | CPU µs / request |
| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${r.measurements.map((m) => `| ${m.round} | ${m.server} | ${m.target} | ${f(m.requestsPerSecond)} | ${f(m.latencyP50Ms, 2)} | ${f(m.latencyP99Ms, 2)} | ${m.requests} | ${f(m.serverCpuSeconds, 2)} | ${f(m.cpuMicrosPerRequest, 1)} |`).join("\n")}

Conditions: ${machineLine(r.host)} Versions:
${Object.entries(r.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.
`;
}

await main();
