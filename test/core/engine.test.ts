import { expect, test } from "bun:test";
import type { ActionAssignment, ActionReport, Core } from "../../daemon/core/types.ts";
import type { ActionState } from "../../daemon/workflow/definition.ts";
import { errorCode, exampleManifests, machineYaml, manifests, testClock, testCore, workflow } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";

const MAC = "1c:69:7a:11:22:33";

/** A template with env/volumes at both levels, a retried action and timeouts. */
function body(opts: { retries?: number; timeout?: number; globalTimeout?: number } = {}): string {
  return `version: "0.1"
name: engine
global_timeout: ${opts.globalTimeout ?? 600}
tasks:
  - name: install
    worker: "{{.device_1}}"
    volumes: [/dev:/dev]
    environment: { ZED: task, SHARED: task }
    actions:
      - name: first
        image: alpine
        timeout: ${opts.timeout ?? 60}
        retries: ${opts.retries ?? 0}
        command: [sh, -c, "true"]
        volumes: [/tmp:/tmp]
        environment: { SHARED: action, ALPHA: "1" }
        pid: host
      - name: second
        image: alpine`;
}

async function setup(core: Core, opts: Parameters<typeof body>[0] = {}, wfSpec = ""): Promise<void> {
  await core.apply(manifests(machineYaml(MAC, body(opts), wfSpec)));
}

function report(a: ActionAssignment, state: ActionState, message?: string): ActionReport {
  return { workflowId: a.workflowId, agentId: a.agentId, taskId: a.taskId, actionId: a.actionId, actionName: a.name, state, message };
}

forEachStore("core engine", (ctx) => {
  test("serve the current action in the agent protocol's shape", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC.toUpperCase());
    expect(a).toMatchObject({
      workflowId: "default/wf",
      agentId: MAC.toUpperCase(),
      name: "first",
      image: "alpine",
      timeout: 60,
      command: ["sh", "-c", "true"],
      volumes: ["/dev:/dev", "/tmp:/tmp"],
      environment: ["ALPHA=1", "SHARED=action", "ZED=task"],
      pid: "host",
      namespaces: { network: "", pid: "" },
      retries: 0,
      attempt: 1,
    });
    expect(a.actionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await core.getAction(MAC)).actionId).toBe(a.actionId);
  });

  test("answer not_found for an agent without workflows", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    expect(await errorCode(core.getAction("aa:bb:cc:dd:ee:ff"))).toBe("not_found");
  });

  test("run the examples to SUCCESS, recording every transition", async () => {
    const clock = testClock();
    const core = testCore(ctx.store, clock);
    await core.apply(exampleManifests("nuc-demo"));
    for (let i = 0; i < 7; i++) {
      const a = await core.getAction(MAC);
      await core.reportAction(report(a, "RUNNING"));
      clock.advance(10);
      await core.reportAction(report(a, "SUCCESS", "done"));
    }
    const wf = await workflow(core, "tink-system", "demo-wf");
    expect(wf.status.state).toBe("SUCCESS");
    expect(wf.status.currentActionIndex).toBe(7);
    expect(wf.status.startedAt).toBe("2026-01-01T00:00:00.000Z");
    expect(wf.status.finishedAt).toBe("2026-01-01T00:01:10.000Z");
    expect(wf.status.tasks[0]?.actions.every((a) => a.state === "SUCCESS" && a.durationSeconds === 10)).toBe(true);
    const events = await core.events("tink-system", "demo-wf");
    expect(events.filter((e) => e.type === "action.state")).toHaveLength(14);
    expect(events.filter((e) => e.type === "workflow.state").map((e) => `${e.from ?? ""}>${e.to}`)).toEqual([
      ">PENDING",
      "PENDING>RUNNING",
      "RUNNING>SUCCESS",
    ]);
    expect(await errorCode(core.getAction(MAC))).toBe("invalid_state");
  });

  test("end the workflow FAILED when an action fails without retries", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "FAILED", "exit 1"));
    const wf = await workflow(core, "default", "wf");
    expect(wf.status.state).toBe("FAILED");
    expect(wf.status.tasks[0]?.actions[0]).toMatchObject({ state: "FAILED", message: "exit 1", attempt: 1 });
    expect(wf.status.tasks[0]?.actions[1]?.state).toBe("PENDING");
    expect(await errorCode(core.getAction(MAC))).toBe("invalid_state");
  });

  test("retry a failed action while attempts remain, then fail", async () => {
    const core = testCore(ctx.store);
    await setup(core, { retries: 1 });
    const first = await core.getAction(MAC);
    await core.reportAction(report(first, "RUNNING"));
    await core.reportAction(report(first, "FAILED"));
    // A repeated FAILED (lost response) must not use up the retry.
    await core.reportAction(report(first, "FAILED"));
    let wf = await workflow(core, "default", "wf");
    expect(wf.status.state).toBe("RUNNING");
    expect(wf.status.tasks[0]?.actions[0]).toMatchObject({ state: "PENDING", attempt: 2 });
    const second = await core.getAction(MAC);
    expect(second).toMatchObject({ actionId: first.actionId, attempt: 2, retries: 1 });
    await core.reportAction(report(second, "RUNNING"));
    await core.reportAction(report(second, "TIMEOUT"));
    wf = await workflow(core, "default", "wf");
    expect(wf.status.state).toBe("TIMEOUT");
    const types = (await core.events("default", "wf")).map((e) => e.type);
    expect(types.filter((t) => t === "action.retry")).toHaveLength(1);
  });

  test("succeed after a retry", async () => {
    const core = testCore(ctx.store);
    await setup(core, { retries: 2 });
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "FAILED"));
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "SUCCESS"));
    const next = await core.getAction(MAC);
    expect(next.name).toBe("second");
  });

  test("ignore repeated identical reports", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "SUCCESS"));
    const before = await core.events("default", "wf");
    await core.reportAction(report(a, "SUCCESS"));
    expect(await core.events("default", "wf")).toEqual(before);
    expect((await core.getAction(MAC)).name).toBe("second");
  });

  test("apply concurrent identical reports once (row lock)", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    // On PostgreSQL the reports wait for each other's row lock; each must then see what the one
    // before it committed (a joined SELECT ... FOR UPDATE did not, and refused one as stale).
    await Promise.all(Array.from({ length: 20 }, () => core.reportAction(report(a, "SUCCESS"))));
    const successes = (await core.events("default", "wf")).filter((e) => e.type === "action.state" && e.to === "SUCCESS");
    expect(successes).toHaveLength(1);
    expect((await core.getAction(MAC)).name).toBe("second");
  });

  test("refuse stale, foreign and misaddressed reports without changing anything", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "SUCCESS"));
    const b = await core.getAction(MAC);
    const before = await workflow(core, "default", "wf");
    expect(await errorCode(core.reportAction(report(a, "FAILED")))).toBe("invalid_state");
    expect(await errorCode(core.reportAction(report(a, "RUNNING")))).toBe("invalid_state");
    expect(await errorCode(core.reportAction({ ...report(b, "RUNNING"), agentId: "aa:bb:cc:dd:ee:ff" }))).toBe("invalid_state");
    expect(await errorCode(core.reportAction({ ...report(b, "RUNNING"), actionId: "nope" }))).toBe("invalid_state");
    expect(await errorCode(core.reportAction({ ...report(b, "RUNNING"), workflowId: "default/other" }))).toBe("not_found");
    expect(await errorCode(core.reportAction({ ...report(b, "RUNNING"), workflowId: "no-slash" }))).toBe("invalid_argument");
    expect(await workflow(core, "default", "wf")).toEqual(before);
  });

  test("refuse reports for a finished workflow", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "FAILED"));
    const second = (await workflow(core, "default", "wf")).status.tasks[0]!.actions[1]!;
    const err = core.reportAction({ ...report(a, "RUNNING"), actionId: second.id, actionName: second.name });
    expect(await errorCode(err)).toBe("invalid_state");
  });

  test("re-serve the running action to a restarted agent", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    const again = await core.getAction(MAC);
    expect(again).toEqual(a);
    expect((await workflow(core, "default", "wf")).status.tasks[0]?.actions[0]?.state).toBe("RUNNING");
  });

  test("time out a workflow past its global timeout", async () => {
    const clock = testClock();
    const core = testCore(ctx.store, clock);
    await setup(core, { globalTimeout: 100, timeout: 0 });
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    expect(await core.sweepTimeouts(clock.advance(100))).toBe(0);
    expect(await core.sweepTimeouts(clock.advance(1))).toBe(1);
    const wf = await workflow(core, "default", "wf");
    expect(wf.status.state).toBe("TIMEOUT");
    expect(wf.status.tasks[0]?.actions[0]?.state).toBe("TIMEOUT");
    expect(await core.sweepTimeouts(clock.advance(1000))).toBe(0);
  });

  test("time out an action the agent never reports, after the grace", async () => {
    const clock = testClock();
    const core = testCore(ctx.store, clock);
    await setup(core, { globalTimeout: 0, timeout: 60 });
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    expect(await core.sweepTimeouts(clock.advance(60 + 30))).toBe(0);
    expect(await core.sweepTimeouts(clock.advance(1))).toBe(1);
    const wf = await workflow(core, "default", "wf");
    expect(wf.status.state).toBe("TIMEOUT");
    expect(wf.status.tasks[0]?.actions[0]?.message).toContain("no report");
    // The agent's own late report changes nothing.
    expect(await errorCode(core.reportAction(report(a, "SUCCESS")))).toBe("invalid_state");
  });

  test("flip allowPXE with toggleAllowNetboot, recording events", async () => {
    const core = testCore(ctx.store);
    // Without bootMode netboot: that one needs a BMC (test/bmc/jobs.test.ts).
    await setup(core, {}, "  bootOptions: { toggleAllowNetboot: true }\n");
    const allowPXE = async () => {
      const hw = (await core.get("Hardware", "default", "hw")) as { spec: { interfaces: { netboot: { allowPXE: boolean } }[] } };
      return hw.spec.interfaces[0]!.netboot.allowPXE;
    };
    expect(await allowPXE()).toBe(true);
    expect((await workflow(core, "default", "wf")).status.state).toBe("PENDING");
    for (let i = 0; i < 2; i++) {
      const a = await core.getAction(MAC);
      await core.reportAction(report(a, "RUNNING"));
      await core.reportAction(report(a, "SUCCESS"));
    }
    expect(await allowPXE()).toBe(false);
    const events = (await core.events("default", "wf")).map((e) => `${e.type}:${e.from ?? ""}>${e.to ?? ""}`);
    expect(events.slice(0, 3)).toEqual(["workflow.state:>PREPARING", "hardware.allowPXE:false>true", "workflow.state:PREPARING>PENDING"]);
    expect(events.at(-1)).toBe("hardware.allowPXE:true>false");
  });

  test("re-run a finished workflow from its first action", async () => {
    const core = testCore(ctx.store);
    await setup(core);
    expect(await errorCode(core.rerunWorkflow("default", "wf"))).toBe("invalid_state");
    const a = await core.getAction(MAC);
    await core.reportAction(report(a, "RUNNING"));
    await core.reportAction(report(a, "FAILED"));
    const wf = await core.rerunWorkflow("default", "wf");
    expect(wf.status.state).toBe("PENDING");
    expect(wf.status.currentActionIndex).toBe(0);
    expect(wf.status.startedAt).toBeUndefined();
    expect(wf.status.tasks[0]?.actions.map((x) => [x.state, x.attempt])).toEqual([["PENDING", 1], ["PENDING", 1]]);
    expect((await core.events("default", "wf")).at(-1)).toMatchObject({ type: "workflow.rerun", from: "FAILED", to: "PENDING" });
    expect((await core.getAction(MAC)).actionId).toBe(a.actionId);
    expect(await errorCode(core.rerunWorkflow("default", "missing"))).toBe("not_found");
  });

  test("serve nothing for a disabled workflow", async () => {
    const core = testCore(ctx.store);
    await setup(core, {}, "  disabled: true\n");
    expect(await errorCode(core.getAction(MAC))).toBe("invalid_state");
  });
});
