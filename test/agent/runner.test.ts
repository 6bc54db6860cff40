/**
 * agent/runner.ts against a scripted Docker client (no Docker): output handed to onOutput, a
 * reboot action's hook awaited after create and before start (and the container not started when
 * it rejects), and the agent stopping mid-action: an ordinary container is stopped and removed,
 * FAILED "agent stopped"; a reboot action's container is left alone, SUCCESS.
 */
import { expect, test } from "bun:test";
import pino from "pino";
import type { DockerClient } from "../../agent/docker.ts";
import { runAction, type Action } from "../../agent/runner.ts";

const log = pino({ level: "silent" });
const ACTION: Action = { workflowId: "ns/wf", actionId: "a1", name: "a", image: "img", timeout: 0, command: [], volumes: [], environment: [], pid: "" };

/** A Docker client whose container prints `lines` once started and then exits with `exitCode` (never, when undefined, until stopped). */
function fakeDocker(lines: string[], exitCode?: number) {
  const calls: string[] = [];
  let exit!: (code: number) => void;
  const exited = new Promise<number>((r) => (exit = r));
  const docker: DockerClient = {
    pull: async () => void calls.push("pull"),
    create: async () => (calls.push("create"), "c1"),
    waitNextExit: async () => (calls.push("wait"), { exited }),
    start: async () => {
      calls.push("start");
      if (exitCode !== undefined) setTimeout(() => exit(exitCode), 5);
    },
    logs: async (_id, onLine) => {
      for (const text of lines) onLine({ stream: "stdout", text });
      await exited;
    },
    stop: async () => (calls.push("stop"), exit(143)),
    remove: async () => void calls.push("remove"),
    exists: async () => true,
    imageExists: async () => true,
    labelled: async () => [],
  };
  return { docker, calls };
}

test("output lines go to onOutput without Docker's timestamp", async () => {
  const { docker, calls } = fakeDocker(["2026-01-02T03:04:05.123456789Z hello", "plain"], 0);
  const out: string[] = [];
  const r = await runAction(docker, ACTION, { privileged: false, logger: log, onOutput: (s, l) => out.push(`${s}:${l}`) });
  expect(r).toMatchObject({ state: "SUCCESS", exitCode: 0 });
  expect(out).toEqual(["stdout:hello", "stdout:plain"]);
  expect(calls).toEqual(["pull", "create", "wait", "start", "remove"]);
});

test("with an owner: its orphaned containers are removed before the pull, and the new one is labelled", async () => {
  const { docker, calls } = fakeDocker([], 0);
  let labels: Record<string, string> | undefined;
  docker.labelled = async (key, value) => (calls.push(`labelled ${key}=${value}`), ["orphan-1", "orphan-2"]);
  docker.remove = async (id) => void calls.push(`remove ${id}`);
  const create = docker.create;
  docker.create = (spec) => ((labels = spec.labels), create(spec));
  const r = await runAction(docker, ACTION, { privileged: false, logger: log, owner: "02:00:00:00:00:01", attempt: 2 });
  expect(r.state).toBe("SUCCESS");
  expect(calls).toEqual(["labelled org.wisp.worker=02:00:00:00:00:01", "remove orphan-1", "remove orphan-2", "pull", "create", "wait", "start", "remove c1"]);
  expect(labels).toEqual({ "org.wisp.worker": "02:00:00:00:00:01", "org.wisp.workflow": "ns/wf", "org.wisp.action": "a1", "org.wisp.attempt": "2" });
});

test("a reboot action's hook runs after create, before start; a rejected hook keeps the container from starting", async () => {
  const ok = fakeDocker([], 0);
  await runAction(ok.docker, ACTION, { privileged: false, logger: log, beforeRebootStart: async () => void ok.calls.push("reported") });
  expect(ok.calls).toEqual(["pull", "create", "wait", "reported", "start", "remove"]);

  const refused = fakeDocker([], 0);
  const r = await runAction(refused.docker, ACTION, { privileged: false, logger: log, beforeRebootStart: () => Promise.reject(new Error("refused")) });
  expect(r).toMatchObject({ state: "FAILED", message: "refused" });
  expect(refused.calls).toEqual(["pull", "create", "wait", "remove"]);
});

test("the agent stopping mid-action stops and removes the container: FAILED, agent stopped", async () => {
  const { docker, calls } = fakeDocker(["busy"]);
  const stop = new AbortController();
  const running = runAction(docker, ACTION, { privileged: false, logger: log, signal: stop.signal });
  while (!calls.includes("start")) await Bun.sleep(1);
  stop.abort();
  expect(await running).toMatchObject({ state: "FAILED", message: "agent stopped; last output:\nbusy" });
  expect(calls).toEqual(["pull", "create", "wait", "start", "stop", "remove"]);
});

test("the agent stopping while a reboot action runs leaves its container alone: SUCCESS, rebooting", async () => {
  const { docker, calls } = fakeDocker([]);
  const stop = new AbortController();
  const running = runAction(docker, ACTION, { privileged: false, logger: log, signal: stop.signal, beforeRebootStart: async () => {} });
  while (!calls.includes("start")) await Bun.sleep(1);
  stop.abort();
  expect(await running).toMatchObject({ state: "SUCCESS", message: "rebooting" });
  expect(calls).toEqual(["pull", "create", "wait", "start"]);
});

test("stopped before the start: the container is not started", async () => {
  const { docker, calls } = fakeDocker([], 0);
  const stop = new AbortController();
  stop.abort();
  expect(await runAction(docker, ACTION, { privileged: false, logger: log, signal: stop.signal })).toMatchObject({ state: "FAILED", message: "agent stopped before the action started" });
  expect(calls).toEqual(["pull", "create", "wait", "remove"]);
});
