/**
 * agent/log-shipper.ts against the real gRPC server in this process (a core that keeps lines in
 * memory): batching by time and size, numbering in push order, a batch retried unchanged after
 * an outage (the server stopped and started again on the same port) and after a lost ack, the
 * bounded queue with its marker line, and giving up when the server refuses or is gone at close.
 */
import { status } from "@grpc/grpc-js";
import { expect, test } from "bun:test";
import { createLogShipper, logsClient, type LogsClient, type LogShipperOptions, type PushReply } from "../../agent/log-shipper.ts";
import type { ActionLogLine, ActionLogReport, Core } from "../../daemon/core/types.ts";
import { startGrpcServer, type GrpcServer } from "../../daemon/grpc/server.ts";
import { WispError } from "../../daemon/lib/errors.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";

const ACTION = { workflowId: "default/wf", agentId: "1c:69:7a:11:22:33", actionId: "3f1c2a9e-0000-4000-8000-000000000001", attempt: 1 };

/** A core that stores lines by seq (once, as the real store does) and records every batch it is given. */
function memoryCore() {
  const stored = new Map<number, ActionLogLine>();
  const batches: number[][] = [];
  const state = { delayMs: 0, refuse: undefined as WispError | undefined };
  const core: Pick<Core, "getAction" | "reportAction" | "appendActionLogs"> = {
    getAction: () => Promise.reject(new WispError("not_found", "none")),
    reportAction: () => Promise.resolve(),
    async appendActionLogs(r: ActionLogReport) {
      batches.push(r.lines.map((l) => l.seq));
      if (state.refuse) throw state.refuse;
      let n = 0;
      for (const l of r.lines) if (!stored.has(l.seq) && ++n) stored.set(l.seq, l);
      if (state.delayMs) await Bun.sleep(state.delayMs);
      return { stored: n, lastSeq: Math.max(0, ...stored.keys()) };
    },
  };
  /** Stored lines in seq order, as "seq:stream:line". */
  const lines = () => [...stored.values()].sort((a, b) => a.seq - b.seq).map((l) => `${l.seq}:${l.stream}:${l.line}`);
  return { core, stored, batches, state, lines };
}

const serve = (core: ReturnType<typeof memoryCore>["core"], port = 0): Promise<GrpcServer> =>
  startGrpcServer({ hostname: "127.0.0.1", port, core, auth: { mode: "token", token: "t" }, logger: silentLogger(), metrics: createMetricsRegistry() });

/** A client that also records the status of each reply. */
function recording(client: LogsClient): LogsClient & { codes: status[] } {
  const codes: status[] = [];
  return {
    codes,
    async pushLogs(b) {
      const r: PushReply = await client.pushLogs(b);
      codes.push(r.code);
      return r;
    },
    close: () => client.close(),
  };
}

const fast = { retryStartMs: 20, retryMaxMs: 80, closeTimeoutMs: 2_000 } satisfies Partial<LogShipperOptions>;

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

test("batches by time and by size; numbers lines from 1 in push order; flush waits for the acks", async () => {
  const mem = memoryCore();
  const server = await serve(mem.core);
  const client = logsClient(`127.0.0.1:${server.port}`, { tls: false, token: "t" });
  try {
    const shipper = createLogShipper({ client, ...ACTION, ...fast, batchMs: 50, maxBatch: 500 });
    for (let i = 1; i <= 5; i++) shipper.push(i % 2 ? "stdout" : "stderr", `early ${i}`);
    expect(mem.batches).toEqual([]); // push only queues
    await until(() => mem.batches.length === 1, "the timed batch");
    expect(mem.batches).toEqual([[1, 2, 3, 4, 5]]);
    for (let i = 1; i <= 1_200; i++) shipper.push("stdout", `bulk ${i}`);
    await shipper.flush();
    expect(mem.batches.map((b) => b.length)).toEqual([5, 500, 500, 200]);
    expect(mem.lines()).toHaveLength(1_205);
    expect(mem.lines().slice(0, 2)).toEqual(["1:stdout:early 1", "2:stderr:early 2"]);
    expect(mem.lines().at(-1)).toBe("1205:stdout:bulk 1200");
    expect(shipper.stats).toEqual({ sent: 1_205, dropped: 0, pending: 0 });
    // Times are the caller's; an over-long line is cut to what the server takes.
    const at = new Date("2026-03-01T10:00:00.123Z");
    shipper.push("stderr", "z".repeat(20_000), at);
    await shipper.close();
    expect(mem.stored.get(1_206)).toEqual({ seq: 1_206, at, stream: "stderr", line: "z".repeat(8_192) });
  } finally {
    client.close();
    await server.stop();
  }
});

test("an outage: the batch is retried with the same seqs until the server is back on its port; nothing lost, nothing twice, in order", async () => {
  const mem = memoryCore();
  let server = await serve(mem.core);
  const port = server.port;
  const client = recording(logsClient(`127.0.0.1:${port}`, { tls: false, token: "t", reconnectMaxMs: 100 }));
  try {
    const shipper = createLogShipper({ client, ...ACTION, ...fast, batchMs: 10, maxBatch: 50 });
    shipper.push("stdout", "before");
    await shipper.flush();
    await server.stop();
    const started = performance.now();
    for (let i = 0; i < 120; i++) shipper.push("stdout", `during ${i}`);
    // Never blocks the caller: waiting on the reconnection (100 ms a try) would take seconds.
    expect(performance.now() - started).toBeLessThan(1_000);
    await until(() => client.codes.filter((c) => c === status.UNAVAILABLE).length >= 3, "failed attempts while the server is down");
    expect(shipper.stats.pending).toBe(120);
    server = await serve(mem.core, port);
    await shipper.flush();
    expect(mem.lines()).toEqual(["1:stdout:before", ...Array.from({ length: 120 }, (_, i) => `${i + 2}:stdout:during ${i}`)]);
    expect(shipper.stats).toEqual({ sent: 121, dropped: 0, pending: 0 });
    await shipper.close();
  } finally {
    client.close();
    await server.stop();
  }
});

test("a lost ack (the call outlives its deadline): the same batch again, stored once", async () => {
  const mem = memoryCore();
  const server = await serve(mem.core);
  const client = recording(logsClient(`127.0.0.1:${server.port}`, { tls: false, token: "t", deadlineMs: 150 }));
  try {
    const shipper = createLogShipper({ client, ...ACTION, ...fast, batchMs: 5 });
    mem.state.delayMs = 400;
    shipper.push("stdout", "a");
    shipper.push("stderr", "b");
    await until(() => client.codes.includes(status.DEADLINE_EXCEEDED), "a call past its deadline");
    mem.state.delayMs = 0;
    await shipper.flush();
    expect(mem.batches.length).toBeGreaterThanOrEqual(2);
    expect(new Set(mem.batches.map((b) => b.join(",")))).toEqual(new Set(["1,2"]));
    expect(mem.lines()).toEqual(["1:stdout:a", "2:stderr:b"]);
    await shipper.close();
  } finally {
    client.close();
    await server.stop();
  }
});

test("memory is bounded while the server is gone: the oldest lines go, a marker line counts them", async () => {
  const mem = memoryCore();
  // Find a free port, then leave it closed: the server is "gone" from the start.
  const probe = await serve(mem.core);
  const port = probe.port;
  await probe.stop();
  const client = recording(logsClient(`127.0.0.1:${port}`, { tls: false, token: "t", reconnectMaxMs: 100 }));
  let server: GrpcServer | undefined;
  try {
    const shipper = createLogShipper({ client, ...ACTION, ...fast, batchMs: 5, maxBatch: 10, maxBufferedLines: 100 });
    shipper.push("stdout", "first");
    await until(() => client.codes.length > 0, "a first attempt"); // "first" is in flight now
    for (let i = 0; i < 1_000; i++) shipper.push("stdout", `l${i}`);
    expect(shipper.stats.pending).toBeLessThanOrEqual(1 + 100 + 1);
    expect(shipper.stats.dropped).toBe(900);
    server = await serve(mem.core, port);
    await shipper.flush();
    const got = mem.lines();
    expect(got[0]).toBe("1:stdout:first");
    expect(got[1]).toBe("2:stderr:[wisp-agent: 900 lines dropped: wispd unreachable and the agent's buffer full]");
    expect(got.slice(2)).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 3}:stdout:l${i + 900}`));
    expect(shipper.stats).toMatchObject({ sent: 102, dropped: 900, pending: 0 });
    await shipper.close();
  } finally {
    client.close();
    await server?.stop();
  }
});

test("a refusal for good (FAILED_PRECONDITION) stops the shipper; close gives up on a server that stays away", async () => {
  const mem = memoryCore();
  const server = await serve(mem.core);
  const client = logsClient(`127.0.0.1:${server.port}`, { tls: false, token: "t" });
  const refused: [PushReply, number][] = [];
  try {
    mem.state.refuse = new WispError("invalid_state", "action stream is not the current action");
    const shipper = createLogShipper({ client, ...ACTION, ...fast, batchMs: 5, onRefused: (r, n) => refused.push([r, n]) });
    shipper.push("stdout", "x");
    shipper.push("stdout", "y");
    await shipper.flush();
    expect(refused).toEqual([[{ code: status.FAILED_PRECONDITION, details: "action stream is not the current action" }, 2]]);
    shipper.push("stdout", "z");
    await shipper.flush();
    expect(mem.batches).toHaveLength(1);
    expect(shipper.stats).toEqual({ sent: 0, dropped: 3, pending: 0 });
  } finally {
    client.close();
    await server.stop();
  }

  const gone = logsClient(`127.0.0.1:${server.port}`, { tls: false, reconnectMaxMs: 100 });
  try {
    const shipper = createLogShipper({ client: gone, ...ACTION, ...fast, closeTimeoutMs: 300 });
    shipper.push("stdout", "never delivered");
    const started = performance.now();
    await shipper.close();
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(shipper.stats).toEqual({ sent: 0, dropped: 1, pending: 0 });
    shipper.push("stdout", "after close");
    expect(shipper.stats.dropped).toBe(2);
  } finally {
    gone.close();
  }
});
