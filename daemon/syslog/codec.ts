/**
 * Syslog messages: RFC 5424, and the BSD forms (RFC 3164 and the looser lines iPXE, busybox
 * syslogd and Docker's syslog driver send). Pure: bytes in, a message or the reason out; never
 * throws. UDP carries one message per datagram (RFC 5426 3.1), so there is no framing here.
 */
import { err, ok, type Result } from "../lib/result.ts";

/** Facility names by code (RFC 5424 6.2.1 table 1), as rsyslog spells them. */
export const FACILITY_NAMES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

/** Severity names by code (RFC 5424 6.2.1 table 2), as syslog(3) and `logger -p` spell them. */
export const SEVERITY_NAMES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"] as const;

/** One SD-PARAM (RFC 5424 6.3.3), its value unescaped. */
export interface SdParam {
  name: string;
  value: string;
}

/** One SD-ELEMENT (RFC 5424 6.3.1): its SD-ID and its params in the order sent (names may repeat). */
export interface SdElement {
  id: string;
  params: SdParam[];
}

/** Which header a message had: RFC 5424, or one of the BSD forms. */
export type SyslogFormat = "rfc5424" | "rfc3164";

/** A decoded message. Absent fields were NILVALUE ("-") or not sent. */
export interface SyslogMessage {
  format: SyslogFormat;
  /** 0-23; PRI = facility * 8 + severity (RFC 5424 6.2.1). */
  facility: number;
  /** 0 (emerg) - 7 (debug). */
  severity: number;
  /** As sent: RFC 3339 text (5424, or BSD senders that use it) or "Mmm dd hh:mm:ss" (3164). */
  timestamp?: string;
  hostname?: string;
  /** APP-NAME (5424) or TAG (3164). */
  app?: string;
  /** PROCID (5424) or the TAG's [pid] (3164). */
  procId?: string;
  msgId?: string;
  /** RFC 5424 only; empty otherwise. */
  structuredData: SdElement[];
  /** MSG without a leading BOM or trailing CR, LF and NUL. */
  message: string;
}

// RFC 5424 6: SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]; these are its delimiters.
const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const DASH = 0x2d;
/** RFC 5424 6.2.1: PRIVAL is 1-3 digits, 0-191 (23 facilities * 8 + 7). */
const MAX_PRIVAL = 191;
/** RFC 5424 6.2.3: "2003-10-11T22:14:15.003000-07:00" is 32; 35 leaves room for 9 fraction digits. */
const MAX_TIMESTAMP = 35;
/** RFC 5424 6.2.4-6.2.7: longest HOSTNAME, APP-NAME, PROCID and MSGID. */
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;
/** RFC 5424 6.3.2, 6.3.3: SD-ID and PARAM-NAME are 1-32 characters. */
const MAX_SD_NAME = 32;
/** RFC 5424 6.4: MSG-UTF8 starts with this byte order mark. */
const BOM = [0xef, 0xbb, 0xbf] as const;
// RFC 3164 4.1.3 asks for 32 characters at most; real tags (Docker container names) run longer.
const MAX_TAG = 64;

// Not fatal: a sender's bad UTF-8 becomes U+FFFD rather than a lost line. The BOM is ours to strip.
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const fail = (offset: number, field: string, problem: string): { ok: false; error: string } => err(`byte ${offset}: ${field}: ${problem}`);

/** Decodes one datagram; the error names the byte offset and the field ("byte 4: timestamp: ..."). */
export function decodeSyslog(buf: Uint8Array): Result<SyslogMessage> {
  if (buf.length === 0) return fail(0, "pri", "empty datagram");
  if (buf[0] !== LT) return fail(0, "pri", "expected '<' (a message starts with <PRI>)");
  let prival = 0;
  let i = 1;
  while (i < buf.length && i <= 3 && isDigit(buf[i]!)) prival = prival * 10 + buf[i++]! - 0x30;
  if (i === 1) return fail(1, "pri", "expected a digit");
  if (buf[i] !== GT) return fail(i, "pri", i > 3 ? "expected '>' after at most 3 digits" : "expected '>'");
  if (prival > MAX_PRIVAL) return fail(1, "pri", `${prival} is over ${MAX_PRIVAL}`);
  i++;
  const facility = prival >> 3;
  const severity = prival & 7;
  // RFC 5424 6.2.2: VERSION 1 follows PRI directly; a BSD message has a letter, digit pair or text there.
  if (buf[i] === 0x31 && buf[i + 1] === SP) return decode5424(buf, i + 2, facility, severity);
  return ok(decodeBsd(utf8.decode(buf.subarray(i)), facility, severity));
}

function decode5424(buf: Uint8Array, start: number, facility: number, severity: number): Result<SyslogMessage> {
  const m: SyslogMessage = { format: "rfc5424", facility, severity, structuredData: [], message: "" };
  let pos = start;
  const header = [
    ["timestamp", MAX_TIMESTAMP],
    ["hostname", MAX_HOSTNAME],
    ["app-name", MAX_APP_NAME],
    ["procid", MAX_PROCID],
    ["msgid", MAX_MSGID],
  ] as const;
  const values: (string | undefined)[] = [];
  for (const [field, max] of header) {
    const end = tokenEnd(buf, pos);
    if (end === pos) return fail(pos, field, pos >= buf.length ? "truncated" : "expected a value or '-'");
    if (end - pos > max) return fail(pos, field, `longer than ${max} characters`);
    for (let k = pos; k < end; k++) {
      if (buf[k]! < 0x21 || buf[k]! > 0x7e) return fail(k, field, `byte 0x${hex(buf[k]!)} is not printable ASCII`);
    }
    if (end >= buf.length) return fail(end, field, "truncated: expected a space and the structured data");
    values.push(end - pos === 1 && buf[pos] === DASH ? undefined : ascii(buf, pos, end));
    pos = end + 1;
  }
  const [timestamp, hostname, app, procId, msgId] = values;
  if (timestamp !== undefined) {
    if (!validRfc3339(timestamp, true)) return fail(start, "timestamp", `expected RFC 3339 like 2003-10-11T22:14:15.003Z, got ${JSON.stringify(timestamp)}`);
    m.timestamp = timestamp;
  }
  if (hostname !== undefined) m.hostname = hostname;
  if (app !== undefined) m.app = app;
  if (procId !== undefined) m.procId = procId;
  if (msgId !== undefined) m.msgId = msgId;

  if (buf[pos] === DASH) pos++;
  else if (buf[pos] === LBRACKET) {
    while (buf[pos] === LBRACKET) {
      const element = readSdElement(buf, pos);
      if (!element.ok) return element;
      m.structuredData.push(element.value.element);
      pos = element.value.end;
    }
  } else return fail(pos, "structured-data", pos >= buf.length ? "truncated" : "expected '[' or '-'");

  if (pos < buf.length) {
    if (buf[pos] !== SP) return fail(pos, "msg", "expected a space after the structured data");
    pos++;
    if (buf[pos] === BOM[0] && buf[pos + 1] === BOM[1] && buf[pos + 2] === BOM[2]) pos += 3;
    m.message = trimLineEnd(utf8.decode(buf.subarray(pos)));
  }
  return ok(m);
}

/** One `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]`, starting at its '['. */
function readSdElement(buf: Uint8Array, start: number): Result<{ element: SdElement; end: number }> {
  const id = readSdName(buf, start + 1, "sd-id");
  if (!id.ok) return id;
  const element: SdElement = { id: id.value.name, params: [] };
  let pos = id.value.end;
  for (;;) {
    if (pos >= buf.length) return fail(pos, "structured-data", "truncated: expected ']'");
    if (buf[pos] === RBRACKET) return ok({ element, end: pos + 1 });
    if (buf[pos] !== SP) return fail(pos, "structured-data", "expected ' ' or ']'");
    const name = readSdName(buf, pos + 1, "param-name");
    if (!name.ok) return name;
    pos = name.value.end;
    if (buf[pos] !== EQUALS) return fail(pos, "param-name", "expected '='");
    if (buf[pos + 1] !== QUOTE) return fail(pos + 1, "param-value", "expected '\"'");
    const valueStart = pos + 2;
    let end = valueStart;
    // RFC 5424 6.3.3: '"', '\' and ']' are escaped with '\'; skipping the escaped byte finds the real end.
    while (end < buf.length && buf[end] !== QUOTE) end += buf[end] === BACKSLASH ? 2 : 1;
    if (end >= buf.length) return fail(valueStart, "param-value", "truncated: expected the closing '\"'");
    element.params.push({ name: name.value.name, value: unescapeParam(utf8.decode(buf.subarray(valueStart, end))) });
    pos = end + 1;
  }
}

/** SD-NAME (RFC 5424 6.3.2): 1-32 printable ASCII characters except '=', ' ', ']' and '"'. */
function readSdName(buf: Uint8Array, start: number, field: string): Result<{ name: string; end: number }> {
  let end = start;
  while (end < buf.length && isSdNameByte(buf[end]!)) end++;
  if (end === start) return fail(start, field, end >= buf.length ? "truncated" : `expected a name, got byte 0x${hex(buf[end]!)}`);
  if (end - start > MAX_SD_NAME) return fail(start, field, `longer than ${MAX_SD_NAME} characters`);
  return ok({ name: ascii(buf, start, end), end });
}

const isSdNameByte = (b: number): boolean => b >= 0x21 && b <= 0x7e && b !== EQUALS && b !== RBRACKET && b !== QUOTE;

// A backslash before anything else is a plain backslash (RFC 5424 6.3.3).
const unescapeParam = (v: string): string => (v.includes("\\") ? v.replace(/\\(["\\\]])/g, "$1") : v);

const MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec";
// RFC 3164 4.1.2: "Mmm dd hh:mm:ss", the day padded with a space; some senders use "09" or "9",
// rsyslog's high-precision form adds a fraction.
const BSD_TIMESTAMP = new RegExp(`^(?:${MONTHS}) ( [1-9]|[0-3]?[0-9]) ([0-2][0-9]):([0-5][0-9]):([0-5][0-9])(\\.[0-9]{1,6})?(?= |$)`);
// RFC 3339 (RFC 5424 6.2.3), with up to 9 fraction digits: Go's RFC3339Nano sends 9, the RFC allows 6.
const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-]([0-9]{2}):([0-9]{2}))/;
// TAG[PID]: at the start of the rest; the colon must end the word (so "http://x" is no tag).
const TAG = new RegExp(`^([^\\s:\\[\\]]{1,${MAX_TAG}})(?:\\[([^\\]\\s]{1,${MAX_PROCID}})\\])?:(?: |$)`);
// A HOSTNAME word: no brackets, not ending in ':' (that is a tag), followed by a space.
const HOSTNAME = new RegExp(`^([^\\s\\[\\]]{0,${MAX_HOSTNAME - 1}}[^\\s\\[\\]:]) `);

/** True for RFC 3339 date-time text; `whole` requires nothing after it. */
function validRfc3339(text: string, whole: boolean): boolean {
  const m = RFC3339.exec(text);
  if (!m || (whole && m[0].length !== text.length)) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  // RFC 5424 6.2.3.1: no leap seconds (second 60) in syslog timestamps.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return false;
  return m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
}

/** The BSD forms: `[TIMESTAMP SP [HOSTNAME SP]] [HOSTNAME SP TAG[PID]: ] MSG`, all optional. */
function decodeBsd(text: string, facility: number, severity: number): SyslogMessage {
  const m: SyslogMessage = { format: "rfc3164", facility, severity, structuredData: [], message: "" };
  // Line ends first: what a field is must not depend on a trailing newline.
  let rest = trimLineEnd(text);
  // Docker's srslog writes "<PRI> TIMESTAMP": skip that space, but only before a timestamp.
  const skip = rest.startsWith(" ") && bsdTimestamp(rest) === undefined ? 1 : 0;
  const timestamp = bsdTimestamp(skip ? rest.slice(1) : rest);
  if (timestamp !== undefined) {
    rest = rest.slice(skip + timestamp.length + 1);
    m.timestamp = timestamp;
  }
  if (!TAG.test(rest)) {
    const host = HOSTNAME.exec(rest);
    // After a timestamp the next word is the HOSTNAME (RFC 3164 4.1.2). Without one, a word is
    // a hostname only before a tag: iPXE sends "<PRI>host.domain ipxe: text".
    if (host && (timestamp !== undefined || TAG.test(rest.slice(host[0].length)))) {
      m.hostname = host[1]!;
      rest = rest.slice(host[0].length);
    }
  }
  const tag = TAG.exec(rest);
  if (tag) {
    m.app = tag[1]!;
    if (tag[2] !== undefined) m.procId = tag[2];
    rest = rest.slice(tag[0].length);
  }
  m.message = rest;
  return m;
}

function bsdTimestamp(text: string): string | undefined {
  const bsd = BSD_TIMESTAMP.exec(text);
  if (bsd) {
    const day = Number(bsd[1]!.trim());
    return day >= 1 && day <= 31 && Number(bsd[2]) <= 23 ? bsd[0] : undefined;
  }
  const iso = RFC3339.exec(text);
  if (iso && (text.length === iso[0].length || text[iso[0].length] === " ") && validRfc3339(iso[0], true)) return iso[0];
  return undefined;
}

/** The message as RFC 5424 or BSD text (by `format`); fields must be as decodeSyslog returns them. */
export function formatSyslog(m: SyslogMessage): string {
  const pri = `<${m.facility * 8 + m.severity}>`;
  if (m.format === "rfc3164") {
    const tag = m.app === undefined ? "" : `${m.app}${m.procId === undefined ? "" : `[${m.procId}]`}: `;
    return `${pri}${m.timestamp === undefined ? "" : m.timestamp + " "}${m.hostname === undefined ? "" : m.hostname + " "}${tag}${m.message}`;
  }
  const nil = (v: string | undefined) => v ?? "-";
  const sd = m.structuredData.length === 0 ? "-" : m.structuredData.map(formatSdElement).join("");
  // RFC 5424 6.4: a UTF-8 MSG should start with a BOM; ASCII needs none.
  const msg = m.message === "" ? "" : " " + (/^[\x00-\x7f]*$/.test(m.message) ? "" : "\ufeff") + m.message;
  return `${pri}1 ${nil(m.timestamp)} ${nil(m.hostname)} ${nil(m.app)} ${nil(m.procId)} ${nil(m.msgId)} ${sd}${msg}`;
}

const formatSdElement = (e: SdElement): string =>
  `[${e.id}${e.params.map((p) => ` ${p.name}="${p.value.replace(/["\\\]]/g, (c) => "\\" + c)}"`).join("")}]`;

/** Bytes formatSyslog(m) takes as UTF-8. */
export function syslogLength(m: SyslogMessage): number {
  return utf8Encoder.encode(formatSyslog(m)).length;
}

/** Writes formatSyslog(m) as UTF-8 at `offset`; returns the bytes written (0 if it does not fit). */
export function encodeSyslog(m: SyslogMessage, out: Uint8Array, offset: number): number {
  const bytes = utf8Encoder.encode(formatSyslog(m));
  if (offset < 0 || offset + bytes.length > out.length) return 0;
  out.set(bytes, offset);
  return bytes.length;
}

/** "err" for 3; "" when out of range. */
export const severityName = (severity: number): string => SEVERITY_NAMES[severity] ?? "";
/** "local0" for 16; "" when out of range. */
export const facilityName = (facility: number): string => FACILITY_NAMES[facility] ?? "";

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const hex = (b: number): string => b.toString(16).padStart(2, "0");

/** First SP at or after `pos`, or the end. */
function tokenEnd(buf: Uint8Array, pos: number): number {
  let end = pos;
  while (end < buf.length && buf[end] !== SP) end++;
  return end;
}

// Bytes already checked to be ASCII: one char per byte.
function ascii(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let k = start; k < end; k++) s += String.fromCharCode(buf[k]!);
  return s;
}

/** Drops trailing CR, LF and NUL (senders that end lines, or C strings, as UDP does not need). */
export function trimLineEnd(text: string): string {
  let end = text.length;
  // A loop, not a regex: /[\r\n\0]+$/ is quadratic on a long run of newlines before other text.
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 0x0a && c !== 0x0d && c !== 0) break;
    end--;
  }
  return end === text.length ? text : text.slice(0, end);
}
