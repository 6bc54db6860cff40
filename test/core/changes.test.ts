import { describe, expect, test } from "bun:test";
import { createChangeFeed, feedHardwareNotifications, type FeedEntry } from "../../daemon/core/changes.ts";
import { createCore } from "../../daemon/core/core.ts";
import type { ActionAssignment } from "../../daemon/core/types.ts";
import type { ActionState } from "../../daemon/workflow/definition.ts";
import { alpineTemplate, hardwareYaml, machineYaml, manifests, testClock } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";

describe("change feed", () => {
  test("numbers entries, delivers them to every subscriber until it stops, and survives a throwing one", () => {
    const warnings: unknown[] = [];
    const logger = { info() {}, debug() {}, error() {}, warn: (o: unknown) => void warnings.push(o) };
    const feed = createChangeFeed({ logger, now: () => new Date("2026-01-01T00:00:00Z") });
    const a: FeedEntry[] = [];
    const b: FeedEntry[] = [];
    const stopA = feed.subscribe((e) => a.push(e));
    feed.subscribe(() => {
      throw new Error("boom");
    });
    feed.subscribe((e) => b.push(e));
    expect(feed.subscribers).toBe(3);
    feed.emit({ kind: "Template", namespace: "default", name: "t", op: "created" });
    stopA();
    feed.emit({ kind: "Workflow", namespace: "default", name: "w", op: "state", state: "RUNNING" });
    expect(a.map((e) => e.seq)).toEqual([1]);
    expect(b).toEqual([
      { seq: 1, at: "2026-01-01T00:00:00.000Z", kind: "Template", namespace: "default", name: "t", op: "created" },
      { seq: 2, at: "2026-01-01T00:00:00.000Z", kind: "Workflow", namespace: "default", name: "w", op: "state", state: "RUNNING" },
    ]);
    expect(warnings).toHaveLength(2);
    expect(feed.lastSeq).toBe(2);
  });

  test("since() replays what it still keeps and says when entries are gone", () => {
    const feed = createChangeFeed({ history: 3 });
    expect(feed.since(0)).toEqual([]);
    for (let i = 1; i <= 5; i++) feed.emit({ kind: "Template", namespace: "n", name: `t${i}`, op: "created" });
    expect(feed.since(5)).toEqual([]);
    expect(feed.since(2)?.map((e) => e.name)).toEqual(["t3", "t4", "t5"]);
    expect(feed.since(4)?.map((e) => e.name)).toEqual(["t5"]);
    expect(feed.since(1)).toBeUndefined(); // t2 is no longer kept
    expect(feed.since(9)).toBeUndefined(); // from another process's feed (wispd restarted)
    expect(feed.since(-1)).toBeUndefined();
  });
});

const MAC = "1c:69:7a:11:22:33";
const BODY = alpineTemplate("feed", ["only"], 10);

function report(a: ActionAssignment, state: ActionState) {
  return { workflowId: a.workflowId, agentId: a.agentId, taskId: a.taskId, actionId: a.actionId, state };
}

/** Waits (bounded) until `pred` holds for the entries seen. */
async function until(seen: FeedEntry[], pred: (seen: FeedEntry[]) => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!pred(seen)) {
    if (Date.now() > end) throw new Error(`no ${what} in the feed; seen: ${JSON.stringify(seen)}`);
    await Bun.sleep(10);
  }
}

forEachStore("core change feed", (ctx) => {
  test("the core announces committed changes: apply, reports, log lines, timeouts, rerun, delete; not dry runs or repeats", async () => {
    const feed = createChangeFeed();
    const seen: FeedEntry[] = [];
    feed.subscribe((e) => seen.push(e));
    const clock = testClock();
    const core = createCore(ctx.store, { now: clock.now, changes: feed });
    const yaml = machineYaml(MAC, BODY);
    await core.apply(manifests(yaml), { dryRun: true });
    expect(seen).toEqual([]);
    await core.apply(manifests(yaml));
    // Hardware comes from the store's notifications (feedHardwareNotifications), not from the core.
    expect(seen.map((e) => `${e.kind} ${e.name} ${e.op}`)).toEqual(["Template tpl created", "Workflow wf created"]);
    await core.apply(manifests(yaml));
    expect(seen).toHaveLength(2); // unchanged objects are not announced

    const a = await core.getAction(MAC);
    expect(seen).toHaveLength(2); // reads are not changes
    await core.reportAction(report(a, "RUNNING"));
    expect(seen.at(-1)).toMatchObject({ kind: "Workflow", name: "wf", op: "state", state: "RUNNING" });
    expect(seen.at(-1)?.events?.map((e) => `${e.type} ${e.from}>${e.to}`)).toEqual(["workflow.state PENDING>RUNNING", "action.state PENDING>RUNNING"]);
    await core.reportAction(report(a, "RUNNING"));
    expect(seen).toHaveLength(3); // a repeated report changes nothing

    const lines = [{ seq: 1, at: clock.now(), stream: "stdout" as const, line: "hello" }];
    await core.appendActionLogs({ workflowId: a.workflowId, agentId: MAC, actionId: a.actionId, attempt: 1, lines });
    expect(seen.at(-1)).toEqual(expect.objectContaining({ kind: "ActionLogs", name: "wf", op: "lines", actionId: a.actionId, lines: 1 }));
    await core.appendActionLogs({ workflowId: a.workflowId, agentId: MAC, actionId: a.actionId, attempt: 1, lines });
    expect(seen).toHaveLength(4); // the same line again is stored once, announced once

    clock.advance(60);
    expect(await core.sweepTimeouts()).toBe(1);
    expect(seen.at(-1)).toMatchObject({ kind: "Workflow", name: "wf", op: "state", state: "TIMEOUT" });
    await core.rerunWorkflow("default", "wf");
    expect(seen.at(-1)).toMatchObject({ kind: "Workflow", name: "wf", op: "state", state: "PENDING" });
    await core.delete("Workflow", "default", "wf");
    expect(seen.at(-1)).toMatchObject({ kind: "Workflow", name: "wf", op: "deleted" });
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
  });

  test("Hardware changes arrive from the store's notifications", async () => {
    const feed = createChangeFeed();
    const seen: FeedEntry[] = [];
    feed.subscribe((e) => seen.push(e));
    const stop = await feedHardwareNotifications(ctx.store, feed);
    try {
      const core = createCore(ctx.store, { now: testClock().now, changes: feed });
      await core.apply(manifests(hardwareYaml("hw", MAC)));
      await until(seen, (s) => s.some((e) => e.kind === "Hardware" && e.op === "created"), "Hardware created");
      await core.apply(manifests(hardwareYaml("hw", MAC, "  metadata: { facility: { plan_slug: c3 } }")));
      await until(seen, (s) => s.some((e) => e.kind === "Hardware" && e.op === "configured"), "Hardware configured");
      await core.delete("Hardware", "default", "hw");
      await until(seen, (s) => s.some((e) => e.kind === "Hardware" && e.op === "deleted"), "Hardware deleted");
      expect(seen.filter((e) => e.kind === "Hardware").map((e) => `${e.namespace}/${e.name} ${e.op}`)).toEqual([
        "default/hw created",
        "default/hw configured",
        "default/hw deleted",
      ]);
    } finally {
      await stop();
    }
  });
});
