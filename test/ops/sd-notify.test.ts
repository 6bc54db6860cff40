/**
 * sd_notify for real: wispd in a network namespace (so the default TFTP port is free) with
 * $NOTIFY_SOCKET pointing at a unix datagram socket a Python receiver binds, as systemd does.
 * READY=1 must come once the listeners answer (the receiver probes them as soon as it arrives),
 * WATCHDOG=1 when asked for, STOPPING=1 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createNotifier } from "../../daemon/ops/sd-notify.ts";
import { startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { createNetLab, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { readJsonLines, SETUP_TIMEOUT_MS } from "../support/processes.ts";

const RECEIVER = join(import.meta.dir, "notify-receiver.py");
/** Bound on every wait for a datagram (wispd start-up under load included). */
const WAIT_MS = 45_000;

interface Datagram {
  bound?: string;
  at?: number;
  fields?: Record<string, string>;
  probes?: Record<string, string>;
}

/** The receiver's JSON lines as they come; `next(match)` waits for the first matching one. */
function lines(stdout: ReadableStream<Uint8Array>) {
  const seen: Datagram[] = [];
  let ended = false;
  const wake = new Set<() => void>();
  void (async () => {
    await readJsonLines(stdout, (rec) => {
      seen.push(rec as Datagram);
      for (const w of wake) w();
    });
    ended = true;
    for (const w of wake) w();
  })();
  return {
    seen,
    next(match: (d: Datagram) => boolean, what: string): Promise<Datagram> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const d = seen.find(match);
          if (d) return done(() => resolve(d));
          if (ended) done(() => reject(new Error(`receiver ended before ${what}: ${JSON.stringify(seen)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${WAIT_MS} ms: ${JSON.stringify(seen)}`))), WAIT_MS);
        const done = (f: () => void) => {
          clearTimeout(timer);
          wake.delete(check);
          f();
        };
        wake.add(check);
        check();
      });
    },
  };
}

describe("notifier without systemd", () => {
  test("no $NOTIFY_SOCKET: nothing is sent; a socket that is gone is logged, not thrown", () => {
    const sent: string[] = [];
    const off = createNotifier({}, pino({ level: "silent" }), (_p, d) => (sent.push(new TextDecoder().decode(d)), { ok: true, value: undefined }));
    off.ready("x");
    off.stopping();
    off.startWatchdog()();
    expect(off.enabled).toBe(false);
    expect(sent).toEqual([]);

    const logged: Record<string, unknown>[] = [];
    const log = pino({ level: "warn" }, { write: (l: string) => void logged.push(JSON.parse(l)) });
    const gone = createNotifier({ NOTIFY_SOCKET: join(tmpdir(), "wisp-no-such-notify.sock") }, log);
    gone.ready("serving");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ msg: "sd_notify failed", state: "READY=1" });
    expect(String(logged[0]!.error)).toContain("No such file or directory");
  });
});

describe.skipIf(!IS_ROOT)("wispd under a $NOTIFY_SOCKET (network namespace)", () => {
  let lab: NetLab;
  let ns: Netns;
  let wispd: NsWispd | undefined;
  let receiver: ReturnType<typeof lines>;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    await requireTools({ python3: "python3", curl: "curl" });
    lab = await createNetLab();
    ns = await lab.namespace("srv");
    const dir = mkdtempSync(join(tmpdir(), "wisp-notify-"));
    whenProcessGone(`rm -rf ${shellQuote(dir)}`);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    const socket = join(dir, "notify.sock");
    const proc = ns.spawn(["python3", RECEIVER, socket, "120"]);
    receiver = lines(proc.stdout);
    await receiver.next((d) => d.bound !== undefined, "bound socket");
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    // The default TFTP port (69) is free in the namespace: READY=1 must wait for it too.
    wispd = await startWispdIn(ns, data.dataDir, ["--syslog-port", "0"], ["env", `NOTIFY_SOCKET=${socket}`, "WATCHDOG_USEC=400000"]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) await wispd.stop();
    await lab?.close();
    for (const c of cleanups.reverse()) await c();
  }, SETUP_TIMEOUT_MS);

  test("READY=1 arrives once HTTP, gRPC and TFTP answer, and carries a STATUS and MAINPID", async () => {
    const ready = await receiver.next((d) => d.fields?.READY === "1", "READY=1");
    expect(ready.probes).toEqual({ http: "ok", grpc: "ok", tftp: "ok" });
    expect(ready.fields!.STATUS).toMatch(/^serving: http \d+, grpc \d+, tftp 69$/);
    expect(Number(ready.fields!.MAINPID)).toBeGreaterThan(1);
    // Sent once, after start-up: not before the listeners logged that they listen.
    expect(receiver.seen.filter((d) => d.fields?.READY === "1")).toHaveLength(1);
    const grpcLine = wispd!.logs.find((l) => l.msg === "grpc listening")!;
    expect(ready.at! * 1000).toBeGreaterThanOrEqual(Date.parse(String(grpcLine.time)));
  });

  test("WATCHDOG=1 every half WATCHDOG_USEC, then STOPPING=1 on SIGTERM and a clean exit", async () => {
    await receiver.next((d) => receiver.seen.filter((x) => x.fields?.WATCHDOG === "1").length >= 2 && d.fields?.WATCHDOG === "1", "two WATCHDOG=1");
    const code = await wispd!.stop();
    wispd = undefined;
    expect(code).toBe(0);
    const stopping = await receiver.next((d) => d.fields?.STOPPING === "1", "STOPPING=1");
    expect(stopping.fields!.STATUS).toBe("stopping");
  });
});
