/**
 * What the storm reads from /proc about the servers while it runs: a process's RSS, the UDP
 * datagrams the kernel dropped in a namespace, and the seconds each thread waited for a CPU.
 */
import { readdirSync, readFileSync } from "node:fs";
import { sh } from "../dhcp/netns.ts";

/** A process's VmRSS or VmHWM in kB (NaN once it is gone). */
export function vmKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * Datagrams the kernel dropped for want of receive buffer in namespace `ns`: in all
 * (/proc/net/snmp Udp RcvbufErrors) and per listening port of the server (ss skmem `d`).
 */
export function udpDrops(ns: string): { total: number; byPort: Record<string, number> } {
  const snmp = sh(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], { allowFail: true }).split("\n").filter((l) => l.startsWith("Udp:"));
  const names = snmp[0]?.split(/\s+/) ?? [];
  const values = snmp[1]?.split(/\s+/) ?? [];
  const total = Number(values[names.indexOf("RcvbufErrors")] ?? NaN);
  const byPort: Record<string, number> = {};
  const lines = sh(["ip", "netns", "exec", ns, "ss", "-uanm"], { allowFail: true }).split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    const port = /^\S+\s+\d+\s+\d+\s+\S+:(\d+)\s/.exec(lines[i]!)?.[1];
    const d = /skmem:\(.*\bd(\d+)\)/.exec(lines[i + 1]!)?.[1];
    if (port && d !== undefined && ["67", "69"].includes(port)) byPort[port] = (byPort[port] ?? 0) + Number(d);
  }
  return { total, byPort };
}

/**
 * Seconds each thread of the process ran and spent runnable but waiting for a CPU, by thread id
 * (/proc/<pid>/task/<tid>/schedstat): on a shared machine the wait says how much other load kept
 * the server off its core, which CPU time alone cannot show.
 */
export function schedByThread(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [r, w] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
        out.set(`${pid}/${tid}`, { run: (r ?? 0) / 1e9, wait: (w ?? 0) / 1e9 });
      } catch {
        // the thread ended while we looked
      }
    }
  } catch {
    // exited while we looked
  }
  return out;
}

/** Wait seconds between two readings, over the threads alive at the second (a thread that ended would make a sum negative). */
export function waitBetween(before: Map<string, { wait: number }>, after: Map<string, { wait: number }>): number {
  let wait = 0;
  for (const [tid, a] of after) wait += a.wait - (before.get(tid)?.wait ?? 0);
  return wait;
}

/** Drops between two readings of udpDrops. */
export const dropDelta = (a: ReturnType<typeof udpDrops>, b: ReturnType<typeof udpDrops>) => ({
  total: b.total - a.total,
  byPort: Object.fromEntries(Object.entries(b.byPort).map(([p, n]) => [p, n - (a.byPort[p] ?? 0)])),
});
