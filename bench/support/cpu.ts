/**
 * CPU time of a server and everything it runs, from /proc: the process, its live descendants
 * (bin/wispd's Bun child; tftpd-hpa's per-transfer children) and the children they reaped
 * (cutime + cstime), read once or sampled over a run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { busyShare, clockTicks, cpuTicks, type CpuTicks } from "../dhcp/proc.ts";

export { busyShare, clockTicks, cpuTicks, type CpuTicks };

/** ppid and utime + stime + cutime + cstime from the text of /proc/<pid>/stat. */
export function parseStat(text: string): { ppid: number; ticks: number } {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields after the command start at field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17.
  const f = (n: number) => Number(rest[n - 3]);
  return { ppid: f(4), ticks: f(14) + f(15) + f(16) + f(17) };
}

/** Ticks used so far by `pid` and its live descendants, and the children they reaped. */
export function treeTicks(pid: number): number {
  let ticks = 0;
  for (const t of treeProcesses(pid).values()) ticks += t;
  return ticks;
}

/**
 * Samples the process tree of `pid` every `everyMs` until stop(), remembering each process's
 * last reading, so children that exit unreaped (tftpd-hpa ignores SIGCHLD, so their time never
 * reaches its cutime) still count up to their last sample. Returns the ticks used meanwhile.
 */
export function sampleTree(pid: number, everyMs = 100): { stop(): number } {
  const last = new Map<number, number>();
  const read = () => {
    for (const [p, t] of treeProcesses(pid)) last.set(p, t);
  };
  read();
  const baseline = new Map(last);
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      let ticks = 0;
      for (const [p, t] of last) ticks += t - (baseline.get(p) ?? 0);
      return ticks;
    },
  };
}

/** Ticks (utime + stime + cutime + cstime) of `pid` and each live descendant (via task/<tid>/children). */
export function treeProcesses(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const todo = [pid]; todo.length > 0; ) {
    const p = todo.pop()!;
    try {
      out.set(p, parseStat(readFileSync(`/proc/${p}/stat`, "utf8")).ticks);
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, "utf8").trim();
        if (kids) todo.push(...kids.split(" ").map(Number));
      }
    } catch {
      // exited while we looked
    }
  }
  return out;
}
