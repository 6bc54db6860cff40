/**
 * The agent's loop against a scripted workflow service (no network, no Docker): quiet back-off on
 * NOT_FOUND, reports retried until acknowledged, a success never run twice (also after a restart,
 * through the state file), an action served again after a FAILED report run again (as the next
 * attempt); the output shipped and flushed before the final report; a reboot action reported
 * SUCCESS before its start; SIGTERM mid-action.
 */
import { status } from "@grpc/grpc-js";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { actionLogs } from "../../agent/action-log.ts";
import type { LogsClient } from "../../agent/log-shipper.ts";
import { fileStateStore, retryDelayMs, runLoop, type LastAction, type LoopDeps, type StateStore } from "../../agent/loop.ts";
import type { Action, RunResult } from "../../agent/runner.ts";
import type { Reply, WorkflowClient } from "../../agent/workflow-client.ts";

const log = pino({ level: "silent" });
const ACTION = { workflowId: "ns/wf", taskId: "t1", agentId: "m1", actionId: "a1", name: "hello", image: "img", timeout: 0, command: [], volumes: [], environment: [], pid: "" };

/** A service that answers GetAction from `serves` in turn (then NOT_FOUND) and ReportActionStatus from `acks` (then OK). */
function scripted(serves: Reply[], acks: status[] = []) {
  const reports: string[] = [];
  const client: WorkflowClient = {
    getAction: async () => serves.shift() ?? { code: status.NOT_FOUND, details: "none" },
    reportActionStatus: async (r) => {
      reports.push(r.actionState as string);
      const code = acks.shift() ?? status.OK;
      return { code, details: code === status.OK ? "" : "down" };
    },
    close() {},
  };
  return { client, reports };
}

const served = (a = ACTION): Reply => ({ code: status.OK, details: "", value: { ...a } });
const memoryState = (initial?: LastAction): StateStore & { last?: LastAction } => {
  const s: StateStore & { last?: LastAction } = { last: initial, load: () => s.last, save: (l) => void (s.last = l) };
  return s;
};

/** Runs the loop until `stopAfterSleeps` back-off sleeps happened; returns the sleeps and the runs. */
async function loop(client: WorkflowClient, state: StateStore, results: RunResult["state"][], stopAfterSleeps = 3) {
  const stop = new AbortController();
  const sleeps: number[] = [];
  const runs: string[] = [];
  const run = async (a: Action) => (runs.push(a.actionId), { state: results.shift() ?? "SUCCESS", message: "m" });
  // The pause before a retry is tested on its own below; here only back-off sleeps are counted.
  await loopWith(client, run, {
    state,
    stop,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length >= stopAfterSleeps) stop.abort();
    },
  });
  return { sleeps, runs };
}

test("a retry waits before it runs: 1 s before the second run, doubling, at most 30 s", async () => {
  expect([1, 2, 3, 4, 7, 20].map(retryDelayMs)).toEqual([0, 1000, 2000, 4000, 30_000, 30_000]);
  expect(retryDelayMs(6)).toBe(16_000);
  // In the loop: the action served again after its FAILED was acknowledged sleeps before the run.
  const { client } = scripted([served(), served()]);
  const stop = new AbortController();
  const events: string[] = [];
  await runLoop({
    workerId: "m1",
    client,
    state: memoryState(),
    logger: log,
    signal: stop.signal,
    run: async () => (events.push("run"), { state: "FAILED", message: "m" }),
    sleep: async (ms) => {
      events.push(`sleep ${ms}`);
      if (events.length >= 4) stop.abort();
    },
  });
  expect(events.slice(0, 3)).toEqual(["run", "sleep 1000", "run"]);
});

test("NOT_FOUND and FAILED_PRECONDITION back off from 1 s to 5 s", async () => {
  const { client, reports } = scripted([{ code: status.FAILED_PRECONDITION, details: "not yet" }]);
  const { sleeps, runs } = await loop(client, memoryState(), [], 5);
  expect(runs).toEqual([]);
  expect(reports).toEqual([]);
  expect(sleeps[0]).toBeLessThanOrEqual(1100);
  expect(sleeps[4]).toBeLessThanOrEqual(5000);
  expect(sleeps[4]).toBeGreaterThanOrEqual(4500);
});

test("reports RUNNING then the result, retrying until acknowledged", async () => {
  const { client, reports } = scripted([served()], [status.UNAVAILABLE, status.OK, status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);
  const state = memoryState();
  const { runs } = await loop(client, state, ["SUCCESS"], 4);
  expect(runs).toEqual(["a1"]);
  expect(reports).toEqual(["RUNNING", "RUNNING", "SUCCESS", "SUCCESS", "SUCCESS"]);
  expect(state.last).toMatchObject({ actionId: "a1", state: "SUCCESS", reported: true });
});

test("a success is not run again when served again, also after a restart (state file)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-agent-state-"));
  try {
    const file = fileStateStore(join(dir, "sub", "state.json"), log);
    const first = scripted([served()]);
    expect((await loop(first.client, file, ["SUCCESS"], 1)).runs).toEqual(["a1"]);
    // A restarted agent (new loop, same file) that is served the same action reports, does not run.
    const second = scripted([served()]);
    expect((await loop(second.client, fileStateStore(join(dir, "sub", "state.json"), log), [], 1)).runs).toEqual([]);
    expect(second.reports).toEqual(["SUCCESS"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a result not yet acknowledged when the agent stopped is reported at the next start, not run again", async () => {
  const state = memoryState({ workflowId: "ns/wf", actionId: "a1", state: "FAILED", message: "exit code 1", startedAt: 1, stoppedAt: 2, reported: false });
  const { client, reports } = scripted([served()]);
  expect((await loop(client, state, [], 1)).runs).toEqual([]);
  expect(reports).toEqual(["FAILED"]);
  expect(state.last?.reported).toBe(true);
});

test("an action served again after its FAILED was acknowledged (a retry) runs again; a refused RUNNING is dropped", async () => {
  const { client, reports } = scripted([served(), served(), served({ ...ACTION, actionId: "a2" })], [status.OK, status.OK, status.OK, status.OK, status.FAILED_PRECONDITION]);
  const { runs } = await loop(client, memoryState(), ["FAILED", "SUCCESS"], 2);
  expect(runs).toEqual(["a1", "a1"]);
  expect(reports).toEqual(["RUNNING", "FAILED", "RUNNING", "SUCCESS", "RUNNING"]);
});

// Action logs, reboot actions and SIGTERM: one ordered record of what the loop did.

/** A log service that acknowledges each batch after `delayMs` (or answers `code`), recording into `events`. */
function scriptedLogs(events: string[], opts: { delayMs?: number; code?: status } = {}) {
  const attempts: number[] = [];
  const client: LogsClient = {
    async pushLogs(b) {
      attempts.push(b.attempt);
      await Bun.sleep(opts.delayMs ?? 0);
      const code = opts.code ?? status.OK;
      events.push(`push ${b.lines.map((l) => l.line).join(",")}${code === status.OK ? "" : ` ${status[code]}`}`);
      return { code, details: code === status.OK ? "" : "no", lastSeq: b.lines.at(-1)?.seq };
    },
    close() {},
  };
  return { client, attempts };
}

/** A service like `scripted` that also records each report into `events`. */
function recorded(events: string[], serves: Reply[], acks: status[] = []) {
  const s = scripted(serves, acks);
  const report = s.client.reportActionStatus;
  s.client.reportActionStatus = async (r) => {
    const reply = await report(r);
    events.push(`report ${r.actionState as string}${reply.code === status.OK ? "" : ` ${status[reply.code]}`}`);
    return reply;
  };
  return s;
}

/** A pino logger whose records land in `records`. */
function capture() {
  const records: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void records.push(JSON.parse(s)) });
  return { records, logger };
}

const fastLogs = { batchMs: 5, retryStartMs: 5, retryMaxMs: 10, closeTimeoutMs: 300 };

/** Runs the loop with `run` (no pause before a retry) until it has slept `stopAfterSleeps` times, or `stop` is aborted; returns its own state store (`extra` may name another). */
async function loopWith(client: WorkflowClient, run: LoopDeps["run"], extra: Partial<LoopDeps> & { stop?: AbortController } = {}, stopAfterSleeps = 1) {
  const stop = extra.stop ?? new AbortController();
  const state = memoryState();
  let sleeps = 0;
  await runLoop({
    workerId: "m1",
    client,
    state,
    logger: log,
    signal: stop.signal,
    run,
    retryDelayMs: () => 0,
    sleep: async () => {
      if (++sleeps >= stopAfterSleeps) stop.abort();
    },
    ...extra,
  });
  return state;
}

test("the output is shipped and flushed before the final report, also when the ack is slow", async () => {
  const events: string[] = [];
  const { client } = recorded(events, [served()]);
  const logs = scriptedLogs(events, { delayMs: 40 });
  await loopWith(client, async (_a, hooks) => {
    hooks.onOutput?.("stdout", "hello");
    hooks.onOutput?.("stderr", "world");
    return { state: "SUCCESS", message: "exit code 0" };
  }, { openLog: actionLogs(logs.client, "m1", log, fastLogs) });
  expect(events).toEqual(["report RUNNING", "push hello,world", "report SUCCESS"]);
  expect(logs.attempts).toEqual([1]);
});

test("lines of a FAILED action are flushed before FAILED; its retry ships as attempt 2", async () => {
  const events: string[] = [];
  const { client } = recorded(events, [served(), served()]);
  const logs = scriptedLogs(events, { delayMs: 10 });
  const results: RunResult["state"][] = ["FAILED", "SUCCESS"];
  await loopWith(client, async (_a, hooks) => {
    hooks.onOutput?.("stdout", `run ${2 - results.length + 1}`);
    return { state: results.shift()!, message: "m" };
  }, { openLog: actionLogs(logs.client, "m1", log, fastLogs) });
  expect(events).toEqual(["report RUNNING", "push run 1", "report FAILED", "report RUNNING", "push run 2", "report SUCCESS"]);
  expect(logs.attempts).toEqual([1, 2]);
});

test("the attempt survives a restart through the state file", async () => {
  const state = memoryState({ workflowId: "ns/wf", actionId: "a1", state: "TIMEOUT", message: "t", startedAt: 1, stoppedAt: 2, reported: true, attempt: 2 });
  const attempts: number[] = [];
  const { client } = scripted([served()]);
  const stop = new AbortController();
  await runLoop({
    workerId: "m1", client, state, logger: log, signal: stop.signal,
    run: async () => ({ state: "SUCCESS", message: "m" }),
    openLog: (_a, attempt) => (attempts.push(attempt), { push() {}, close: async () => {} }),
    retryDelayMs: () => 0,
    sleep: async () => stop.abort(),
  });
  expect(attempts).toEqual([3]);
  expect(state.last).toMatchObject({ state: "SUCCESS", attempt: 3, reported: true });
});

test("a log service that refuses, or is unreachable, never fails the action and is warned about once", async () => {
  for (const code of [status.FAILED_PRECONDITION, status.UNAVAILABLE]) {
    const events: string[] = [];
    const { client } = recorded(events, [served()]);
    const { records, logger } = capture();
    const logs = scriptedLogs([], { code });
    const started = Date.now();
    await loopWith(client, async (_a, hooks) => {
      for (let i = 0; i < 5; i++) hooks.onOutput?.("stdout", `line ${i}`);
      await Bun.sleep(30); // a few batches' worth of time
      hooks.onOutput?.("stdout", "last");
      return { state: "SUCCESS", message: "exit code 0" };
    }, { logger, openLog: actionLogs(logs.client, "m1", logger, fastLogs) });
    expect(events).toEqual(["report RUNNING", "report SUCCESS"]);
    expect(Date.now() - started).toBeLessThan(3_000);
    const warnings = records.filter((r) => r.level === 40 && r.msg.startsWith("action log"));
    expect(warnings.map((w) => w.msg)).toEqual([code === status.UNAVAILABLE ? "action log lines not delivered" : "action log refused"]);
  }
});

const REBOOT = { ...ACTION, actionId: "r1", name: "reboot", image: "quay.io/tinkerbell/actions/reboot:v1.0.0" };

test("a reboot action is reported SUCCESS (rebooting) before its container starts, and nothing after", async () => {
  const events: string[] = [];
  const { client } = recorded(events, [served(REBOOT)]);
  const state = await loopWith(client, async (_a, hooks) => {
    expect(hooks.beforeRebootStart).toBeDefined();
    await hooks.beforeRebootStart!();
    events.push("container started");
    // The machine did not go down: the container failed at once. Too late to report.
    return { state: "FAILED", message: "exit code 1" };
  });
  expect(events).toEqual(["report RUNNING", "report SUCCESS", "container started"]);
  expect(state.last).toMatchObject({ actionId: "r1", state: "SUCCESS", message: "rebooting", reported: true });
});

test("a reboot action's SUCCESS is retried until acknowledged before the start; refused, the container never starts", async () => {
  const events: string[] = [];
  const { client } = recorded(events, [served(REBOOT)], [status.OK, status.UNAVAILABLE, status.OK]);
  await loopWith(client, async (_a, hooks) => {
    await hooks.beforeRebootStart!();
    events.push("container started");
    return { state: "SUCCESS", message: "exit code 0" };
  }, {}, 2);
  expect(events).toEqual(["report RUNNING", "report SUCCESS UNAVAILABLE", "report SUCCESS", "container started"]);

  const refused: string[] = [];
  const second = recorded(refused, [served(REBOOT)], [status.OK, status.FAILED_PRECONDITION, status.FAILED_PRECONDITION]);
  await loopWith(second.client, async (_a, hooks) => {
    try {
      await hooks.beforeRebootStart!();
      refused.push("container started");
      return { state: "SUCCESS", message: "exit code 0" };
    } catch (e) {
      return { state: "FAILED", message: (e as Error).message };
    }
  });
  expect(refused).toEqual(["report RUNNING", "report SUCCESS FAILED_PRECONDITION", "report FAILED FAILED_PRECONDITION"]);
});

test("SIGTERM during an action: FAILED 'agent stopped' is still reported (retried a few seconds), the output flushed first", async () => {
  const events: string[] = [];
  const stop = new AbortController();
  const { client } = recorded(events, [served()], [status.OK, status.UNAVAILABLE, status.OK]);
  const logs = scriptedLogs(events, { delayMs: 10 });
  const state = await loopWith(client, async (_a, hooks) => {
    hooks.onOutput?.("stdout", "working");
    stop.abort(); // the OS shuts down
    expect(hooks.signal?.aborted).toBe(true);
    return { state: "FAILED", message: "agent stopped" };
  }, { stop, openLog: actionLogs(logs.client, "m1", log, fastLogs) }, 100);
  expect(events).toEqual(["report RUNNING", "push working", "report FAILED UNAVAILABLE", "report FAILED"]);
  expect(state.last).toMatchObject({ state: "FAILED", message: "agent stopped", reported: true });
});

test("SIGTERM: the report gives up after stopReportMs and stays unreported for the next start", async () => {
  const stop = new AbortController();
  const { client, reports } = scripted([served()], [status.OK, ...Array(1000).fill(status.UNAVAILABLE)]);
  const state = memoryState();
  await runLoop({
    workerId: "m1", client, state, logger: log, signal: stop.signal, stopReportMs: 50,
    run: async () => (stop.abort(), { state: "FAILED", message: "agent stopped" }),
    sleep: (ms, signal) => new Promise((r) => { const t = setTimeout(r, 5); signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true }); }),
  });
  expect(reports[0]).toBe("RUNNING");
  expect(reports.length).toBeGreaterThan(2);
  expect(state.last).toMatchObject({ state: "FAILED", reported: false });
});

test("SIGTERM while a reboot action runs: its SUCCESS stands, nothing else is reported", async () => {
  const events: string[] = [];
  const stop = new AbortController();
  const { client } = recorded(events, [served(REBOOT)]);
  const state = await loopWith(client, async (_a, hooks) => {
    await hooks.beforeRebootStart!();
    stop.abort();
    return { state: "SUCCESS", message: "rebooting" };
  }, { stop });
  expect(events).toEqual(["report RUNNING", "report SUCCESS"]);
  expect(state.last).toMatchObject({ state: "SUCCESS", message: "rebooting", reported: true });
});

test("the attempt the server sends (wisp-action-attempt header) wins over the agent's count", async () => {
  const attempts: number[] = [];
  const { client } = scripted([{ ...served(), attempt: 4 }]);
  await loopWith(client, async () => ({ state: "SUCCESS", message: "m" }), { openLog: (_a, attempt) => (attempts.push(attempt), { push() {}, close: async () => {} }) });
  expect(attempts).toEqual([4]);
});
