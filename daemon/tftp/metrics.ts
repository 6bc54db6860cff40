/** The TFTP server's metrics, registered once per server. */
import type { Counter, Family, Gauge, Histogram, MetricsRegistry } from "../lib/metrics.ts";
import type { FileSource } from "./files.ts";

/** The TFTP counters and gauges. */
export interface TftpMetrics {
  requests: Family<Counter>;
  errors: Family<Counter>;
  bytes: Counter;
  active: Gauge;
  retransmits: Counter;
  dataPackets: Counter;
  transfers: Family<Counter>;
  /** ops: transfer duration from the request to the end, by result. */
  duration: Family<Histogram>;
}

/** Buckets of the transfer duration (seconds): an iPXE binary takes ms on a LAN, a kernel over a lossy link minutes. */
export const TFTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;

/** Registers the wisp_tftp_* metrics in `registry`. */
export function tftpMetrics(registry: MetricsRegistry, files: FileSource): TftpMetrics {
  registry.gaugeFunction("wisp_tftp_cache_bytes", "Bytes of small files (iPXE binaries) TFTP holds in memory", () => files.cachedBytes());
  return {
    requests: registry.counter("wisp_tftp_requests_total", "TFTP requests received on the listener, by result", ["result"]),
    errors: registry.counter("wisp_tftp_errors_total", "TFTP errors sent, packets dropped and transfers failed, by reason", ["reason"]),
    bytes: registry.counter("wisp_tftp_bytes_total", "TFTP DATA payload bytes sent, retransmissions included").labels(),
    active: registry.gauge("wisp_tftp_transfers_active", "TFTP transfers under way").labels(),
    retransmits: registry.counter("wisp_tftp_retransmits_total", "TFTP packets sent again (after a timeout, or an ACK inside a window)").labels(),
    dataPackets: registry.counter("wisp_tftp_data_packets_total", "TFTP DATA packets sent, retransmissions included").labels(),
    transfers: registry.counter("wisp_tftp_transfers_total", "TFTP transfers ended, by result", ["result"]),
    duration: registry.histogram("wisp_tftp_transfer_duration_seconds", "TFTP transfer duration from the request to the end, by result", ["result"], TFTP_DURATION_BUCKETS),
  };
}
