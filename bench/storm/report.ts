/**
 * The storm's figures from the machines' records, pure: completion time and curve, per-stage
 * p50/p99, failures by stage and reason, and the efficiency against the byte-transfer bound
 * (the bytes the storm moved, at the loopback HTTP throughput measured in the same run, is the
 * least time any server could have taken; efficiency is that over the storm's completion time).
 */
import { STAGES, type MachineRecord, type Stage } from "./machine.ts";

/** Nearest-rank percentile (p in 0-100) of a list; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** One stage's latency over the machines that completed it. */
export interface StageSummary {
  stage: Stage;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Per-stage p50/p99/max over the machines that got through the stage (a failed stage is not a latency). */
export function stageSummaries(records: readonly MachineRecord[], stages: readonly Stage[] = STAGES): StageSummary[] {
  return stages.flatMap((stage) => {
    const ms = records.filter((r) => r.stageMs[stage] !== undefined && r.failedStage !== stage).map((r) => r.stageMs[stage]!);
    return ms.length === 0 ? [] : [{ stage, count: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), maxMs: percentile(ms, 100) }];
  });
}

/** Failures counted by stage, and the distinct reasons (with counts, most frequent first, at most `keep`). */
export function failureSummary(records: readonly MachineRecord[], keep = 8): { count: number; byStage: Partial<Record<Stage, number>>; reasons: { reason: string; count: number }[] } {
  const byStage: Partial<Record<Stage, number>> = {};
  const reasons = new Map<string, number>();
  for (const r of records) {
    if (r.ok) continue;
    byStage[r.failedStage!] = (byStage[r.failedStage!] ?? 0) + 1;
    // Machine-specific parts (addresses, MACs, numbers) would make every reason distinct.
    const reason = `${r.failedStage}: ${(r.error ?? "").replace(/([0-9a-f]{2}[:-]){5}[0-9a-f]{2}/gi, "MAC").replace(/\d+(\.\d+)*/g, "N")}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const sorted = [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
  return { count: records.filter((r) => !r.ok).length, byStage, reasons: sorted.slice(0, keep) };
}

/** [seconds since the storm began, machines completed by then], one point per completion, thinned to at most `maxPoints`. */
export function completionCurve(records: readonly MachineRecord[], maxPoints = 200): [number, number][] {
  const ends = records.filter((r) => r.ok).map((r) => r.endMs / 1000).sort((a, b) => a - b);
  if (ends.length === 0) return [];
  const step = Math.max(1, Math.ceil(ends.length / maxPoints));
  const points: [number, number][] = [[0, 0]];
  for (let i = step - 1; i < ends.length; i += step) points.push([ends[i]!, i + 1]);
  if (points[points.length - 1]![1] !== ends.length) points.push([ends[ends.length - 1]!, ends.length]);
  return points;
}

/** The storm's headline figures. */
export interface StormFigures {
  machines: number;
  succeeded: number;
  failed: number;
  /** Seconds from the storm's start until the last machine finished (completed or failed). */
  completionSeconds: number;
  /** Machine boot time (start to end) of the completed machines. */
  bootP50Seconds: number;
  bootP99Seconds: number;
  retransmits: number;
  bytes: number;
}

/** Headline figures of a set of records. */
export function stormFigures(records: readonly MachineRecord[]): StormFigures {
  const ok = records.filter((r) => r.ok);
  const boot = ok.map((r) => (r.endMs - r.startMs) / 1000);
  return {
    machines: records.length,
    succeeded: ok.length,
    failed: records.length - ok.length,
    completionSeconds: records.reduce((a, r) => Math.max(a, r.endMs), 0) / 1000,
    bootP50Seconds: percentile(boot, 50),
    bootP99Seconds: percentile(boot, 99),
    retransmits: records.reduce((a, r) => a + r.retransmits, 0),
    bytes: records.reduce((a, r) => a + r.bytes, 0),
  };
}

/** The byte-transfer bound: the least time to move `bytes` at `bytesPerSecond`, and the storm's share of it. */
export function transferBound(bytes: number, bytesPerSecond: number, completionSeconds: number): { boundSeconds: number; efficiency: number } {
  const boundSeconds = bytesPerSecond > 0 ? bytes / bytesPerSecond : NaN;
  return { boundSeconds, efficiency: completionSeconds > 0 ? boundSeconds / completionSeconds : NaN };
}
