import { expect, test } from "bun:test";
import { createCore } from "../../daemon/core/core.ts";
import { createChangeFeed, type FeedEntry } from "../../daemon/core/changes.ts";
import type { ActionAssignment, ActionReport, Core, StoredHardware } from "../../daemon/core/types.ts";
import type { ActionState } from "../../daemon/workflow/definition.ts";
import { alpineTemplate, machineYaml, manifests, testClock, wispErrorOf, workflow } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";

const MAC = "1c:69:7a:11:22:33";
const BODY = alpineTemplate("cancel", ["first", "second"]);

function report(a: ActionAssignment, state: ActionState): ActionReport {
  return { workflowId: a.workflowId, agentId: a.agentId, taskId: a.taskId, actionId: a.actionId, state };
}

async function code(p: Promise<unknown>): Promise<string> {
  const e = await wispErrorOf(p);
  return e ? `${e.code}: ${e.message}` : "ok";
}

async function setup(core: Core, wfSpec = ""): Promise<void> {
  await core.apply(manifests(machineYaml(MAC, BODY, wfSpec)));
}

forEachStore("workflow cancel", (ctx) => {
  test("a RUNNING workflow ends FAILED with its running action, recorded as events and announced", async () => {
    const feed = createChangeFeed();
    const seen: FeedEntry[] = [];
    feed.subscribe((e) => seen.push(e));
    const clock = testClock();
    const core = createCore(ctx.store, { now: clock.now, changes: feed });
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    clock.advance(5);
    const cancelled = await core.cancelWorkflow("default", "wf");
    expect(cancelled.status.state).toBe("FAILED");
    expect(cancelled.status.finishedAt).toBe("2026-01-01T00:00:05.000Z");
    expect(cancelled.status.tasks[0]?.actions.map((x) => [x.name, x.state, x.message ?? ""])).toEqual([
      ["first", "FAILED", "cancelled by operator"],
      ["second", "PENDING", ""],
    ]);
    const events = (await core.events("default", "wf")).slice(-2);
    expect(events.map((e) => [e.type, e.from, e.to, e.message])).toEqual([
      ["action.state", "RUNNING", "FAILED", "cancelled by operator"],
      ["workflow.state", "RUNNING", "FAILED", "cancelled by operator"],
    ]);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ kind: "Workflow", namespace: "default", name: "wf", op: "state", state: "FAILED" });
    expect(last.events?.map((e) => e.type)).toEqual(["action.state", "workflow.state"]);

    // The agent goes on as if nothing happened: its reports are refused, nothing is served.
    expect(await code(core.reportAction(report(a, "SUCCESS")))).toBe("invalid_state: workflow default/wf is already FAILED");
    expect(await code(core.reportAction(report(a, "RUNNING")))).toBe("invalid_state: workflow default/wf is already FAILED");
    expect(await code(core.getAction(MAC))).toBe("invalid_state: workflow default/wf is FAILED");
    expect((await workflow(core, "default", "wf")).status.tasks[0]?.actions[0]?.state).toBe("FAILED");
  });

  test("a PENDING workflow can be cancelled; a finished one cannot; a missing one is not_found", async () => {
    const core = createCore(ctx.store, { now: testClock().now });
    await setup(core);
    const wf = await core.cancelWorkflow("default", "wf");
    expect(wf.status.state).toBe("FAILED");
    expect(wf.status.tasks[0]?.actions[0]).toMatchObject({ state: "FAILED", message: "cancelled by operator" });
    expect(await code(core.cancelWorkflow("default", "wf"))).toBe(
      "invalid_state: Workflow default/wf is already FAILED; only an unfinished workflow can be cancelled",
    );
    expect(await code(core.cancelWorkflow("default", "nope"))).toBe("not_found: Workflow default/nope not found");
    // Re-run brings it back from the start.
    const again = await core.rerunWorkflow("default", "wf");
    expect(again.status.state).toBe("PENDING");
    expect((await core.getAction(MAC)).name).toBe("first");
  });

  test("cancelling a toggleAllowNetboot workflow leaves allowPXE as it is", async () => {
    const core = createCore(ctx.store, { now: testClock().now });
    await setup(core, "  bootOptions: { toggleAllowNetboot: true }");
    const before = (await core.get("Hardware", "default", "hw")) as StoredHardware;
    expect(JSON.stringify(before.spec)).toContain('"allowPXE":true');
    expect((await core.cancelWorkflow("default", "wf")).status.state).toBe("FAILED");
    const after = (await core.get("Hardware", "default", "hw")) as StoredHardware;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec).toEqual(before.spec);
  });
});
