// Golden cases for the syslog codec: the RFC 5424 examples, what util-linux logger, iPXE,
// busybox and Docker send, bare messages, and garbage with the byte and field it fails at.
import { describe, expect, test } from "bun:test";
import {
  decodeSyslog, encodeSyslog, facilityName, formatSyslog, severityName, syslogLength, type SyslogMessage,
} from "../../daemon/syslog/codec.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const BOM = "\ufeff";

function decoded(text: string | Uint8Array): SyslogMessage {
  const r = decodeSyslog(typeof text === "string" ? bytes(text) : text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

// Fields not named are absent; structuredData defaults to [].
const msg = (m: Partial<SyslogMessage> & Pick<SyslogMessage, "format" | "facility" | "severity" | "message">): SyslogMessage => ({ structuredData: [], ...m });

const GOLDEN: [string, string, SyslogMessage][] = [
  [
    "RFC 5424 6.5 example 1 (BOM, no structured data)",
    `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`,
    msg({ format: "rfc5424", facility: 4, severity: 2, timestamp: "2003-10-11T22:14:15.003Z", hostname: "mymachine.example.com", app: "su", msgId: "ID47", message: "'su root' failed for lonvick on /dev/pts/8" }),
  ],
  [
    "RFC 5424 6.5 example 2 (all NILVALUE but time; MSG without BOM)",
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    msg({ format: "rfc5424", facility: 20, severity: 5, timestamp: "2003-08-24T05:14:15.000003-07:00", hostname: "192.0.2.1", app: "myproc", procId: "8710", message: "%% It's time to make the do-nuts." }),
  ],
  [
    "RFC 5424 6.5 example 4 (two SD elements, no MSG)",
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    msg({
      format: "rfc5424", facility: 20, severity: 5, timestamp: "2003-10-11T22:14:15.003Z", hostname: "mymachine.example.com", app: "evntslog", msgId: "ID47", message: "",
      structuredData: [
        { id: "exampleSDID@32473", params: [{ name: "iut", value: "3" }, { name: "eventSource", value: "Application" }, { name: "eventID", value: "1011" }] },
        { id: "examplePriority@32473", params: [{ name: "class", value: "high" }] },
      ],
    }),
  ],
  [
    "util-linux logger --rfc5424 with --sd-id/--sd-param (captured)",
    '<11>1 2026-11-22T05:20:01.510772+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"][zoo@123 tiger="hungry"] hi there',
    msg({
      format: "rfc5424", facility: 1, severity: 3, timestamp: "2026-11-22T05:20:01.510772+00:00", hostname: "vm", app: "myapp", message: "hi there",
      structuredData: [
        { id: "timeQuality", params: [{ name: "tzKnown", value: "1" }, { name: "isSynced", value: "0" }] },
        { id: "zoo@123", params: [{ name: "tiger", value: "hungry" }] },
      ],
    }),
  ],
  [
    "RFC 5424 SD escapes: \\\" \\\\ \\] unescaped, other backslashes kept (6.3.3); a repeated name kept",
    '<13>1 - - - - - [x@1 a="q\\"u" b="b\\\\s" c="br\\]" d="o\\n" a="é ]"] ünïcode',
    msg({
      format: "rfc5424", facility: 1, severity: 5, message: "ünïcode",
      structuredData: [{ id: "x@1", params: [{ name: "a", value: 'q"u' }, { name: "b", value: "b\\s" }, { name: "c", value: "br]" }, { name: "d", value: "o\\n" }, { name: "a", value: "é ]" }] }],
    }),
  ],
  [
    "RFC 5424 with a trailing newline (some senders end UDP lines)",
    "<14>1 2024-02-29T23:59:59Z host app 12 - - line\r\n",
    msg({ format: "rfc5424", facility: 1, severity: 6, timestamp: "2024-02-29T23:59:59Z", hostname: "host", app: "app", procId: "12", message: "line" }),
  ],
  [
    "RFC 3164 5.4 example",
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    msg({ format: "rfc3164", facility: 4, severity: 2, timestamp: "Oct 11 22:14:15", hostname: "mymachine", app: "su", message: "'su root' failed for lonvick on /dev/pts/8" }),
  ],
  [
    "util-linux logger --rfc3164 -i: tag[pid] (captured)",
    "<13>Nov 22 05:20:01 vm tag3[8715]: msg3164",
    msg({ format: "rfc3164", facility: 1, severity: 5, timestamp: "Nov 22 05:20:01", hostname: "vm", app: "tag3", procId: "8715", message: "msg3164" }),
  ],
  [
    "RFC 3164 day padded with a space",
    "<86>Feb  5 01:02:03 nuc sshd[42]: Accepted publickey for root",
    msg({ format: "rfc3164", facility: 10, severity: 6, timestamp: "Feb  5 01:02:03", hostname: "nuc", app: "sshd", procId: "42", message: "Accepted publickey for root" }),
  ],
  [
    "iPXE without hostname: <PRI>ipxe: text (src/net/udp/syslog.c)",
    "<6>ipxe: Waiting for link-up on net0... ok",
    msg({ format: "rfc3164", facility: 0, severity: 6, app: "ipxe", message: "Waiting for link-up on net0... ok" }),
  ],
  [
    "iPXE with hostname.domain from DHCP",
    "<3>nuc1.lab.example ipxe: Could not boot: Connection timed out (https://ipxe.org/4c0a6035)",
    msg({ format: "rfc3164", facility: 0, severity: 3, hostname: "nuc1.lab.example", app: "ipxe", message: "Could not boot: Connection timed out (https://ipxe.org/4c0a6035)" }),
  ],
  [
    "busybox syslogd / Docker's default syslog format: no hostname",
    "<30>Jan  2 15:04:05 tink-worker[1]: starting action stream-image",
    msg({ format: "rfc3164", facility: 3, severity: 6, timestamp: "Jan  2 15:04:05", app: "tink-worker", procId: "1", message: "starting action stream-image" }),
  ],
  [
    "srslog's default format: '<PRI> ' then an RFC 3339 time",
    "<30> 2024-01-02T15:04:05+01:00 hook tink-worker[1]: hi",
    msg({ format: "rfc3164", facility: 3, severity: 6, timestamp: "2024-01-02T15:04:05+01:00", hostname: "hook", app: "tink-worker", procId: "1", message: "hi" }),
  ],
  [
    "kernel line through busybox (brackets in the message)",
    "<6>Jan  1 00:00:05 hook kernel: [    0.000000] Linux version 6.6.0",
    msg({ format: "rfc3164", facility: 0, severity: 6, timestamp: "Jan  1 00:00:05", hostname: "hook", app: "kernel", message: "[    0.000000] Linux version 6.6.0" }),
  ],
  ["bare message", "<13>hello world", msg({ format: "rfc3164", facility: 1, severity: 5, message: "hello world" })],
  ["bare message: a colon inside a word is no tag", "<13>see http://example.com/x", msg({ format: "rfc3164", facility: 1, severity: 5, message: "see http://example.com/x" })],
  ["empty message after PRI", "<0>", msg({ format: "rfc3164", facility: 0, severity: 0, message: "" })],
  ["largest PRI", "<191>x", msg({ format: "rfc3164", facility: 23, severity: 7, message: "x" })],
  ["not a timestamp: day 0 stays in the message", "<13>Jan 0 00:00:00 x", msg({ format: "rfc3164", facility: 1, severity: 5, message: "Jan 0 00:00:00 x" })],
  ["version 2 is not RFC 5424: kept as BSD text", "<13>2 apples", msg({ format: "rfc3164", facility: 1, severity: 5, message: "2 apples" })],
  ["trailing CR LF and NUL dropped", "<13>ipxe: ok\r\n\0", msg({ format: "rfc3164", facility: 1, severity: 5, app: "ipxe", message: "ok" })],
];

const MALFORMED: [string, string | Uint8Array, string][] = [
  ["empty datagram", "", "byte 0: pri: empty datagram"],
  ["no PRI", "hello there", "byte 0: pri: expected '<' (a message starts with <PRI>)"],
  ["empty PRI", "<>x", "byte 1: pri: expected a digit"],
  ["PRI not closed", "<13", "byte 3: pri: expected '>'"],
  ["PRI too long", "<1234>x", "byte 4: pri: expected '>' after at most 3 digits"],
  ["PRI over 191", "<192>x", "byte 1: pri: 192 is over 191"],
  ["PRI with a letter", "<1a>x", "byte 2: pri: expected '>'"],
  ["5424: bad timestamp", "<13>1 yesterday host app - - - x", 'byte 6: timestamp: expected RFC 3339 like 2003-10-11T22:14:15.003Z, got "yesterday"'],
  ["5424: leap second refused (6.2.3.1)", "<13>1 2016-12-31T23:59:60Z h a - - -", 'byte 6: timestamp: expected RFC 3339 like 2003-10-11T22:14:15.003Z, got "2016-12-31T23:59:60Z"'],
  ["5424: two spaces (empty field)", "<13>1 -  app - - - x", "byte 8: hostname: expected a value or '-'"],
  ["5424: header cut short", "<13>1 - host", "byte 12: hostname: truncated: expected a space and the structured data"],
  ["5424: APP-NAME over 48", `<13>1 - h ${"a".repeat(49)} - - -`, "byte 10: app-name: longer than 48 characters"],
  ["5424: control byte in PROCID", bytes("<13>1 - h a p\x01 - -"), "byte 13: procid: byte 0x01 is not printable ASCII"],
  ["5424: no structured data", "<13>1 - h a - -", "byte 15: msgid: truncated: expected a space and the structured data"],
  ["5424: SD neither '[' nor '-'", "<13>1 - h a - - x", "byte 16: structured-data: expected '[' or '-'"],
  ["5424: SD element not closed", '<13>1 - - - - - [a b="c"', "byte 24: structured-data: truncated: expected ']'"],
  ["5424: SD value not closed", '<13>1 - - - - - [a b="c]', "byte 22: param-value: truncated: expected the closing '\"'"],
  ["5424: SD value not quoted", "<13>1 - - - - - [a b=c]", "byte 21: param-value: expected '\"'"],
  ["5424: SD-ID over 32", `<13>1 - - - - - [${"x".repeat(33)}]`, "byte 17: sd-id: longer than 32 characters"],
  ["5424: SD-ID missing", "<13>1 - - - - - [ a]", "byte 17: sd-id: expected a name, got byte 0x20"],
  ["5424: no space before MSG", "<13>1 - - - - - -x", "byte 17: msg: expected a space after the structured data"],
];

describe("syslog codec goldens", () => {
  for (const [name, text, expected] of GOLDEN) {
    test(name, () => {
      const m = decoded(text);
      expect(m).toEqual(expected);
      // Re-encoded, it decodes to the same values.
      expect(decoded(formatSyslog(m))).toEqual(m);
    });
  }
});

describe("syslog codec: malformed input names the byte and field", () => {
  for (const [name, input, error] of MALFORMED) {
    test(name, () => {
      const r = decodeSyslog(typeof input === "string" ? bytes(input) : input);
      expect(r).toEqual({ ok: false, error });
    });
  }

  test("invalid UTF-8 in a message becomes U+FFFD, not an error", () => {
    const r = decodeSyslog(Uint8Array.of(...bytes("<13>app: a"), 0xff, 0xfe, ...bytes("b")));
    expect(r.ok && r.value.message).toBe("a\ufffd\ufffdb");
  });
});

describe("syslog codec: encode", () => {
  test("RFC 5424 form: NILVALUEs, escapes, BOM only before UTF-8", () => {
    const m = msg({ format: "rfc5424", facility: 16, severity: 4, app: "wisp", message: "ünï", structuredData: [{ id: "a@1", params: [{ name: "k", value: 'q"\\]' }] }] });
    expect(formatSyslog(m)).toBe(`<132>1 - - wisp - - [a@1 k="q\\"\\\\\\]"] ${BOM}ünï`);
    expect(formatSyslog({ ...m, message: "ascii", structuredData: [] })).toBe("<132>1 - - wisp - - - ascii");
    expect(formatSyslog({ ...m, message: "", structuredData: [] })).toBe("<132>1 - - wisp - - -");
  });

  test("BSD form", () => {
    expect(formatSyslog(msg({ format: "rfc3164", facility: 1, severity: 5, timestamp: "Jan  2 15:04:05", hostname: "h", app: "t", procId: "9", message: "m" }))).toBe("<13>Jan  2 15:04:05 h t[9]: m");
    expect(formatSyslog(msg({ format: "rfc3164", facility: 0, severity: 6, app: "ipxe", message: "ok" }))).toBe("<6>ipxe: ok");
  });

  test("length equals bytes written, at an offset; too small a buffer writes nothing", () => {
    const m = decoded('<165>1 2003-10-11T22:14:15.003Z h app - ID47 [a@1 b="ü"] ünïcode');
    const n = syslogLength(m);
    const out = new Uint8Array(n + 10);
    expect(encodeSyslog(m, out, 11)).toBe(0);
    expect(encodeSyslog(m, out, 3)).toBe(n);
    expect(decoded(out.subarray(3, 3 + n))).toEqual(m);
  });

  test("facility and severity names", () => {
    expect([facilityName(0), facilityName(4), facilityName(10), facilityName(16), facilityName(23), facilityName(24)]).toEqual(["kern", "auth", "authpriv", "local0", "local7", ""]);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(severityName)).toEqual(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", ""]);
  });
});
