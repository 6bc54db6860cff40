/**
 * Boot artifacts over TFTP: wispd against tftpd-hpa (`in.tftpd -L`), the same files (a 1 MiB
 * random file and Debian's undionly.kpxe) from one directory, each server on its own loopback
 * port, pinned to CPU 0; clients on CPU 1: curl `tftp://` (blksize 1468, no windowsize) and the
 * RFC 7440 client of the tests (bench/tftp/load.ts), one stream and 200 / 1,000 transfers at
 * once. tftpd-hpa has no windowsize, so wispd with windowsize is set against tftpd-hpa's best.
 * Server CPU is the server's process tree's time from /proc. Writes docs/benchmarks/tftp.md and
 * bench/results/tftp.json.
 *
 *   npx bun bench/tftp/run.ts [--repeat 5] [--concurrency 200,1000] [--windowsize 16] [--baseline DIR]
 *
 * `--baseline DIR`: wispd from DIR (a checkout of an earlier commit) is measured on the lockstep
 * single streams too, in the same run, for a before/after table. wispd's CPU per DATA block on a
 * single stream comes from /proc ticks before and after the stream's transfers.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBaselineWispd } from "../http/baseline.ts";
import { commitOf } from "../support/baseline.ts";
import { busyShare, clockTicks, cpuTicks, sampleTree, treeTicks } from "../support/cpu.ts";
import { CLIENT_CPU, need, needTwoCpus, pinned, SERVER_CPU } from "../support/pinning.ts";
import { benchRun, freeUdpPort, median, ProcessSet, versionOf, waitUntil } from "../support/processes.ts";
import { machine, machineLine, writeResults, type RunHeader } from "../support/results.ts";
import { startWispd } from "../support/wispd.ts";
import type { LoadBatch } from "./load.ts";

const ROOT = join(import.meta.dir, "..", "..");
const LOAD = join(import.meta.dir, "load.ts");
const UNDIONLY = "/usr/lib/ipxe/undionly.kpxe";
/** RFC 2348 blksize that fills a 1500-byte Ethernet frame; the largest wispd offers by default. */
const BLKSIZE = 1468;
const BIG = "1m.bin";
const SERVERS = ["wispd", "tftpd-hpa"] as const;
/** `baseline`: wispd from `--baseline DIR`, on the lockstep single streams only. */
type ServerName = (typeof SERVERS)[number] | "baseline";

interface Server {
  name: ServerName;
  port: number;
  pid: number;
}

/** One stream: MB/s (10^6 bytes/s) over `repeat` sequential transfers. */
interface StreamLine {
  client: string;
  file: string;
  bytes: number;
  windowsize?: number;
  server: ServerName;
  transferMs: number[];
  medianMs: number;
  mbPerSecond: number;
  /**
   * Server CPU per DATA block sent, microseconds, over all the stream's transfers (wispd and the
   * baseline: one process; tftpd-hpa's unreaped per-transfer children cannot be read this way).
   */
  cpuMicrosPerBlock?: number;
}

/** Transfers at once. */
interface ConcurrentLine {
  server: ServerName;
  count: number;
  windowsize?: number;
  wallSeconds: number;
  failures: number;
  errors: string[];
  duplicateData: number;
  p50Ms: number;
  maxMs: number;
  /** All bytes over the wall time, MB/s. */
  mbPerSecond: number;
  serverCpuSeconds: number;
  serverCoreBusy: number;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

function curlTftp(port: number, file: string, blksize: number): number {
  const [cmd, ...args] = pinned(CLIENT_CPU, ["curl", "-sS", "-o", "/dev/null", "--tftp-blksize", String(blksize), "-w", "%{time_total} %{size_download}", `tftp://127.0.0.1:${port}/${file}`]);
  const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`curl tftp ${file} on ${port}: ${r.stderr}`);
  const [seconds] = r.stdout.trim().split(" ");
  return Number(seconds) * 1000;
}

async function load(port: number, file: string, sha: string, count: number, repeat: number, windowsize?: number): Promise<LoadBatch[]> {
  const argv = ["npx", "bun", LOAD, "--port", String(port), "--file", file, "--sha256", sha, "--count", String(count), "--repeat", String(repeat), "--blksize", String(BLKSIZE)];
  if (windowsize) argv.push("--windowsize", String(windowsize));
  const [cmd, ...args] = pinned(CLIENT_CPU, argv);
  const proc = Bun.spawn([cmd!, ...args], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const timer = setTimeout(() => proc.kill(), 600_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  if ((await proc.exited) !== 0) throw new Error(`load generator: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as LoadBatch[];
}

async function startTftpd(procs: ProcessSet, dir: string): Promise<Server> {
  const port = await freeUdpPort();
  // -L: stay in the foreground; -s: chroot into the directory; it drops to the tftp user.
  const [cmd, ...args] = pinned(SERVER_CPU, ["in.tftpd", "-L", "-s", dir, "-a", `127.0.0.1:${port}`]);
  const proc = procs.add(spawn(cmd!, args, { stdio: ["ignore", "ignore", "inherit"] }));
  await waitUntil("tftpd-hpa did not answer", async () => {
    const r = spawnSync("curl", ["-sS", "-o", "/dev/null", "--max-time", "1", `tftp://127.0.0.1:${port}/${BIG}`]);
    return r.status === 0;
  });
  return { name: "tftpd-hpa", port, pid: proc.pid! };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeat: { type: "string", default: "5" }, concurrency: { type: "string", default: "200,1000" }, windowsize: { type: "string", default: "16" }, baseline: { type: "string" } } });
  const repeat = Number(values.repeat);
  const counts = values.concurrency!.split(",").map(Number);
  const windowsize = Number(values.windowsize);
  need("in.tftpd", "tftpd-hpa");
  need("curl", "curl");
  needTwoCpus();
  // This process samples /proc while the load runs: keep it off the server's CPU.
  spawnSync("taskset", ["-a", "-p", "-c", String(CLIENT_CPU), String(process.pid)], { stdio: "ignore" });

  const { dir, procs, cleanup } = benchRun("tftp");
  try {
    const host = machine();
    // One directory for both servers; tftpd-hpa drops to the tftp user, so it must be readable.
    const files = join(dir, "files");
    mkdirSync(files);
    chmodSync(dir, 0o755);
    writeFileSync(join(files, BIG), randomBytes(1024 * 1024));
    copyFileSync(UNDIONLY, join(files, "undionly.kpxe"));
    for (const f of [BIG, "undionly.kpxe"]) chmodSync(join(files, f), 0o644);
    const content = Object.fromEntries([BIG, "undionly.kpxe"].map((f) => [f, readFileSync(join(files, f))]));

    const wispdPort = await freeUdpPort();
    const wispd = await startWispd(procs, join(dir, "wispd"), ["--tftp-port", String(wispdPort), "--ipxe-dir", files, "--artifacts-dir", files], "tftp serving");
    const servers: Server[] = [{ name: "wispd", port: wispdPort, pid: wispd.pid }, await startTftpd(procs, files)];
    let baseline: Server | undefined;
    if (values.baseline !== undefined) {
      const port = await freeUdpPort();
      const b = await startBaselineWispd(procs, values.baseline, join(dir, "baseline"), ["--tftp-port", String(port), "--ipxe-dir", files, "--artifacts-dir", files], "tftp serving");
      baseline = { name: "baseline", port, pid: b.pid };
    }
    // The lockstep streams: the baseline between wispd and tftpd-hpa when there is one.
    const streamServers: Server[] = baseline ? [servers[0]!, baseline, servers[1]!] : servers;

    // Both send the same bytes (checked), and a warm-up transfer each.
    for (const s of streamServers) for (const f of [BIG, "undionly.kpxe"]) {
      const [b] = await load(s.port, f, sha256(content[f]!), 1, 1);
      if (b!.failures > 0) throw new Error(`${s.name} ${f}: ${b!.errors.join("; ")}`);
    }

    const streams: StreamLine[] = [];
    const hz = clockTicks();
    const stream = async (s: Server, client: string, file: string, measure: () => Promise<number[]> | number[], ws?: number) => {
      const bytes = content[file]!.length;
      const before = treeTicks(s.pid);
      const transferMs = await measure();
      const blocks = transferMs.length * (Math.floor(bytes / BLKSIZE) + 1);
      const cpuMicrosPerBlock = s.name === "tftpd-hpa" ? undefined : ((treeTicks(s.pid) - before) / hz / blocks) * 1e6;
      const line: StreamLine = { client, file, bytes, windowsize: ws, server: s.name, transferMs, medianMs: median(transferMs), mbPerSecond: mbps(bytes, median(transferMs)), cpuMicrosPerBlock };
      streams.push(line);
      console.log(`stream ${client.padEnd(12)} ws ${String(ws ?? "-").padEnd(3)} ${file.padEnd(14)} ${s.name.padEnd(9)} ${line.mbPerSecond.toFixed(1).padStart(7)} MB/s  median ${line.medianMs.toFixed(1)} ms${cpuMicrosPerBlock === undefined ? "" : `  cpu ${cpuMicrosPerBlock.toFixed(1)} us/block`}`);
    };
    for (const file of [BIG, "undionly.kpxe"]) {
      for (const s of streamServers) await stream(s, "curl", file, () => Array.from({ length: repeat }, () => curlTftp(s.port, file, BLKSIZE)));
      for (const s of streamServers) await stream(s, "rfc7440", file, async () => (await load(s.port, file, sha256(content[file]!), 1, repeat)).map((b) => b.wallMs));
      await stream(servers[0]!, "rfc7440", file, async () => (await load(wispdPort, file, sha256(content[file]!), 1, repeat, windowsize)).map((b) => b.wallMs), windowsize);
    }

    const concurrent: ConcurrentLine[] = [];
    const ticks = hz;
    for (const count of counts) {
      const runs: [Server, number | undefined][] = [[servers[0]!, undefined], [servers[1]!, undefined], [servers[0]!, windowsize]];
      for (const [s, ws] of runs) {
        const cpuBefore = cpuTicks();
        const sampler = sampleTree(s.pid);
        const [b] = await load(s.port, BIG, sha256(content[BIG]!), count, 1, ws);
        const serverCpuSeconds = sampler.stop() / ticks;
        const serverCoreBusy = busyShare(cpuBefore, cpuTicks(), SERVER_CPU);
        const ok = count - b!.failures;
        const line: ConcurrentLine = {
          server: s.name, count, windowsize: ws, wallSeconds: b!.wallMs / 1000, failures: b!.failures, errors: b!.errors, duplicateData: b!.duplicateData,
          p50Ms: median(b!.transferMs), maxMs: Math.max(...b!.transferMs), mbPerSecond: mbps(ok * content[BIG]!.length, b!.wallMs), serverCpuSeconds, serverCoreBusy,
        };
        concurrent.push(line);
        console.log(`${String(count).padStart(5)} at once ${s.name.padEnd(9)} ws ${String(ws ?? "-").padEnd(3)} ${line.wallSeconds.toFixed(2)} s  ${line.failures} failed  ${line.mbPerSecond.toFixed(1)} MB/s  server CPU ${serverCpuSeconds.toFixed(2)} s  core ${SERVER_CPU} busy ${(serverCoreBusy * 100).toFixed(0)}%`);
      }
    }
    host.loadavgAfter = loadavg();

    const record: RunRecord = {
      date: new Date().toISOString(),
      command: `npx bun bench/tftp/run.ts --repeat ${repeat} --concurrency ${counts.join(",")} --windowsize ${windowsize}${baseline ? ` --baseline ${values.baseline}` : ""}`,
      baselineCommit: values.baseline === undefined ? undefined : commitOf(values.baseline),
      host,
      versions: { bun: versionOf(["npx", "bun", "--version"]), "tftpd-hpa": versionOf(["in.tftpd", "-V"]), curl: versionOf(["curl", "-V"]) },
      settings: { blksize: BLKSIZE, windowsize, repeat, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU, files: Object.fromEntries(Object.entries(content).map(([f, b]) => [f, { bytes: b.length, sha256: sha256(b) }])) },
      summary: summarize(streams, concurrent, windowsize),
      streams,
      concurrent,
    };
    writeResults("tftp", record, markdown(record));
    console.log("");
    for (const s of record.summary) console.log(`${s.line.padEnd(64)} wispd ${s.wispd.padStart(10)}  tftpd-hpa ${s.peer.padStart(10)}  ratio ${s.ratio.toFixed(2)}`);
  } finally {
    await cleanup();
  }
}

/** A line of the summary: higher ratio is better for wispd. */
interface SummaryLine {
  line: string;
  wispd: string;
  peer: string;
  ratio: number;
}

function summarize(streams: StreamLine[], concurrent: ConcurrentLine[], ws: number): SummaryLine[] {
  const out: SummaryLine[] = [];
  const find = (server: ServerName, client: string, file: string, w?: number) => streams.find((s) => s.server === server && s.client === client && s.file === file && s.windowsize === w)!;
  for (const file of [BIG, "undionly.kpxe"]) {
    const peerBest = [find("tftpd-hpa", "curl", file), find("tftpd-hpa", "rfc7440", file)].sort((a, b) => b.mbPerSecond - a.mbPerSecond)[0]!;
    for (const client of ["curl", "rfc7440"]) {
      const [w, p] = [find("wispd", client, file), find("tftpd-hpa", client, file)];
      out.push({ line: `one stream, ${file}, ${client}, blksize ${BLKSIZE}`, wispd: `${w.mbPerSecond.toFixed(1)} MB/s`, peer: `${p.mbPerSecond.toFixed(1)} MB/s`, ratio: w.mbPerSecond / p.mbPerSecond });
    }
    const w = find("wispd", "rfc7440", file, ws);
    out.push({ line: `one stream, ${file}, wispd windowsize ${ws} vs tftpd-hpa's best (${peerBest.client})`, wispd: `${w.mbPerSecond.toFixed(1)} MB/s`, peer: `${peerBest.mbPerSecond.toFixed(1)} MB/s`, ratio: w.mbPerSecond / peerBest.mbPerSecond });
  }
  for (const count of new Set(concurrent.map((c) => c.count))) {
    const p = concurrent.find((c) => c.server === "tftpd-hpa" && c.count === count)!;
    for (const w of concurrent.filter((c) => c.server === "wispd" && c.count === count)) {
      const label = w.windowsize ? `, wispd windowsize ${w.windowsize} vs tftpd-hpa without` : "";
      out.push({ line: `${count} x 1 MiB at once (completion time)${label}`, wispd: `${w.wallSeconds.toFixed(2)} s`, peer: `${p.wallSeconds.toFixed(2)} s`, ratio: p.wallSeconds / w.wallSeconds });
    }
  }
  return out;
}

type RunRecord = RunHeader & {
  settings: { blksize: number; windowsize: number; repeat: number; serverCpu: number; clientCpu: number; files: Record<string, { bytes: number; sha256: string }> };
  summary: SummaryLine[];
  streams: StreamLine[];
  concurrent: ConcurrentLine[];
};

function markdown(r: RunRecord): string {
  const f = (n: number | undefined, d = 0) => (n === undefined ? "-" : n.toFixed(d));
  return `# TFTP: wispd against tftpd-hpa

Generated by \`${r.command}\` on ${r.date}. Do not edit by hand.

Both servers serve the same directory (a 1 MiB random file \`${BIG}\` and Debian's \`undionly.kpxe\`,
${r.settings.files["undionly.kpxe"]?.bytes} bytes) on their own loopback port, pinned to CPU ${r.settings.serverCpu} (taskset): wispd (\`bin/wispd
--tftp-port P --ipxe-dir D --artifacts-dir D\`) and tftpd-hpa (\`in.tftpd -L -s D -a 127.0.0.1:P\`, one
process forked per transfer). The clients run on CPU ${r.settings.clientCpu}: curl \`tftp://\` with \`--tftp-blksize
${r.settings.blksize}\` (no windowsize; curl also asks for tsize), and the RFC 7440 client of the tests
(\`bench/tftp/load.ts\`, blksize ${r.settings.blksize}, ACK timeout 1 s), which checks every file's SHA-256.
tftpd-hpa does not implement windowsize, so wispd with windowsize ${r.settings.windowsize} is set against tftpd-hpa's
best figure. One stream: the median of ${r.settings.repeat} sequential transfers, MB/s = 10^6 bytes/s. Transfers at
once: all requests sent together by one client process; completion time is first request to
last block; server CPU is the time of the server's process tree (wispd's Bun process;
tftpd-hpa and its per-transfer children, sampled every 100 ms from /proc, so up to 100 ms of each
tftpd-hpa child's end is missed: its figure is a lower bound); core busy is all of CPU ${r.settings.serverCpu} (including
the loopback's softirq work and anything else scheduled there).

## Summary (ratio > 1: wispd ahead)

| line | wispd | tftpd-hpa | ratio |
| --- | ---: | ---: | ---: |
${r.summary.map((s) => `| ${s.line} | ${s.wispd} | ${s.peer} | ${f(s.ratio, 2)} |`).join("\n")}

${beforeAfter(r)}## One stream

wispd's CPU per DATA block is its process's /proc time over the stream's ${r.settings.repeat} transfers (10 ms
ticks, so a rough figure) divided by the blocks sent.

| client | file | windowsize | server | median ms | MB/s | server CPU µs / block | every transfer (ms) |
| --- | --- | ---: | --- | ---: | ---: | ---: | --- |
${r.streams.map((s) => `| ${s.client} | ${s.file} | ${s.windowsize ?? "-"} | ${s.server} | ${f(s.medianMs, 1)} | ${f(s.mbPerSecond, 1)} | ${f(s.cpuMicrosPerBlock, 1)} | ${s.transferMs.map((x) => x.toFixed(1)).join(", ")} |`).join("\n")}

## Transfers at once (1 MiB each, RFC 7440 client, blksize ${r.settings.blksize})

| transfers | server | windowsize | completion s | failed | p50 ms | max ms | MB/s | duplicate DATA | server CPU s | CPU ${r.settings.serverCpu} busy |
| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${r.concurrent.map((c) => `| ${c.count} | ${c.server} | ${c.windowsize ?? "-"} | ${f(c.wallSeconds, 2)} | ${c.failures} | ${f(c.p50Ms)} | ${f(c.maxMs)} | ${f(c.mbPerSecond, 1)} | ${c.duplicateData} | ${f(c.serverCpuSeconds, 2)} | ${f(c.serverCoreBusy * 100)}% |`).join("\n")}
${r.concurrent.some((c) => c.failures > 0) ? `\nFailures: ${r.concurrent.filter((c) => c.failures > 0).map((c) => `${c.server} x${c.count}: ${c.errors.join("; ")}`).join("; ")}.\n` : ""}
Conditions: ${machineLine(r.host)} Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.
`;
}

/** Lockstep streams of the `--baseline` wispd (before) against wispd (after) and tftpd-hpa, same run. */
function beforeAfter(r: RunRecord): string {
  const before = r.streams.filter((s) => s.server === "baseline");
  if (before.length === 0) return "";
  const f = (n: number | undefined, d = 1) => (n === undefined ? "-" : n.toFixed(d));
  const rows = before.map((b) => {
    const same = (server: ServerName) => r.streams.find((s) => s.server === server && s.client === b.client && s.file === b.file && s.windowsize === undefined)!;
    const [a, p] = [same("wispd"), same("tftpd-hpa")];
    return `| ${b.client} | ${b.file} | ${f(b.mbPerSecond)} | ${f(a.mbPerSecond)} | ${f(p.mbPerSecond)} | ${f(a.mbPerSecond / p.mbPerSecond, 2)} | ${f(b.cpuMicrosPerBlock)} | ${f(a.cpuMicrosPerBlock)} |`;
  });
  return `## Before and after: lockstep single streams (same run)

wispd before this change (\`--baseline\`: ${r.baselineCommit}) and after it, each stream measured right after the
other and tftpd-hpa (blksize ${r.settings.blksize}, no windowsize). On a machine shared with other work these
figures move a lot from run to run (CPU per block by a third or more, from 10 ms ticks and from
the load): read a before/after difference smaller than that as noise, and repeat the run.

| client | file | before MB/s | after MB/s | tftpd-hpa MB/s | after / tftpd-hpa | before CPU µs / block | after CPU µs / block |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

`;
}

await main();
