/**
 * What one syslog datagram becomes: the line kept for an operator (parsed, or the raw text with
 * the reason it did not parse) and the machine it belongs to. Pure: no sockets, no clock.
 */
import type { HardwareLookup } from "../dhcp/types.ts";
import { parseIpv4 } from "../wire/address.ts";
import { decodeSyslog, facilityName, severityName, trimLineEnd, type SdElement } from "./codec.ts";

/** Longest message text kept; more is cut and the line marked. RFC 5424 6.1 expects 2048 octets, allows more. */
export const MAX_MESSAGE_CHARS = 4_096;

/** API response header with the store's highest sequence number (the CLI reads it too). */
export const SYSLOG_LAST_SEQ_HEADER = "x-wisp-syslog-last-seq";

/** A stored line, as the API returns it. */
export interface SyslogLine {
  /** Increasing across all sources of this wispd process, from 1. */
  seq: number;
  /** When wispd received it (ISO 8601, UTC): the clock to trust, as booting machines' clocks are often wrong. */
  receivedAt: string;
  /** Source address of the datagram. */
  peer: string;
  /** "malformed": `message` is the raw datagram text and `error` says why it did not parse. */
  format: "rfc5424" | "rfc3164" | "malformed";
  facility?: string;
  severity?: string;
  /** As the sender wrote it. */
  timestamp?: string;
  hostname?: string;
  app?: string;
  procId?: string;
  msgId?: string;
  structuredData?: SdElement[];
  message: string;
  /** Why the datagram did not parse (byte offset and field). */
  error?: string;
  /** The message was longer than MAX_MESSAGE_CHARS and was cut. */
  truncated?: true;
}

/** A line before the store numbers it. */
export type SyslogEntry = Omit<SyslogLine, "seq">;

/** Where a line is kept: under the Hardware its source address belongs to, or by address. */
export type SyslogSource = { kind: "hardware"; namespace: string; name: string } | { kind: "unknown"; address: string };

// Not fatal: a garbled datagram is still worth showing.
const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Decodes a datagram into the line to keep; never throws. */
export function lineFromDatagram(buf: Uint8Array, peer: string, receivedAt: Date): SyslogEntry {
  const base = { receivedAt: receivedAt.toISOString(), peer };
  const decoded = decodeSyslog(buf);
  if (!decoded.ok) {
    return withMessage({ ...base, format: "malformed", error: decoded.error }, trimLineEnd(utf8.decode(buf)));
  }
  const m = decoded.value;
  const line: Omit<SyslogEntry, "message"> = {
    ...base,
    format: m.format,
    facility: facilityName(m.facility),
    severity: severityName(m.severity),
  };
  if (m.timestamp !== undefined) line.timestamp = m.timestamp;
  if (m.hostname !== undefined) line.hostname = m.hostname;
  if (m.app !== undefined) line.app = m.app;
  if (m.procId !== undefined) line.procId = m.procId;
  if (m.msgId !== undefined) line.msgId = m.msgId;
  if (m.structuredData.length > 0) line.structuredData = m.structuredData;
  return withMessage(line, m.message);
}

function withMessage(line: Omit<SyslogEntry, "message">, message: string): SyslogEntry {
  if (message.length <= MAX_MESSAGE_CHARS) return { ...line, message };
  return { ...line, message: message.slice(0, MAX_MESSAGE_CHARS), truncated: true };
}

/** The sender's address as we show it: a dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d. */
export const peerAddress = (address: string): string => (address.startsWith("::ffff:") ? address.slice(7) : address);

/** The machine a source address belongs to (an interface address of a Hardware), or the address itself. */
export function attribute(peer: string, lookup: Pick<HardwareLookup, "byIp">): SyslogSource {
  const ip = parseIpv4(peer);
  const host = ip.ok ? lookup.byIp(ip.value) : undefined;
  if (host) return { kind: "hardware", namespace: host.namespace, name: host.hardwareName };
  return { kind: "unknown", address: peer };
}
