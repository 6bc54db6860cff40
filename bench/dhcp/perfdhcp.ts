/**
 * perfdhcp (ISC, Debian package kea-admin) as the load generator. In DHCPv4 it always acts as a
 * relay agent: giaddr is the address it binds (`-l`), hops = 1, and it sends unicast to the server
 * from port 67, so servers answer unicast to giaddr:67 (RFC 2131 4.1). Parsing is pure.
 */

/** One perfdhcp exchange stage (DISCOVER-OFFER or REQUEST-ACK) as it reports it. */
export interface StageStats {
  sent: number;
  received: number;
  drops: number;
  orphans: number;
  /** Milliseconds; undefined when nothing came back. */
  minMs?: number;
  avgMs?: number;
  maxMs?: number;
  stdMs?: number;
}

/** Latency percentiles of one stage, from `-x t` timestamps (milliseconds). */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  count: number;
}

/** What one perfdhcp run reported. */
export interface PerfdhcpReport {
  discoverOffer: StageStats;
  requestAck: StageStats;
  /** Present when run with `-x t`. */
  percentiles?: { discoverOffer?: Percentiles; requestAck?: Percentiles };
}

/** How to run perfdhcp for one step. */
export interface PerfdhcpArgs {
  server: string;
  relayIp: string;
  macFile: string;
  rate: number;
  periodSeconds: number;
  /** Wait after the period for late answers (exit-wait-time), microseconds. */
  exitWaitUs: number;
  timestamps?: boolean;
}

/** Time perfdhcp waits after the period for answers still in flight (`-W`), in microseconds. */
export const EXIT_WAIT_US = 300_000;

/** perfdhcp argv: DORA (the default 4-way exchange), single-threaded (one pinned core). */
export function perfdhcpArgv(a: PerfdhcpArgs): string[] {
  const argv = ["perfdhcp", "-4", "-g", "single", "-M", a.macFile, "-l", a.relayIp, "-r", String(a.rate), "-p", String(a.periodSeconds), "-W", String(a.exitWaitUs)];
  if (a.timestamps) argv.push("-x", "t");
  argv.push(a.server);
  return argv;
}

function section(text: string, header: string): string {
  const start = text.indexOf(header);
  if (start < 0) return "";
  const next = text.indexOf("***", start + header.length);
  return text.slice(start + header.length, next < 0 ? undefined : next);
}

function num(block: string, label: string): number | undefined {
  const m = new RegExp(`^${label}: ([0-9.]+)`, "m").exec(block);
  return m ? Number(m[1]) : undefined;
}

function stage(text: string, name: string): StageStats {
  const b = section(text, `***Statistics for: ${name}***`);
  return {
    sent: num(b, "sent packets") ?? 0,
    received: num(b, "received packets") ?? 0,
    drops: num(b, "drops") ?? 0,
    orphans: num(b, "orphans") ?? 0,
    minMs: num(b, "min delay"),
    avgMs: num(b, "avg delay"),
    maxMs: num(b, "max delay"),
    stdMs: num(b, "std deviation"),
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function timestamps(text: string, name: string): Percentiles | undefined {
  const b = section(text, `***Timestamps for packets: ${name}***`);
  const delays: number[] = [];
  for (const m of b.matchAll(/^sent \/ received: ([0-9.]+) \/ ([0-9.]+)$/gm)) delays.push((Number(m[2]) - Number(m[1])) * 1000);
  if (delays.length === 0) return undefined;
  delays.sort((x, y) => x - y);
  return { p50: percentile(delays, 50), p90: percentile(delays, 90), p99: percentile(delays, 99), count: delays.length };
}

/** Parses perfdhcp's final report (and `-x t` timestamps when present). */
export function parsePerfdhcp(text: string): PerfdhcpReport {
  const report: PerfdhcpReport = { discoverOffer: stage(text, "DISCOVER-OFFER"), requestAck: stage(text, "REQUEST-ACK") };
  if (text.includes("***Timestamps for packets:")) {
    report.percentiles = { discoverOffer: timestamps(text, "DISCOVER-OFFER"), requestAck: timestamps(text, "REQUEST-ACK") };
  }
  return report;
}

/** Completed DORA exchanges (ACKs matched to our REQUESTs) and the share of started ones lost. */
export function doraOutcome(r: PerfdhcpReport): { started: number; completed: number; lossRatio: number } {
  const started = r.discoverOffer.sent;
  const completed = r.requestAck.received;
  return { started, completed, lossRatio: started === 0 ? 1 : Math.max(0, started - completed) / started };
}
