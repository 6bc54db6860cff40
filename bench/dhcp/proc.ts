/**
 * What the kernel says a process and the CPUs spent: /proc/<pid>/stat (utime + stime of all the
 * process's threads), /proc/stat per CPU, and the UDP counters of a namespace. Parsers are pure.
 */
import { readdirSync, readFileSync } from "node:fs";
import { sh } from "./netns.ts";

/** Clock ticks per second of /proc times (`getconf CLK_TCK`, 100 on Linux). */
export function clockTicks(): number {
  const n = Number(sh(["getconf", "CLK_TCK"]).trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

/** utime + stime (ticks) from the text of /proc/<pid>/stat; the command may hold spaces and ')'. */
export function parseProcStatTicks(text: string): number {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields after the command start at field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[14 - 3]) + Number(rest[15 - 3]);
}

/** CPU time (ticks) a live process has used so far. */
export function processTicks(pid: number): number {
  return parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** Busy and total ticks of one CPU line of /proc/stat. */
export interface CpuTicks {
  busy: number;
  total: number;
}

/** Per-CPU busy/total ticks from /proc/stat text (idle and iowait count as not busy). */
export function parseCpuTicks(text: string): Map<number, CpuTicks> {
  const out = new Map<number, CpuTicks>();
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest times are already inside user/nice).
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3]! + v[4]!;
    out.set(Number(m[1]), { busy: total - idle, total });
  }
  return out;
}

/** Current per-CPU ticks. */
export function cpuTicks(): Map<number, CpuTicks> {
  return parseCpuTicks(readFileSync("/proc/stat", "utf8"));
}

/** Busy share (0-1) of a CPU between two readings. */
export function busyShare(before: Map<number, CpuTicks>, after: Map<number, CpuTicks>, cpu: number): number {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return 0;
  return (b.busy - a.busy) / (b.total - a.total);
}

/** The UDP counters that explain drops: datagrams and receive-buffer overflows. */
export interface UdpCounters {
  inDatagrams: number;
  outDatagrams: number;
  rcvbufErrors: number;
  inErrors: number;
}

/** The `Udp:` header/value pair of /proc/net/snmp. */
export function parseUdpCounters(text: string): UdpCounters {
  const lines = text.split("\n").filter((l) => l.startsWith("Udp:"));
  const names = (lines[0] ?? "").split(/\s+/).slice(1);
  const values = (lines[1] ?? "").split(/\s+/).slice(1).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? 0;
  return { inDatagrams: get("InDatagrams"), outDatagrams: get("OutDatagrams"), rcvbufErrors: get("RcvbufErrors"), inErrors: get("InErrors") };
}

/** UDP counters of a network namespace. */
export function udpCounters(ns: string): UdpCounters {
  return parseUdpCounters(sh(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"]));
}

/** b - a, field by field. */
export function udpDelta(a: UdpCounters, b: UdpCounters): UdpCounters {
  return {
    inDatagrams: b.inDatagrams - a.inDatagrams,
    outDatagrams: b.outDatagrams - a.outDatagrams,
    rcvbufErrors: b.rcvbufErrors - a.rcvbufErrors,
    inErrors: b.inErrors - a.inErrors,
  };
}

/**
 * Seconds each thread of a process has spent runnable but waiting for a CPU, by thread id
 * (/proc/<pid>/task/<tid>/schedstat, second field, ns). A server that loses packets while using
 * a fraction of its core, and waited long for it, was kept off it by other work.
 */
export function runQueueWait(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1] ?? 0) / 1e9);
      } catch {
        // the thread ended while we looked
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/** Seconds waited between two readings, over the threads alive at the second (runtimes start and end threads). */
export function runQueueWaitDelta(before: Map<string, number>, after: Map<string, number>): number {
  let sum = 0;
  for (const [tid, wait] of after) sum += wait - (before.get(tid) ?? 0);
  return sum;
}
