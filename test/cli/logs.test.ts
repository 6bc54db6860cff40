// `wisp logs` against a fake API: the line format (severity, malformed, cut, control characters
// shown), following with the last-seq header (new lines once, a restart of wispd noticed), and
// the subject table (workflow logs: test/e2e/workflow-logs.test.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiClient } from "../../cli/client.ts";
import { formatLogLine, logsCommand, parseSince } from "../../cli/logs.ts";
import { SYSLOG_LAST_SEQ_HEADER, type SyslogLine } from "../../daemon/syslog/line.ts";

const line = (seq: number, message: string, extra: Partial<SyslogLine> = {}): SyslogLine => ({
  seq, receivedAt: "2024-05-01T12:00:01.234Z", peer: "10.0.0.5", format: "rfc3164", facility: "user", severity: "info", message, ...extra,
});

// What the fake API holds; tests change it between polls.
let lines: SyslogLine[] = [];
let lastSeq = 0;
const requests: string[] = [];
let server: ReturnType<typeof Bun.serve>;
let client: ApiClient;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      requests.push(url.pathname + url.search);
      if (!url.pathname.endsWith("/hardware/m1/logs")) return Response.json({ code: "not_found", message: "Hardware default/x not found" }, { status: 404 });
      const since = url.searchParams.get("since");
      const out = since === null ? lines : lines.filter((l) => l.seq > Number(since));
      return new Response(out.map((l) => JSON.stringify(l) + "\n").join(""), { headers: { [SYSLOG_LAST_SEQ_HEADER]: String(lastSeq) } });
    },
  });
  client = new ApiClient(`http://127.0.0.1:${server.port}`, "t");
});

afterAll(() => server?.stop(true));

describe("wisp logs", () => {
  test("line format: wispd's time, host or source address, APP[PID], severity, message", () => {
    expect(formatLogLine(line(1, "hello", { hostname: "nuc", app: "tink-worker", procId: "42", severity: "err" }))).toBe("2024-05-01T12:00:01Z nuc tink-worker[42]: ERR hello");
    expect(formatLogLine(line(2, "Waiting for link-up", { facility: "kern", app: "ipxe" }))).toBe("2024-05-01T12:00:01Z 10.0.0.5 ipxe: INFO Waiting for link-up");
    expect(formatLogLine(line(3, "garbage", { format: "malformed", facility: undefined, severity: undefined, error: "byte 0: pri: ..." }))).toBe("2024-05-01T12:00:01Z 10.0.0.5 -: MALFORMED garbage");
    expect(formatLogLine(line(4, "long", { truncated: true }))).toBe("2024-05-01T12:00:01Z 10.0.0.5 -: INFO long [truncated]");
    expect(formatLogLine(line(5, "\x1b]0;pwned\x07 a\tb\nc\u009b"))).toBe(String.raw`2024-05-01T12:00:01Z 10.0.0.5 -: INFO \x1b]0;pwned\x07 a` + "\t" + String.raw`b\x0ac\x9b`);
  });

  test("--since takes a sequence number", () => {
    expect(parseSince(undefined)).toBeUndefined();
    expect(parseSince("0")).toBe(0);
    expect(() => parseSince("-1")).toThrow('--since: expected a sequence number (seq) like 120, got "-1"');
    expect(() => parseSince("1e3")).toThrow("--since");
  });

  test("once: prints the lines (as JSON with -o json) and passes --since on", async () => {
    lines = [line(1, "a"), line(3, "b")];
    lastSeq = 3;
    const out: string[] = [];
    expect(await logsCommand(client, ["hw", "m1"], { namespace: "default", follow: false, output: "json" }, (l) => out.push(l))).toBe(0);
    expect(out.map((l) => JSON.parse(l).message)).toEqual(["a", "b"]);
    requests.length = 0;
    out.length = 0;
    await logsCommand(client, ["hardware", "m1"], { namespace: "default", follow: false, since: 1, output: "table" }, (l) => out.push(l));
    expect(out).toEqual(["2024-05-01T12:00:01Z 10.0.0.5 -: INFO b"]);
    expect(requests).toEqual(["/api/v1/namespaces/default/hardware/m1/logs?since=1&limit=10000"]);
  });

  test("--follow: new lines once each, from the last seq; a restart of wispd is noticed and read from its start", async () => {
    lines = [line(1, "old")];
    lastSeq = 5; // other machines' lines took 2-5
    requests.length = 0;
    const out: string[] = [];
    const warnings: string[] = [];
    const stop = new Error("stop");
    let polls = 0;
    const print = (l: string) => {
      out.push(l);
      if (l.endsWith("after restart")) throw stop;
    };
    const run = logsCommand(client, ["hardware", "m1"], { namespace: "default", follow: true, output: "table", intervalMs: 5, warn: (w) => warnings.push(w) }, print);
    // Change the fake between polls: a new line, then a restart.
    const driver = (async () => {
      while (requests.length < 2) await Bun.sleep(2);
      lines.push(line(6, "new"));
      lastSeq = 6;
      while (!out.some((l) => l.endsWith("new"))) await Bun.sleep(2);
      polls = requests.length;
      lines = [line(1, "after restart")];
      lastSeq = 1;
    })();
    await expect(run).rejects.toBe(stop);
    await driver;
    expect(out.map((l) => l.split(": INFO ")[1])).toEqual(["old", "new", "after restart"]);
    expect(warnings).toEqual(["wisp: wispd restarted; its earlier lines are gone"]);
    expect(requests[0]).toBe("/api/v1/namespaces/default/hardware/m1/logs");
    expect(requests[1]).toBe("/api/v1/namespaces/default/hardware/m1/logs?since=5&limit=10000");
    expect(requests.slice(polls)).toContain("/api/v1/namespaces/default/hardware/m1/logs?since=0&limit=10000");
  });

  test("errors: the API's message; usage; --action only for workflows", async () => {
    const opts = { namespace: "default", follow: false, output: "table" };
    await expect(logsCommand(client, ["hardware", "x"], opts, () => {})).rejects.toThrow("Hardware default/x not found");
    await expect(logsCommand(client, ["hardware"], opts, () => {})).rejects.toThrow("usage: wisp logs hardware NAME");
    await expect(logsCommand(client, ["hardware", "m1"], { ...opts, action: "a" }, () => {})).rejects.toThrow("logs hardware: --action is for workflow logs");
    await expect(logsCommand(client, ["pods", "x"], opts, () => {})).rejects.toThrow('logs: unknown subject "pods"');
  });
});
