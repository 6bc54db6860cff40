// The receiver on a real loopback socket: datagrams are attributed by source address (127.0.0.1
// is a Hardware here, 127.0.0.2 is not), malformed ones are kept raw and counted, empty ones and
// those over a source's rate are dropped and counted, and the socket closes.
import type { udp } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DhcpHost } from "../../daemon/dhcp/types.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "../../daemon/lib/metrics.ts";
import type { SyslogLine, SyslogSource } from "../../daemon/syslog/line.ts";
import { evictionCounter, rateLimiter, startSyslogServer, type SyslogServer } from "../../daemon/syslog/server.ts";
import { createSyslogStore, type SyslogStore } from "../../daemon/syslog/store.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";

const M1_IP = "127.0.0.1";
const STRANGER_IP = "127.0.0.2";
const FLOOD_IP = "127.0.0.3";
const OTHER_IP = "127.0.0.4";
const BURST = 3;

const host = { namespace: "default", hardwareName: "m1" } as DhcpHost;
const lookup = { byIp: (ip: number) => (ip === (parseIpv4(M1_IP) as { value: number }).value ? host : undefined) };

let server: SyslogServer;
let store: SyslogStore;
let metrics: MetricsRegistry;
const senders = new Map<string, udp.Socket<"buffer">>();

async function send(from: string, text: string | Uint8Array): Promise<void> {
  let s = senders.get(from);
  if (!s) senders.set(from, (s = await Bun.udpSocket({ hostname: from, port: 0 })));
  s.send(text, server.port, "127.0.0.1");
}

/** Resolves with the next line stored whose message matches. */
function nextLine(match: (l: SyslogLine, s: SyslogSource) => boolean): Promise<{ line: SyslogLine; source: SyslogSource }> {
  return new Promise((resolve) => {
    const stop = store.subscribe((line, source) => {
      if (!match(line, source)) return;
      stop();
      resolve({ line, source });
    });
  });
}

const count = (result: string) => metrics.value("wisp_syslog_messages_total", { result });

beforeAll(async () => {
  metrics = createMetricsRegistry();
  store = createSyslogStore({ onEvict: evictionCounter(metrics) });
  // A frozen clock: the flood source's bucket never refills.
  server = await startSyslogServer({ hostname: "127.0.0.1", port: 0, lookup, store, logger: silentLogger(), metrics, rate: { perSecond: 1, burst: BURST }, now: () => 1_700_000_000_000 });
});

afterAll(() => {
  for (const s of senders.values()) s.close();
  server?.close();
});

describe("syslog server", () => {
  test("a Hardware's address is attributed to it; any other address is kept by address", async () => {
    const mine = nextLine((l) => l.message === "from m1");
    await send(M1_IP, "<14>1 2024-01-01T00:00:00Z nuc app 7 - - from m1");
    const { line, source } = await mine;
    expect(source).toEqual({ kind: "hardware", namespace: "default", name: "m1" });
    expect(line).toMatchObject({ peer: M1_IP, format: "rfc5424", facility: "user", severity: "info", hostname: "nuc", app: "app", procId: "7", timestamp: "2024-01-01T00:00:00Z" });
    expect(Date.parse(line.receivedAt)).toBe(1_700_000_000_000);

    const theirs = nextLine((l) => l.message === "not yours");
    await send(STRANGER_IP, "<13>Jan  1 00:00:00 stranger app: not yours");
    expect((await theirs).source).toEqual({ kind: "unknown", address: STRANGER_IP });
    expect(store.machine("default", "m1").map((l) => l.message)).toEqual(["from m1"]);
    expect(store.unknown().map((l) => l.message)).toEqual(["not yours"]);
    expect(metrics.value("wisp_syslog_unattributed_total")).toBe(1);
  });

  test("malformed datagrams are kept raw with the reason and counted; empty ones are dropped; it keeps receiving", async () => {
    const before = { parsed: count("parsed")!, malformed: count("malformed")!, dropped: count("dropped")! };
    const bad = nextLine((l) => l.format === "malformed");
    await send(M1_IP, "no pri here\n");
    expect((await bad).line).toMatchObject({ message: "no pri here", error: "byte 0: pri: expected '<' (a message starts with <PRI>)", peer: M1_IP });
    await send(M1_IP, new Uint8Array(0));
    const after = nextLine((l) => l.message === "still here");
    await send(M1_IP, "<6>ipxe: still here");
    await after;
    expect(count("malformed")).toBe(before.malformed + 1);
    expect(count("parsed")).toBe(before.parsed + 1);
    expect(count("dropped")).toBe(before.dropped + 1);
    expect(metrics.value("wisp_syslog_dropped_total", { reason: "empty" })).toBe(1);
    expect(store.machine("default", "m1").map((l) => l.message)).toEqual(["from m1", "no pri here", "still here"]);
  });

  test("a source over its rate is dropped and counted; other sources are not affected", async () => {
    for (let i = 0; i < BURST + 2; i++) await send(FLOOD_IP, `<13>flood ${i}`);
    const other = nextLine((l) => l.peer === OTHER_IP);
    await send(OTHER_IP, "<13>calm");
    await other;
    expect(store.unknown({ address: FLOOD_IP }).map((l) => l.message)).toEqual(["flood 0", "flood 1", "flood 2"]);
    expect(metrics.value("wisp_syslog_dropped_total", { reason: "rate" })).toBe(2);
    expect(metrics.render()).toContain('wisp_syslog_messages_total{result="dropped"} 3');
  });

  test("the rate limiter refills with time", () => {
    let now = 0;
    const allow = rateLimiter({ perSecond: 2, burst: 2 }, () => now);
    expect([allow("a"), allow("a"), allow("a"), allow("b")]).toEqual([true, true, false, true]);
    now = 500; // one token back
    expect([allow("a"), allow("a")]).toEqual([true, false]);
  });

  test("close frees the port", async () => {
    const s = await startSyslogServer({ hostname: "127.0.0.1", port: 0, lookup, store, logger: silentLogger(), metrics });
    const port = s.port;
    s.close();
    const again = await Bun.udpSocket({ hostname: "127.0.0.1", port });
    expect(again.port).toBe(port);
    again.close();
  });
});
