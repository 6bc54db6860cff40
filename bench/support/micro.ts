/**
 * The micro-benchmark method every hot-path bench shares: ns/op from tinybench (each sample runs
 * BATCH ops so timer overhead does not dominate) and bytes allocated per op from JSC heap
 * capacity (heapStats) after a collect-and-sweep. The growth over SHORT ops is subtracted from
 * the growth over LONG ops, which cancels the freed cells a run reuses first; both runs stay
 * below the eden size, so no collection runs inside them. A calibration op (a 48-byte object)
 * is always measured first, to show the method reads true. With WISP_MICRO_JSON set, the
 * figures are also appended to that file as one JSON line (bench/run.ts reads them).
 */
import { gcAndSweep, heapStats } from "bun:jsc";
import { appendFileSync } from "node:fs";
import { Bench } from "tinybench";

const BATCH = 100;
const SHORT = 500;
const LONG = 1_500;
const RUNS = 7;

/** One measured operation's figures. */
export interface MicroResult {
  name: string;
  meanNs: number;
  p50Ns: number;
  bytesPerOp: number;
}

let sink: unknown;

function heapGrowth(op: () => void, ops: number): number {
  gcAndSweep();
  const before = heapStats().heapCapacity;
  for (let i = 0; i < ops; i++) op();
  return heapStats().heapCapacity - before;
}

function bytesPerOp(op: () => void): number {
  for (let i = 0; i < 3_000; i++) op();
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) runs.push((heapGrowth(op, LONG) - heapGrowth(op, SHORT)) / (LONG - SHORT));
  return runs.sort((a, b) => a - b)[RUNS >> 1]!;
}

/** Measures every op (allocation first, then time) and prints one line each under `title`. */
export async function runMicro(title: string, ops: Record<string, () => unknown>): Promise<MicroResult[]> {
  const all: Record<string, () => void> = { "calibration: a 3-field object (48 B)": () => void (sink = { a: 1, b: 2, c: 3 }) };
  for (const [name, op] of Object.entries(ops)) all[name] = () => void (sink = op());
  // Allocation first, while the heap is small: a heap grown by the timing runs keeps more free
  // cells after a sweep than even the LONG run uses, and the difference would read zero.
  const allocated = new Map(Object.entries(all).map(([name, op]) => [name, bytesPerOp(op)]));
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  for (const [name, op] of Object.entries(all)) {
    bench.add(name, () => {
      for (let i = 0; i < BATCH; i++) op();
    });
  }
  await bench.run();

  console.log(`${title} (bun ${Bun.version}, ${BATCH} ops per sample)`);
  const results: MicroResult[] = [];
  const width = Math.max(...Object.keys(all).map((n) => n.length));
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== "completed") {
      console.log(`${task.name}: ${r.state}`);
      continue;
    }
    const res = { name: task.name, meanNs: (r.latency.mean * 1e6) / BATCH, p50Ns: (r.latency.p50 * 1e6) / BATCH, bytesPerOp: allocated.get(task.name)! };
    results.push(res);
    const ns = (v: number) => v.toFixed(0).padStart(6);
    console.log(`${task.name.padEnd(width)} mean ${ns(res.meanNs)} ns/op  p50 ${ns(res.p50Ns)} ns/op  ${res.bytesPerOp.toFixed(0).padStart(5)} B/op`);
  }
  void sink;
  // bench/run.ts collects every micro-benchmark's figures from this file (one JSON line each).
  if (process.env.WISP_MICRO_JSON) appendFileSync(process.env.WISP_MICRO_JSON, JSON.stringify({ title, bun: Bun.version, batch: BATCH, results }) + "\n");
  return results;
}
