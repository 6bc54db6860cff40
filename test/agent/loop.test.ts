/**
 * The agent's loop against a scripted workflow service (no network, no Docker): quiet back-off on
 * NOT_FOUND, reports retried until acknowledged, a success never run twice (also after a restart,
 * through the state file), an action served again after a FAILED report run again.
 */
import { status } from "@grpc/grpc-js";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { fileStateStore, runLoop, type LastAction, type StateStore } from "../../agent/loop.ts";
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
  await runLoop({
    workerId: "m1",
    client,
    state,
    logger: log,
    signal: stop.signal,
    run: async (a: Action) => (runs.push(a.actionId), { state: results.shift() ?? "SUCCESS", message: "m" }),
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length >= stopAfterSleeps) stop.abort();
    },
  });
  return { sleeps, runs };
}

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
