/**
 * The agent's own log lines, also sent to `syslog_host` as RFC 5424 over UDP (RFC 5426), so
 * wispd's syslog receiver keeps a Hook's agent log beside the machine's other lines. One JSON
 * line, one datagram: APP-NAME `wisp-agent`, PROCID the pid, severity from pino's level, MSG the
 * JSON line itself. Sending never blocks or fails the agent: a datagram that cannot go is dropped.
 */
import { createSocket, type Socket } from "node:dgram";
import { hostname } from "node:os";
import { formatSyslog, type SyslogMessage } from "../daemon/syslog/codec.ts";

/** Port when `syslog_host` names none (RFC 5426 3.3). */
export const SYSLOG_PORT = 514;
/** Largest datagram sent: every receiver must take 2048 octets (RFC 5426 3.2); longer MSGs are cut. */
export const MAX_DATAGRAM_BYTES = 2048;
/** RFC 5424 6.2.1 facility: system daemons. */
const FACILITY_DAEMON = 3;
const APP_NAME = "wisp-agent";

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; throws naming the value when it is not one. */
export function parseSyslogHost(value: string): { host: string; port: number } {
  const v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  const [host, port] = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : v.split(":").length === 2
      ? (v.split(":") as [string, string])
      : [v, undefined];
  const n = port === undefined ? SYSLOG_PORT : Number(port);
  if (host === "" || /\s/.test(host) || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`syslog_host "${value}": expected host, host:port or [ipv6]:port`);
  }
  return { host, port: n };
}

/** RFC 5424 severity of a pino level (10 trace and 20 debug -> debug, 30 info, 40 warning, 50 err, 60 crit). */
export function severityOfLevel(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

const encoder = new TextEncoder();

/** One pino JSON line as an RFC 5424 datagram of at most MAX_DATAGRAM_BYTES. Pure. */
export function syslogDatagram(jsonLine: string, opts: { hostname: string; pid: number; now: Date }): Uint8Array {
  const line = jsonLine.replace(/\r?\n$/, "");
  const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
  const message: SyslogMessage = {
    format: "rfc5424",
    facility: FACILITY_DAEMON,
    severity: severityOfLevel(level),
    timestamp: opts.now.toISOString(),
    hostname: opts.hostname || undefined,
    app: APP_NAME,
    procId: String(opts.pid),
    structuredData: [],
    message: line,
  };
  let bytes = encoder.encode(formatSyslog(message));
  if (bytes.length <= MAX_DATAGRAM_BYTES) return bytes;
  // Cut the MSG (not the header), then drop a UTF-8 sequence the cut split.
  bytes = bytes.subarray(0, MAX_DATAGRAM_BYTES);
  let end = bytes.length;
  let back = end - 1;
  while (back > 0 && (bytes[back]! & 0xc0) === 0x80) back--;
  const lead = bytes[back]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (back + need > end) end = back;
  return bytes.subarray(0, end);
}

/** A pino destination: each line goes to `out` and, as a datagram, to the syslog receiver. */
export interface SyslogForwarder {
  write(line: string): void;
  /** Datagrams handed to the socket and ones dropped (a send error). */
  readonly stats: { sent: number; dropped: number };
  close(): void;
}

/** Forwards to `target` (`syslog_host`'s value); `out` gets every line first (stdout). */
export function syslogForwarder(target: string, out: { write(line: string): unknown }): SyslogForwarder {
  const { host, port } = parseSyslogHost(target);
  const socket: Socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  socket.on("error", () => stats.dropped++);
  socket.unref();
  const stats = { sent: 0, dropped: 0 };
  const name = hostname();
  return {
    stats,
    write(line) {
      out.write(line);
      const datagram = syslogDatagram(line, { hostname: name, pid: process.pid, now: new Date() });
      socket.send(datagram, port, host, (e) => (e ? stats.dropped++ : stats.sent++));
    },
    close() {
      socket.close();
    },
  };
}
