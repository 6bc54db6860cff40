/**
 * wispd's log output: lines batched while they come fast (daemon/lib/log.ts) with a manual clock,
 * and real processes that log through createLogger and then exit, crash or get a signal: every
 * line reaches stdout, whole and in order.
 */
import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { batchedLines, cachedIsoTime, LOG_BATCH_MAX_BYTES, preparedLine, type Schedule } from "../../daemon/lib/log.ts";

/** A schedule run by hand: `fire()` runs what is due, as the window's end would. */
function manualClock() {
  let due: (() => void)[] = [];
  const schedule: Schedule = (fn) => {
    due.push(fn);
    return () => (due = due.filter((f) => f !== fn));
  };
  return {
    schedule,
    get waiting() {
      return due.length;
    },
    fire() {
      const now = due;
      due = [];
      for (const f of now) f();
    },
  };
}

describe("batchedLines", () => {
  test("the first line after a quiet window goes out at once; lines in the window wait for its end, in order", () => {
    const writes: string[] = [];
    const clock = manualClock();
    const sink = batchedLines((t) => writes.push(t), { schedule: clock.schedule });
    sink.write("a\n");
    expect(writes).toEqual(["a\n"]);
    sink.write("b\n");
    sink.write("c\n");
    expect(writes).toEqual(["a\n"]);
    expect(sink.pending).toBe(4);
    clock.fire(); // the window ends: one write for both, and a new window opens
    expect(writes).toEqual(["a\n", "b\nc\n"]);
    expect(sink.pending).toBe(0);
    sink.write("d\n");
    expect(writes).toHaveLength(2);
    clock.fire();
    expect(writes).toEqual(["a\n", "b\nc\n", "d\n"]);
    clock.fire(); // a window with nothing in it: quiet again, no timer left
    expect(clock.waiting).toBe(0);
    sink.write("e\n");
    expect(writes.at(-1)).toBe("e\n");
  });

  test("pending lines past maxBytes are written at once, whatever the window", () => {
    const writes: string[] = [];
    const clock = manualClock();
    const sink = batchedLines((t) => writes.push(t), { schedule: clock.schedule, maxBytes: 10 });
    sink.write("first\n");
    sink.write("12345\n");
    expect(writes).toEqual(["first\n"]);
    sink.write("67890\n"); // 12 pending: over 10
    expect(writes).toEqual(["first\n", "12345\n67890\n"]);
    expect(LOG_BATCH_MAX_BYTES).toBeGreaterThanOrEqual(4096);
  });

  test("flush writes what is pending and calls back (pino's logger.flush)", () => {
    const writes: string[] = [];
    const clock = manualClock();
    const sink = batchedLines((t) => writes.push(t), { schedule: clock.schedule });
    sink.write("a\n");
    sink.write("b\n");
    let called = 0;
    sink.flush(() => called++);
    expect(writes).toEqual(["a\n", "b\n"]);
    expect(called).toBe(1);
    sink.flush();
    expect(writes).toHaveLength(2);
  });

  test("through pino: every line whole, in order, each one JSON", () => {
    const writes: string[] = [];
    const clock = manualClock();
    const log = pino({ level: "info" }, batchedLines((t) => writes.push(t), { schedule: clock.schedule }));
    for (let i = 0; i < 1000; i++) log.info({ i, peer: "10.0.0.1" }, "ipxe script served");
    clock.fire();
    const lines = writes.join("").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l).i)).toEqual([...Array(1000).keys()]);
    expect(writes.length).toBeLessThan(1000);
  });
});

test("cachedIsoTime writes what pino's isoTime writes, for the same millisecond and the next", () => {
  const now = spyOn(Date, "now");
  try {
    const time = cachedIsoTime();
    for (const ms of [1_763_800_000_123, 1_763_800_000_123, 1_763_800_000_124, 0, 1_763_800_000_124]) {
      now.mockReturnValue(ms);
      expect(time()).toBe(pino.stdTimeFunctions.isoTime());
    }
  } finally {
    now.mockRestore();
  }
});

describe("preparedLine", () => {
  // Two loggers configured as createLogger's, one through pino's call and one prepared, at the same millisecond.
  const pair = (level: string, opts: pino.LoggerOptions = {}) => {
    const a: string[] = [];
    const b: string[] = [];
    const make = (out: string[]) => pino({ name: "wispd", level, base: { name: "wispd" }, timestamp: cachedIsoTime(), ...opts }, { write: (s: string) => void out.push(s) });
    return { viaPino: make(a), prepared: make(b), a, b };
  };
  const VALUES = ["127.0.0.1", "::1", 'quote " and back\\slash', "tab\t and nl\n and \u0001", "grüße ✓", "", "x".repeat(150)];

  test("writes the bytes pino writes, with a child's bindings and values that need escaping", () => {
    const now = spyOn(Date, "now").mockReturnValue(1_763_800_000_123);
    try {
      const { viaPino, prepared, a, b } = pair("info");
      const bindings = { mac: "52:54:00:00:00:01", hardware: "default/m1", source: "hook", message: 'no "Hardware"\n' };
      const line = preparedLine(prepared.child(bindings), "info", "ipxe script served", ["peer", "via"]);
      for (const peer of VALUES) {
        viaPino.child(bindings).info({ peer, via: "x-forwarded-for" }, "ipxe script served");
        line({ peer, via: "x-forwarded-for" });
      }
      expect(b).toEqual(a);
      expect(JSON.parse(b[0]!)).toEqual({ level: 30, time: "2025-11-22T08:26:40.123Z", name: "wispd", ...bindings, peer: "127.0.0.1", via: "x-forwarded-for", msg: "ipxe script served" });
    } finally {
      now.mockRestore();
    }
  });

  test("respects the level, also when it changes after preparing", () => {
    const { prepared, b } = pair("warn");
    const line = preparedLine(prepared, "info", "m", ["peer"]);
    line({ peer: "a" });
    expect(b).toEqual([]);
    prepared.level = "info";
    line({ peer: "b" });
    expect(b.map((l) => JSON.parse(l).peer)).toEqual(["b"]);
  });

  test("a logger pino shapes further (a mixin, a message prefix) gets pino's own call", () => {
    for (const opts of [{ mixin: () => ({ extra: 1 }) }, { msgPrefix: "[boot] " }] satisfies pino.LoggerOptions[]) {
      const now = spyOn(Date, "now").mockReturnValue(1_763_800_000_123);
      try {
        const { viaPino, prepared, a, b } = pair("info", opts);
        viaPino.info({ peer: "a" }, "m");
        preparedLine(prepared, "info", "m", ["peer"])({ peer: "a" });
        expect(b).toEqual(a);
        expect(b[0]).toMatch(/extra|\[boot\]/);
      } finally {
        now.mockRestore();
      }
    }
  });
});

describe("createLogger in a process", () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-log-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const LINES = 2000;
  const LOG_TS = join(import.meta.dir, "..", "..", "daemon", "lib", "log.ts");
  // Logs LINES lines as fast as it can (all but the first wait in a window), then ends as told.
  const script = (end: string) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.ts`);
    writeFileSync(
      file,
      `import { createLogger } from ${JSON.stringify(LOG_TS)};
const log = createLogger("info", "t");
${end.includes("SIGTERM-handled") ? `process.on("SIGTERM", () => { log.info("shutting down"); setTimeout(() => { log.info("stopped"); process.exit(0); }, 5); });` : ""}
for (let i = 0; i < ${LINES}; i++) log.info({ i }, "line");
${end}
`,
    );
    return file;
  };
  const run = async (end: string) => {
    const proc = Bun.spawn([process.execPath, script(end)], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    const lines = out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { msg: string; i?: number });
    return { lines, code, signal: proc.signalCode };
  };
  const numbered = (lines: { i?: number }[]) => lines.filter((l) => l.i !== undefined).map((l) => l.i);
  const all = [...Array(LINES).keys()];

  test("process.exit: every line", async () => {
    const r = await run("process.exit(3);");
    expect(r.code).toBe(3);
    expect(numbered(r.lines)).toEqual(all);
  });

  test("the event loop ends: every line", async () => {
    const r = await run("");
    expect(r.code).toBe(0);
    expect(numbered(r.lines)).toEqual(all);
  });

  test("an uncaught exception: every line before the crash", async () => {
    const r = await run(`log.info("last"); throw new Error("boom");`);
    expect(r.code).toBe(1);
    expect(numbered(r.lines)).toEqual(all);
    expect(r.lines.at(-1)!.msg).toBe("last");
  });

  test("SIGTERM with no listener of the program's: every line, and the signal still ends the process", async () => {
    const r = await run(`setInterval(() => {}, 1000); process.kill(process.pid, "SIGTERM");`);
    expect(r.signal).toBe("SIGTERM");
    expect(numbered(r.lines)).toEqual(all);
  });

  test("SIGINT with no listener of the program's: the same", async () => {
    const r = await run(`setInterval(() => {}, 1000); process.kill(process.pid, "SIGINT");`);
    expect(r.signal).toBe("SIGINT");
    expect(numbered(r.lines)).toEqual(all);
  });

  test("SIGTERM with wispd's own shutdown listener: it runs on, and its lines follow", async () => {
    const r = await run(`// SIGTERM-handled
setInterval(() => {}, 1000); process.kill(process.pid, "SIGTERM");`);
    expect(r.code).toBe(0);
    expect(numbered(r.lines)).toEqual(all);
    expect(r.lines.slice(-2).map((l) => l.msg)).toEqual(["shutting down", "stopped"]);
  });

  test("a running process: a burst and a lone line later both reach stdout without an exit", async () => {
    const file = script(`setTimeout(() => log.info("later"), 200); setInterval(() => {}, 1000);`);
    const proc = Bun.spawn([process.execPath, file], { stdout: "pipe", stderr: "ignore" });
    try {
      const seen: string[] = [];
      const reader = proc.stdout.getReader();
      const decoder = new TextDecoder();
      let text = "";
      // Bounded: the window is milliseconds; 30 s only fails a broken flush, never a slow machine.
      const deadline = Date.now() + 30_000;
      while (!seen.includes("later") && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)]);
        if (chunk === undefined || chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = text.indexOf("\n")) >= 0) {
          seen.push((JSON.parse(text.slice(0, nl)) as { msg: string }).msg);
          text = text.slice(nl + 1);
        }
      }
      expect(seen.filter((m) => m === "line")).toHaveLength(LINES);
      expect(seen.at(-1)).toBe("later");
      expect(proc.exitCode).toBeNull();
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
});
