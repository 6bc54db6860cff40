/**
 * `npm run bench`: every micro-benchmark (bench/micro/*.bench.ts) and every load benchmark
 * (DHCP against Kea and dnsmasq, TFTP against tftpd-hpa, HTTP and metadata against nginx, the
 * workflow service, the agent against docker run, the boot storm against dnsmasq + nginx, and
 * again with wispd on PostgreSQL), one after the other, each as its own process; then
 * bench/results/all.json and docs/benchmarks.md with the charts docs/benchmarks/dhcp-ramp.svg
 * and storm-completion.svg (the storm writes its own). With --quick every benchmark runs scaled
 * down and everything is written to a scratch directory, so a smoke run never replaces recorded
 * figures.
 *
 *   sudo npx bun bench/run.ts [--quick] [--only micro,dhcp,tftp,http,metadata,grpc,agent,storm,storm-pg,micro/<file>]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { machine } from "./support/results.ts";
import { allMarkdown, dhcpChart, type AllRecord, type MicroGroup } from "./summary.ts";

const ROOT = join(import.meta.dir, "..");
const MICRO_DIR = join(import.meta.dir, "micro");

/** A load benchmark: its program, and its arguments for a full and a quick run (`out` is the quick run's scratch directory). */
interface LoadBench {
  name: string;
  argv: string[];
  quick: (out: string) => string[];
}

const LOAD: LoadBench[] = [
  { name: "dhcp", argv: ["bench/dhcp/run.ts"], quick: (out) => ["--quick", "--out-json", join(out, "dhcp.json"), "--out-md", join(out, "dhcp.md")] },
  { name: "tftp", argv: ["bench/tftp/run.ts"], quick: () => ["--repeat", "1", "--concurrency", "50"] },
  { name: "http", argv: ["bench/http/run.ts"], quick: () => ["--duration", "1", "--rounds", "1", "--curl-runs", "1"] },
  { name: "metadata", argv: ["bench/metadata/run.ts"], quick: () => ["--duration", "1", "--rounds", "1"] },
  { name: "grpc", argv: ["bench/grpc/run.ts"], quick: () => ["--workflows", "50", "--idle-agents", "50", "--idle-seconds", "20"] },
  { name: "agent", argv: ["bench/agent/run.ts"], quick: () => ["--actions", "5"] },
  // --quick alone would keep --machines 1000; the later --machines wins.
  { name: "storm", argv: ["bench/storm/run.ts", "--machines", "1000", "--arrival", "burst"], quick: () => ["--quick", "--machines", "20"] },
  // The same burst with wispd on PostgreSQL (its RSS and CPU without the embedded store); the baseline does not depend on wispd's store.
  { name: "storm-pg", argv: ["bench/storm/run.ts", "--machines", "1000", "--arrival", "burst", "--store", "postgres", "--no-baseline", "--no-static"], quick: () => ["--quick", "--machines", "20"] },
];

const HELP = `usage: sudo npx bun bench/run.ts [--quick] [--only NAMES] [--report]

Runs every micro-benchmark and load benchmark, then writes bench/results/all.json and
docs/benchmarks.md (with --quick: a scratch directory, printed at the end).

  --quick        scaled-down smoke run of everything
  --only NAMES   comma-separated: micro (all micro files), micro/<file> (e.g. micro/tftp),
                 ${LOAD.map((l) => l.name).join(", ")}
  --report       run nothing: write docs/benchmarks.md again from the recorded figures (the last
                 run's all.json, each benchmark's own record, bench/findings.md), e.g. after a
                 storm run on its own or an edit of the findings
  -h, --help     this text`;

const log = (line: string) => console.error(`bench: ${line}`);

/** Runs one program to its end with output passed through; resolves to its exit code. */
async function run(argv: string[], env: Record<string, string>): Promise<number> {
  const p = Bun.spawn(argv, { cwd: ROOT, stdout: "inherit", stderr: "inherit", stdin: "ignore", env: { ...process.env, ...env } });
  return await p.exited;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, only: { type: "string" }, report: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } });
  if (values.help) return console.log(HELP);
  if (values.report) return report();
  const quick = values.quick!;
  const micros = readdirSync(MICRO_DIR).filter((f) => f.endsWith(".bench.ts")).sort();
  const known = new Set(["micro", ...micros.map((f) => `micro/${f.replace(/\.bench\.ts$/, "")}`), ...LOAD.map((l) => l.name)]);
  const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const o of only ?? []) if (!known.has(o)) throw new Error(`--only: unknown benchmark "${o}" (expected ${[...known].join(", ")})`);
  const wanted = (name: string) => !only || only.includes(name) || (name.startsWith("micro/") && only.includes("micro"));

  const out = quick ? mkdtempSync(join(tmpdir(), "wisp-bench-quick-")) : undefined;
  const env: Record<string, string> = out ? { WISP_BENCH_OUT_DIR: out } : {};
  const resultsDir = out ?? join(ROOT, "bench", "results");
  const microFile = join(out ?? mkdtempSync(join(tmpdir(), "wisp-bench-micro-")), "micro.jsonl");
  const started = machine();
  const record: AllRecord = { date: new Date().toISOString(), quick, command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`, machine: started, runs: [], micro: [], load: {} };

  const plan = [
    ...micros.filter((f) => wanted(`micro/${f.replace(/\.bench\.ts$/, "")}`)).map((f) => ({ name: `micro/${f.replace(/\.bench\.ts$/, "")}`, kind: "micro" as const, argv: [join("bench", "micro", f)] })),
    ...LOAD.filter((l) => wanted(l.name)).map((l) => ({ name: l.name, kind: "load" as const, argv: [...l.argv, ...(quick ? l.quick(out!) : [])] })),
  ];
  for (const [i, b] of plan.entries()) {
    log(`[${i + 1}/${plan.length}] ${b.name}: ${["bun", ...b.argv].join(" ")}`);
    const t0 = performance.now();
    let code: number;
    try {
      code = await run([process.execPath, ...b.argv], { ...env, ...(b.kind === "micro" ? { WISP_MICRO_JSON: microFile } : {}) });
    } catch (e) {
      code = -1;
      log(`${b.name}: ${(e as Error).message}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    record.runs.push({ name: b.name, kind: b.kind, seconds, ok: code === 0, ...(code === 0 ? {} : { error: `exit ${code}` }) });
    log(`[${i + 1}/${plan.length}] ${b.name}: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s`);
  }

  // Micro figures: this run's, else (a partial run) those recorded last time.
  const previous = quick ? undefined : readJson<AllRecord>(join(ROOT, "bench", "results", "all.json"));
  const fresh = existsSync(microFile) ? readFileSync(microFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as MicroGroup) : [];
  record.micro = [...fresh, ...(previous?.micro ?? []).filter((g) => !fresh.some((f) => f.title === g.title))];
  // Load figures: each benchmark's own record (this run's, or the one recorded before, in a full run).
  for (const l of LOAD) {
    const rec = readJson<object>(join(resultsDir, `${l.name}.json`));
    if (rec) record.load[l.name] = rec;
  }
  started.loadavgAfter = loadavg();

  const allJson = join(resultsDir, "all.json");
  writeFileSync(allJson, JSON.stringify(record, null, 2) + "\n");
  const written = writeReport(record, out);
  log(`wrote ${allJson}, ${written.join(" and ")}`);
  const failed = record.runs.filter((r) => !r.ok);
  if (failed.length > 0) {
    log(`${failed.length} benchmark(s) failed: ${failed.map((r) => r.name).join(", ")}`);
    process.exit(1);
  }
}

/** Writes docs/benchmarks.md and the DHCP chart (into `out` for a quick run); returns the paths written. */
function writeReport(record: AllRecord, out?: string): string[] {
  const docsDir = out ?? join(ROOT, "docs");
  const chartsDir = out ?? join(ROOT, "docs", "benchmarks");
  mkdirSync(chartsDir, { recursive: true });
  // The reading of the figures against the aims is written by hand (bench/findings.md) and kept with them.
  const findingsFile = join(import.meta.dir, "findings.md");
  const written = [join(docsDir, "benchmarks.md")];
  writeFileSync(written[0]!, allMarkdown(record, existsSync(findingsFile) ? readFileSync(findingsFile, "utf8") : undefined));
  const chart = dhcpChart(record.load.dhcp as Record<string, unknown> | undefined);
  if (chart) {
    const chartFile = join(chartsDir, "dhcp-ramp.svg");
    writeFileSync(chartFile, chart);
    written.push(chartFile);
  }
  return written;
}

/** --report: the last run's record with each benchmark's current record, written out again. */
function report(): void {
  const resultsDir = join(ROOT, "bench", "results");
  const record = readJson<AllRecord>(join(resultsDir, "all.json"));
  if (!record) throw new Error(`--report: no ${join(resultsDir, "all.json")}; run the benchmarks first`);
  for (const l of LOAD) {
    const rec = readJson<object>(join(resultsDir, `${l.name}.json`));
    if (rec) record.load[l.name] = rec;
  }
  log(`wrote ${writeReport(record).join(" and ")}`);
}

await main();
