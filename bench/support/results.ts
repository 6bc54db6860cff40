/**
 * A benchmark's record: the machine it ran on, written as JSON to bench/results/<name>.json and
 * rendered as Markdown to docs/benchmarks/<name>.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { dirname, join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/** What the figures were measured on. */
export interface Machine {
  cpus: number;
  model: string;
  kernel: string;
  loadavgBefore: number[];
  loadavgAfter?: number[];
}

/** What every load bench's record starts with: when, how and on what it ran, and with which versions. */
export interface RunHeader {
  /** ISO 8601, when the run ended. */
  date: string;
  /** The command that reproduces the run. */
  command: string;
  /** With `--baseline DIR`: the commit that directory holds (see bench/support/baseline.ts). */
  baselineCommit?: string;
  host: Machine;
  versions: Record<string, string>;
}

/** The machine now (call before the run; set loadavgAfter after). */
export function machine(): Machine {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
  return { cpus: cpus().length, model: m?.[1] ?? cpus()[0]?.model ?? "unknown", kernel: release(), loadavgBefore: loadavg() };
}

/** One line of Markdown describing the machine and the load on it. */
export function machineLine(m: Machine): string {
  const load = (l: number[] | undefined) => (l ?? []).map((x) => x.toFixed(2)).join(" / ");
  return `${m.cpus} CPUs (${m.model}), Linux ${m.kernel}, load average (1/5/15 min) ${load(m.loadavgBefore)} before and ${load(m.loadavgAfter)} after. The machine is shared with other work, which lands on both CPUs during the run: absolute figures move from run to run, the ratios less so.`;
}

/**
 * Where results go: bench/results and docs/benchmarks, or one scratch directory when
 * WISP_BENCH_OUT_DIR is set (bench/run.ts --quick, so a smoke run never replaces recorded figures).
 */
export function resultPaths(name: string): { json: string; md: string } {
  const out = process.env.WISP_BENCH_OUT_DIR;
  if (out) return { json: join(out, `${name}.json`), md: join(out, `${name}.md`) };
  return { json: join(ROOT, "bench", "results", `${name}.json`), md: join(ROOT, "docs", "benchmarks", `${name}.md`) };
}

/** Writes bench/results/<name>.json and docs/benchmarks/<name>.md (see resultPaths); returns their paths. */
export function writeResults(name: string, record: object, markdown: string): string[] {
  const { json, md } = resultPaths(name);
  mkdirSync(dirname(json), { recursive: true });
  mkdirSync(dirname(md), { recursive: true });
  writeFileSync(json, JSON.stringify(record, null, 2) + "\n");
  writeFileSync(md, markdown);
  return [json, md];
}
