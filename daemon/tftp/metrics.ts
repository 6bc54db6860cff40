/** The TFTP server's metrics, registered once per server. */
import type { Counter, Family, Gauge, MetricsRegistry } from "../lib/metrics.ts";
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
}

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
  };
}
