/**
 * The one-page report of `npm run bench` (docs/benchmarks.md), pure: headline figures and
 * ratios read from each benchmark's own record (bench/results/<name>.json, whatever produced
 * it), the micro-benchmarks' time and allocation per operation, and the two charts (DHCP rate
 * against drops from the ramp, the storm's completion curve). Readers are tolerant: a record
 * missing a field gives a dash, never a crash.
 */
import { machineLine, type Machine } from "./support/results.ts";
import { lineChart } from "./support/svg.ts";
import type { MicroResult } from "./support/micro.ts";
import type { StormRecord } from "./storm/record.ts";

/** One micro-benchmark file's output. */
export interface MicroGroup {
  title: string;
  bun: string;
  batch: number;
  results: MicroResult[];
}

/** What bench/run.ts gathered. */
export interface AllRecord {
  date: string;
  quick: boolean;
  command: string;
  machine: Machine;
  /** Seconds each benchmark took and how it ended. */
  runs: { name: string; kind: "micro" | "load"; seconds: number; ok: boolean; error?: string }[];
  micro: MicroGroup[];
  /** Each load benchmark's own record, by name. */
  load: Record<string, unknown>;
}

/** One row of the figures table. */
export interface Row {
  area: string;
  measure: string;
  wisp: string;
  peer: string;
  ratio: string;
  cpu: string;
}

type Any = Record<string, any>;
const num = (x: unknown, digits = 0) => (typeof x === "number" && Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");
const ratio = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? `${x.toFixed(2)}x` : "–");

/** Rows for the DHCP benchmark: best lossless DORA/s per server, ratio against Kea and dnsmasq, CPU per DORA. */
export function dhcpRows(d: Any | undefined): Row[] {
  const servers: Any[] = d?.servers ?? [];
  const by = (n: string) => servers.find((s) => s.name === n);
  const w = by("wispd");
  const rows: Row[] = [];
  for (const peer of ["kea", "dnsmasq"]) {
    const p = by(peer);
    if (!w || !p) continue;
    rows.push({
      area: "DHCP",
      measure: `DORA/s at ≤ 0.1 % loss (${d?.hosts ?? "?"} reservations, relayed) vs ${peer}`,
      wisp: num(w.best?.doraPerSecond),
      peer: num(p.best?.doraPerSecond),
      ratio: ratio(w.best?.doraPerSecond / p.best?.doraPerSecond),
      cpu: `${num(w.best?.serverCpuUsPerDora)} vs ${num(p.best?.serverCpuUsPerDora)} µs CPU/DORA`,
    });
  }
  return rows;
}

/** Rows from a record's `summary` lines ({line|target, wispd, peer|nginx, ratio}). */
export function summaryRows(area: string, d: Any | undefined, peerName: string): Row[] {
  return ((d?.summary ?? []) as Any[]).map((s) => ({
    area,
    measure: `${s.line ?? s.target ?? "?"}${s.path ? ` (${s.path})` : ""} vs ${peerName}`,
    wisp: typeof s.wispd === "number" ? num(s.wispd, 1) + (s.unit ? ` ${s.unit}` : "") : String(s.wispd ?? num(s.wispdRps)),
    peer: typeof s.peer === "number" || typeof s.nginx === "number" ? num(s.peer ?? s.nginx, 1) + (s.unit ? ` ${s.unit}` : "") : String(s.peer ?? s.nginx ?? num(s.nginxRps)),
    ratio: ratio(s.ratio),
    cpu: "",
  }));
}

/** Rows for the workflow service (no peer) and the agent (vs docker run --rm). */
export function agentRows(grpc: Any | undefined, agent: Any | undefined): Row[] {
  const rows: Row[] = [];
  if (grpc?.work) {
    rows.push({ area: "gRPC", measure: `workflow service, ${grpc.settings?.workflows ?? "?"} agents × ${grpc.settings?.actionsPerWorkflow ?? "?"} actions: requests/s`, wisp: num(grpc.work.requestsPerSecond), peer: "–", ratio: "–", cpu: `wispd ${num(grpc.work.wispdCpuSeconds, 1)} s CPU` });
  }
  if (agent?.agent) {
    rows.push({ area: "agent", measure: "per-action overhead (s) vs docker run --rm", wisp: num(agent.agent.perActionSeconds, 3), peer: num(agent.peer?.perActionSeconds, 3), ratio: `${ratio(agent.ratio)} the time`, cpu: `agent ${num(agent.agent.agentCpuSeconds, 1)} s, wispd ${num(agent.agent.wispdCpuSeconds, 1)} s` });
  }
  return rows;
}

/**
 * Rows for each recorded storm run: the DHCP+TFTP+HTTP stages against dnsmasq + nginx (wispd's
 * own run of the same stages when recorded), and the whole boot with the workflow (no peer).
 */
export function stormRows(s: StormRecord | undefined): Row[] {
  return (s?.runs ?? []).flatMap((r) => {
    const same = r.wispdStatic ?? r.wispd;
    const rows: Row[] = [];
    if (r.baseline) {
      rows.push({
        area: "storm",
        measure: `${r.label}: DHCP, TFTP and HTTP stages${r.wispdStatic ? "" : " (wispd: every stage)"}: completion, failures vs dnsmasq + nginx`,
        wisp: `${num(same.figures.completionSeconds, 1)} s, ${same.figures.failed} failed`,
        peer: `${num(r.baseline.figures.completionSeconds, 1)} s, ${r.baseline.figures.failed} failed`,
        ratio: `${ratio(same.figures.completionSeconds / r.baseline.figures.completionSeconds)} the time`,
        cpu: `wispd ${num(same.serverCpuSeconds, 1)} s, peers ${num(r.baseline.serverCpuSeconds, 1)} s`,
      });
    }
    rows.push({
      area: "storm",
      measure: `${r.label}: every stage, metadata and the 3-action workflow included, wispd on ${r.store ?? "PGlite"}: completion, failures`,
      wisp: `${num(r.wispd.figures.completionSeconds, 1)} s, ${r.wispd.figures.failed} failed`,
      peer: "–",
      ratio: "–",
      cpu:
        `wispd ${num(r.wispd.serverCpuSeconds, 1)} s, RSS ${num(r.wispd.peakRssMb)} MB sampled` +
        (r.wispd.storeServer ? `; PostgreSQL ${num(r.wispd.storeServer.cpuSeconds, 1)} s, PSS ${num(r.wispd.storeServer.peakPssSumMb)} MB` : ""),
    });
    return rows;
  });
}

/** The DHCP ramp as a chart: offered DORA/s against the share of exchanges lost, per server. */
export function dhcpChart(d: Any | undefined): string | undefined {
  const servers: Any[] = d?.servers ?? [];
  if (servers.length === 0) return undefined;
  return lineChart({
    title: "DHCP: offered rate against exchanges lost",
    xLabel: "offered DORA per second",
    yLabel: "exchanges lost (%)",
    series: servers.map((s) => ({
      name: s.name,
      dots: true,
      points: ((s.steps ?? []) as Any[]).map((st) => [st.offeredRate, st.lossRatio * 100] as [number, number]).sort((a, b) => a[0] - b[0]),
    })),
  });
}

const DOCS = {
  dhcp: "benchmarks/dhcp.md",
  tftp: "benchmarks/tftp.md",
  http: "benchmarks/http.md",
  metadata: "benchmarks/metadata.md",
  grpc: "benchmarks/grpc.md",
  agent: "benchmarks/agent.md",
  storm: "benchmarks/storm.md",
};

/** The date of a load record (the storm's: each run's). */
function recordDate(r: Any | undefined): string {
  if (r?.date) return String(r.date);
  const runs = (r?.runs ?? []) as Any[];
  return runs.length > 0 ? runs.map((x) => `${x.label} ${x.date}`).join(", ") : "unknown";
}

/** docs/benchmarks.md. */
export function allMarkdown(rec: AllRecord, findings?: string): string {
  const L = rec.load as Record<string, Any | undefined>;
  const rows = [
    ...dhcpRows(L.dhcp),
    ...summaryRows("TFTP", L.tftp, "tftpd-hpa"),
    ...summaryRows("HTTP", L.http, "nginx"),
    ...summaryRows("metadata", L.metadata, "nginx (same bytes, static)"),
    ...agentRows(L.grpc, L.agent),
    ...stormRows(L.storm as StormRecord | undefined),
  ];
  const out = [
    "# Benchmarks",
    "",
    `Generated by \`${rec.command}\` on ${rec.date}${rec.quick ? " (**--quick**: scaled-down smoke figures, not for comparison)" : ""}; do not edit by hand. Every peer figure was measured in the same run as Wisp's, on the same machine, the same files and the same reservations; servers on CPU 0, load generators on CPU 1 (taskset).`,
    "",
    `**Machine:** ${machineLine(rec.machine)}`,
    "",
    "## Rerun",
    "",
    "```sh",
    "sudo npm run bench                      # everything (17 minutes on this 2-core machine, 1,000-machine storms included)",
    "sudo npm run bench -- --quick           # smoke run: scaled down, writes to a scratch directory",
    "sudo npm run bench -- --only micro,dhcp # a subset: micro, dhcp, tftp, http, metadata, grpc, agent, storm, storm-pg, or one micro file (micro/tftp)",
    "# the larger storms, each its own command (recorded beside the 1,000-machine ones; 3-10 minutes each):",
    "sudo npx bun bench/storm/run.ts --machines 5000 --store postgres --agent-deadline 600",
    "sudo npx bun bench/storm/run.ts --machines 5000 --no-baseline --no-static --agent-deadline 600",
    "sudo npx bun bench/storm/run.ts --machines 2000 --agent-deadline 600",
    "sudo npx bun bench/storm/run.ts --machines 1000 --arrival spread:60s",
    "sudo npx bun bench/storm/run.ts --machines 50 --kernel-size 10M --initrd-size 60M",
    "```",
    "",
    "Debian packages: kea-dhcp4-server kea-admin (perfdhcp) dnsmasq-base tftpd-hpa nginx-light wrk curl ipxe iproute2 docker.io busybox-static. Root is needed for the network namespaces (DHCP, storm).",
    "",
    "## Figures and ratios",
    "",
    "Ratios are oriented so that above 1 means Wisp did better (each benchmark's own rows: rates Wisp over peer, times and latencies peer over Wisp), except rows marked \"the time\" or \"the CPU\" (storm, agent): Wisp's over the peer's, below 1 is better.",
    "",
    "| area | measure | Wisp | peer | ratio | CPU |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.area} | ${r.measure} | ${r.wisp} | ${r.peer} | ${r.ratio} | ${r.cpu} |`),
    "",
    "Details, method and every measurement: " + Object.entries(DOCS).map(([k, v]) => `[${k}](${v})`).join(", ") + ".",
    "",
    ...(findings ? [findings.trim(), ""] : []),
    "![DHCP rate against drops](benchmarks/dhcp-ramp.svg)",
    "",
    "![Boot storm completion](benchmarks/storm-completion.svg)",
    "",
    "## Micro-benchmarks (hot paths)",
    "",
    "Time per operation from tinybench (each sample runs a batch of operations so the timer's cost does not dominate; p50 is the steadier figure on a shared machine, the mean takes in other load's pauses). Allocation per operation: after a full collection and sweep (`bun:jsc` `gcAndSweep`), the growth of JSC's heap capacity (`heapStats().heapCapacity`) over 1,500 operations minus that over 500, divided by 1,000 (the difference cancels the freed cells a run reuses first; both runs stay under the eden size, so no collection runs inside them); the median of 7 such runs. A 48-byte object is measured first as calibration: it should read about 48 B (a run where it reads far off, e.g. 0, is noise). Method: `bench/support/micro.ts`; files: `bench/micro/*.bench.ts`.",
    "",
    "| group | operation | p50 ns/op | mean ns/op | B/op |",
    "| --- | --- | --- | --- | --- |",
    ...rec.micro.flatMap((g) => g.results.map((r) => `| ${g.title} | ${r.name} | ${num(r.p50Ns)} | ${num(r.meanNs)} | ${num(r.bytesPerOp)} |`)),
    "",
    "## This run",
    "",
    "| benchmark | kind | seconds | result |",
    "| --- | --- | --- | --- |",
    ...rec.runs.map((r) => `| ${r.name} | ${r.kind} | ${num(r.seconds, 1)} | ${r.ok ? "ok" : `failed: ${(r.error ?? "").replace(/\|/g, "/").slice(0, 200)}`} |`),
    "",
    "When the figures of a load benchmark were recorded (a run with `--only` keeps the others' last records):",
    "",
    ...Object.entries(L).map(([name, r]) => `- ${name}: ${recordDate(r)}`),
    "",
  ];
  return out.join("\n");
}
