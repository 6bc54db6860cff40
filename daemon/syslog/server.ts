/**
 * The syslog receiver: the only syslog code that touches a socket. Each datagram is decoded
 * into a line, attributed to the Hardware whose interface address sent it (or kept by address),
 * stored in memory and counted. Nothing is ever sent back (RFC 5426 is one-way).
 */
import type { udp } from "bun";
import type { HardwareLookup } from "../dhcp/types.ts";
import { hostFields, type Logger, type MachineFields } from "../lib/log.ts";
import type { Counter, Family, MetricsRegistry } from "../lib/metrics.ts";
import { attribute, lineFromDatagram, peerAddress } from "./line.ts";
import type { EvictReason, SyslogStore } from "./store.ts";
import { parseIpv4 } from "../wire/address.ts";

/** The syslog port (RFC 5426 3.3); iPXE and the Hook's syslogd send there and nowhere else. */
export const DEFAULT_SYSLOG_PORT = 514;
/** Lines a second one source may send on average; a boot is well below, a loop is not. */
export const SOURCE_LINES_PER_SECOND = 1_000;
/** Lines one source may send at once: a Hook's syslogd sends the kernel's whole log when it starts. */
export const SOURCE_BURST = 4_000;
// Sources tracked by the rate limit; beyond this the table starts again (cheap, and rare).
const MAX_RATE_SOURCES = 65_536;

/** What the receiver needs. */
export interface SyslogServerOptions {
  /** Address to bind (`--listen-address`). */
  hostname: string;
  /** Port to bind; 0 takes a free one (tests: wispd itself treats `--syslog-port 0` as off). */
  port: number;
  lookup: Pick<HardwareLookup, "byIp">;
  store: SyslogStore;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Per-source rate limit; defaults SOURCE_LINES_PER_SECOND and SOURCE_BURST. */
  rate?: { perSecond: number; burst: number };
  /** The clock (tests). */
  now?: () => number;
}

/** A running receiver. */
export interface SyslogServer {
  readonly port: number;
  close(): void;
}

interface Metrics {
  messages: Family<Counter>;
  dropped: Family<Counter>;
  unattributed: Counter;
}

/** Registers the receiver's metrics; the store's eviction counter is registered here too. */
export function syslogMetrics(registry: MetricsRegistry, store: SyslogStore): Metrics {
  const m: Metrics = {
    messages: registry.counter("wisp_syslog_messages_total", "Syslog datagrams received, by result (parsed, malformed: kept raw, dropped: not kept)", ["result"]),
    dropped: registry.counter("wisp_syslog_dropped_total", "Syslog datagrams not kept, by reason (empty, rate: over the per-source rate)", ["reason"]),
    unattributed: registry.counter("wisp_syslog_unattributed_total", "Syslog lines kept from addresses of no Hardware").labels(),
  };
  for (const r of ["parsed", "malformed", "dropped"]) m.messages.labels(r);
  for (const r of ["empty", "rate"]) m.dropped.labels(r);
  registry.gaugeFunction("wisp_syslog_lines", "Syslog lines kept in memory", () => store.stats.lines);
  registry.gaugeFunction("wisp_syslog_bytes", "Estimated bytes of the syslog lines kept in memory", () => store.stats.bytes);
  return m;
}

/** The store's `onEvict`, counted as wisp_syslog_evicted_total{reason}. */
export function evictionCounter(registry: MetricsRegistry): (reason: EvictReason, lines: number) => void {
  const evicted = registry.counter("wisp_syslog_evicted_total", "Syslog lines removed from memory, by reason (ring: machine or source full, source: unknown source dropped, memory: byte bound)", ["reason"]);
  for (const r of ["ring", "source", "memory"]) evicted.labels(r);
  return (reason, lines) => evicted.labels(reason).inc(lines);
}

/** Binds the socket and receives until close(). Throws when the port cannot be bound. */
export async function startSyslogServer(opts: SyslogServerOptions): Promise<SyslogServer> {
  const { store, lookup, logger: log } = opts;
  const metrics = syslogMetrics(opts.metrics, store);
  const now = opts.now ?? Date.now;
  const allow = rateLimiter(opts.rate ?? { perSecond: SOURCE_LINES_PER_SECOND, burst: SOURCE_BURST }, now);

  // ops: the machine that sent a datagram (the hardware index by its address), for log lines.
  const machineAt = (peer: string): MachineFields => {
    const ip = parseIpv4(peer);
    return hostFields(ip.ok ? lookup.byIp(ip.value) : undefined);
  };
  const receive = (data: Uint8Array, address: string): void => {
    const peer = peerAddress(address);
    if (data.length === 0) return drop("empty");
    if (!allow(peer)) return drop("rate");
    const line = lineFromDatagram(data, peer, new Date(now()));
    const source = attribute(peer, lookup);
    store.add(source, line);
    metrics.messages.labels(line.format === "malformed" ? "malformed" : "parsed").inc();
    if (source.kind === "unknown") metrics.unattributed.inc();
    // Debug, not warn: the line is kept for the operator and counted; a warning per datagram
    // would copy a misbehaving machine's every line into wispd's own log.
    if (line.error !== undefined) log.debug({ peer, error: line.error, ...machineAt(peer) }, "syslog datagram malformed");
  };
  const drop = (reason: "empty" | "rate"): void => {
    metrics.messages.labels("dropped").inc();
    metrics.dropped.labels(reason).inc();
  };

  const socket: udp.Socket<"uint8array"> = await Bun.udpSocket({
    hostname: opts.hostname,
    port: opts.port,
    binaryType: "uint8array",
    socket: {
      data: (_s, data, _port, address) => {
        try {
          receive(data, address);
        } catch (e) {
          log.error({ err: e, peer: address }, "syslog datagram handling failed");
        }
      },
      // Bun passes the error first on some versions, (socket, error) on others.
      error: (a: unknown, b?: unknown) => log.warn({ err: a instanceof Error ? a : b }, "syslog socket error"),
    },
  });
  log.info({ address: opts.hostname, port: socket.port }, "syslog listening");
  return {
    port: socket.port,
    close: () => socket.close(),
  };
}

/** A token bucket per source address: `burst` at once, refilled at `perSecond`. */
export function rateLimiter(rate: { perSecond: number; burst: number }, now: () => number): (peer: string) => boolean {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (peer) => {
    const t = now();
    let b = buckets.get(peer);
    if (b === undefined) {
      if (buckets.size >= MAX_RATE_SOURCES) buckets.clear();
      buckets.set(peer, (b = { tokens: rate.burst, at: t }));
    } else {
      b.tokens = Math.min(rate.burst, b.tokens + ((t - b.at) / 1000) * rate.perSecond);
      b.at = t;
    }
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  };
}
