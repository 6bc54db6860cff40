/**
 * Jobs and workflows that use a BMC, on both stores, against a fake driver (the real drivers'
 * runs are in ipmi-jobs.test.ts): steps in order, retries, timeouts, missing credentials, the
 * netboot job of a PREPARING workflow and the disk-boot job after SUCCESS.
 */
import { afterEach, expect, test } from "bun:test";
import { startJobRunner, type JobRunner } from "../../daemon/bmc/jobs.ts";
import { backoffMs, startPoller } from "../../daemon/bmc/poller.ts";
import type { Core, StoredHardware, StoredJob, StoredMachine, StoredSecret } from "../../daemon/core/types.ts";
import { formatDiagnostic, WispError } from "../../daemon/lib/errors.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { alpineTemplate, hardwareYaml, manifests, templateYaml, testCore, workflow, workflowYaml } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";
import { fakeBmc, type FakeBmc } from "./fake-driver.ts";

const MAC = "52:54:00:aa:bb:01";
const PASSWORD = "hunter2-but-longer";

const SECRET = `apiVersion: v1
kind: Secret
metadata: { name: creds }
stringData: { username: admin, password: "${PASSWORD}" }
`;
const MACHINE = `apiVersion: bmc.tinkerbell.org/v1alpha1
kind: Machine
metadata: { name: bmc1 }
spec:
  connection:
    host: 127.0.0.1
    port: 6230
    authSecretRef: { name: creds, namespace: default }
    providerOptions: { preferredOrder: [ipmitool], ipmitool: { cipherSuite: "3" } }
`;
const job = (name: string, tasks: string) => `apiVersion: bmc.tinkerbell.org/v1alpha1
kind: Job
metadata: { name: ${name} }
spec:
  machineRef: { name: bmc1, namespace: default }
  tasks:
${tasks}`;

const TEMPLATE = templateYaml("tpl", alpineTemplate("t", ["one"], 60));

let runner: JobRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
});

async function waitFor<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await Bun.sleep(50);
  }
}

const getJob = (core: Core, name: string) => core.get("Job", "default", name) as Promise<StoredJob>;
const ended = (j: StoredJob) => j.status.state === "Completed" || j.status.state === "Failed";

forEachStore("bmc jobs", (s) => {
  async function start(bmc: FakeBmc): Promise<Core> {
    const core = testCore(s.store, { now: () => new Date(), advance: () => new Date() });
    runner = await startJobRunner({ ctx: { db: s.store.db, now: () => new Date() }, openBmc: bmc.open, logger: silentLogger(), pollIntervalMs: 100, retryDelayMs: 10 });
    return core;
  }

  test("steps run in order with the Secret's credentials and the provider options", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${job("j1", '    - powerAction: "off"\n    - oneTimeBootDeviceAction: { device: [pxe], efiBootMode: true }\n    - powerAction: "on"\n    - powerAction: status\n')}`));
    const j = await waitFor("job end", () => getJob(core, "j1"), ended);
    expect(j.status.state).toBe("Completed");
    expect(j.status.conditions.map((c) => [c.type, c.status])).toEqual([["Completed", "True"]]);
    expect(j.status.steps.map((st) => [st.action, st.state, st.attempt])).toEqual([
      ["power off", "Completed", 1],
      ["one-time boot pxe (efi)", "Completed", 1],
      ["power on", "Completed", 1],
      ["power status", "Completed", 1],
    ]);
    expect(j.status.steps[3]!.message).toBe("power is on");
    expect(bmc.calls).toEqual(["power off", "boot pxe efi=true persistent=false", "power on", "status"]);
    expect(bmc.targets[0]).toMatchObject({ host: "127.0.0.1", username: "admin", password: PASSWORD, options: { preferredOrder: ["ipmitool"], ipmitool: { port: 6230, cipherSuite: "3" } } });
    // Nothing the API returns holds the password.
    const everything = JSON.stringify([await core.list("Secret"), await core.list("Machine"), await core.list("Job")]);
    expect(everything).not.toContain(PASSWORD);
    const secret = (await core.get("Secret", "default", "creds")) as StoredSecret;
    expect(secret.keys).toEqual(["password", "username"]);
  });

  test("a failing step is retried, then fails the job; later steps never run", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    bmc.failures.set("power on", 2);
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${job("retried", '    - powerAction: "on"\n      retries: 2\n')}`));
    const ok = await waitFor("job end", () => getJob(core, "retried"), ended);
    expect(ok.status.state).toBe("Completed");
    expect(ok.status.steps[0]).toMatchObject({ state: "Completed", attempt: 3, retries: 2 });

    bmc.failures.set("power off", 5);
    bmc.calls.length = 0;
    await core.apply(manifests(job("failed", '    - powerAction: "off"\n      retries: 1\n    - powerAction: "on"\n')));
    const bad = await waitFor("job end", () => getJob(core, "failed"), ended);
    expect(bad.status.state).toBe("Failed");
    expect(bad.status.message).toBe("step 0 power off: ipmitool: fake BMC refused power off (attempt 2 of 2)");
    expect(bad.status.conditions.map((c) => c.type)).toEqual(["Failed"]);
    expect(bad.status.steps.map((st) => st.state)).toEqual(["Failed", "Pending"]);
    expect(bmc.calls).toEqual(["power off", "power off"]);
  });

  test("a step that hangs ends at its timeout, each attempt", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    bmc.hang.add("power cycle");
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${job("slow", "    - powerAction: cycle\n      timeout: 1\n      retries: 1\n")}`));
    const j = await waitFor("job end", () => getJob(core, "slow"), ended);
    expect(j.status.state).toBe("Failed");
    expect(j.status.steps[0]!.message).toBe("power cycle: no answer within 1s (attempt 2 of 2)");
    expect(bmc.calls).toEqual(["power cycle", "power cycle"]);
  });

  test("a job cut short by a stop is resumed at its step once its runner's heartbeat is stale", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    bmc.hang.add("power on");
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${job("resumed", '    - powerAction: "off"\n    - powerAction: "on"\n      timeout: 600\n')}`));
    await waitFor("the hanging step", async () => bmc.calls, (c) => c.includes("power on"));
    await runner!.stop(); // bounded, though the step would wait 600 s
    expect((await getJob(core, "resumed")).status.state).toBe("Running");
    bmc.hang.clear();
    // A Running job beaten within staleAfterMs is left alone (another wispd may be running it); a stale one is taken.
    runner = await startJobRunner({ ctx: { db: s.store.db, now: () => new Date() }, openBmc: bmc.open, logger: silentLogger(), pollIntervalMs: 100, retryDelayMs: 10, staleAfterMs: 60_000 });
    await Bun.sleep(500);
    expect((await getJob(core, "resumed")).status.state).toBe("Running");
    expect(bmc.calls).toEqual(["power off", "power on"]);
    await runner.stop();
    runner = await startJobRunner({ ctx: { db: s.store.db, now: () => new Date() }, openBmc: bmc.open, logger: silentLogger(), pollIntervalMs: 100, retryDelayMs: 10, staleAfterMs: 1_000 });
    const j = await waitFor("job end", () => getJob(core, "resumed"), ended);
    expect(j.status.state).toBe("Completed");
    expect(j.status.steps.map((st) => [st.action, st.state, st.attempt])).toEqual([["power off", "Completed", 1], ["power on", "Completed", 2]]);
    expect(bmc.calls).toEqual(["power off", "power on", "power on"]);
  }, 60_000);

  test("missing credentials fail the job with the Secret's name; a wrong password stays out of the message", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    const applied = await core.apply(manifests(`${MACHINE}---\n${job("nocreds", '    - powerAction: "on"\n      retries: 0\n')}`));
    expect(applied.warnings.map(formatDiagnostic)).toEqual([
      'test.yaml#0 Machine default/bmc1: spec.connection.authSecretRef.name: Secret "creds" not found in namespace default: the BMC cannot be reached until it exists',
    ]);
    const j = await waitFor("job end", () => getJob(core, "nocreds"), ended);
    expect(j.status.message).toBe("step 0 power on: Secret default/creds (spec.connection.authSecretRef) not found (attempt 1 of 1)");
    expect(bmc.calls).toEqual([]);

    bmc.refuseOpen = { code: "auth", message: "ipmitool: wrong user name or password for 127.0.0.1", provider: "ipmitool" };
    await core.apply(manifests(`${SECRET}---\n${job("badauth", '    - powerAction: "on"\n      retries: 0\n')}`));
    const bad = await waitFor("job end", () => getJob(core, "badauth"), ended);
    expect(bad.status.message).toBe("step 0 power on: ipmitool: wrong user name or password for 127.0.0.1 (attempt 1 of 1)");
  });

  test("apply refuses a Job for a Machine that does not exist, and a changed Job", async () => {
    const core = await start(fakeBmc());
    await expect(core.apply(manifests(job("orphan", '    - powerAction: "on"\n')))).rejects.toThrow('test.yaml#0 Job default/orphan: spec.machineRef.name: Machine "bmc1" not found in namespace default');
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${job("once", '    - powerAction: "on"\n')}`));
    const again = await core.apply(manifests(job("once", '    - powerAction: "on"\n')));
    expect(again.objects[0]!.outcome).toBe("unchanged");
    await expect(core.apply(manifests(job("once", '    - powerAction: "off"\n')))).rejects.toThrow("a Job's spec cannot change once it is stored");
  });

  test("the poller records the power state, and the error of a BMC that does not answer", async () => {
    const bmc = fakeBmc("redfish");
    const core = await start(bmc);
    bmc.state = "on";
    await core.apply(manifests(`${SECRET}---\n${MACHINE}`));
    const poller = startPoller({ ctx: { db: s.store.db, now: () => new Date() }, openBmc: bmc.open, logger: silentLogger(), intervalMs: 3_600_000 });
    try {
      await poller.pollDue();
      let m = (await core.get("Machine", "default", "bmc1")) as StoredMachine;
      expect(m.status).toMatchObject({ powerState: "on", provider: "redfish", conditions: [{ type: "Contactable", status: "True" }] });
      expect(m.status.lastError).toBeUndefined();

      // Not due again within the interval; due at once after a change of connection.
      await poller.pollDue();
      expect(bmc.calls.filter((c) => c === "status").length).toBe(1);
      await core.apply(manifests(MACHINE.replace("port: 6230", "port: 6231")));
      bmc.refuseOpen = { code: "unreachable", message: "redfish: 127.0.0.1:443: connection refused", provider: "redfish" };
      await poller.pollDue();
      m = (await core.get("Machine", "default", "bmc1")) as StoredMachine;
      expect(m.status).toMatchObject({ powerState: "unknown", lastError: "redfish: 127.0.0.1:443: connection refused", conditions: [{ type: "Contactable", status: "False" }] });
    } finally {
      await poller.stop();
    }
  });

  test("a failing BMC is polled less and less often, and at the interval again once it answers", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    await core.apply(manifests(`${SECRET}---\n${MACHINE}`));
    let now = Date.parse("2026-01-01T00:00:00Z");
    const poller = startPoller({ ctx: { db: s.store.db, now: () => new Date(now) }, openBmc: bmc.open, logger: silentLogger(), intervalMs: 60_000 });
    const polls = () => bmc.targets.length;
    try {
      await poller.pollDue();
      expect(polls()).toBe(1);
      bmc.refuseOpen = { code: "unreachable", message: "down", provider: "ipmitool" };
      now += 60_000;
      await poller.pollDue(); // due: the interval passed; fails (1 failure)
      expect(polls()).toBe(2);
      now += 60_000;
      await poller.pollDue(); // not due: after one failure, twice the interval
      expect(polls()).toBe(2);
      now += 60_000;
      await poller.pollDue();
      expect(polls()).toBe(3);
      bmc.refuseOpen = undefined;
      now += 4 * 60_000;
      await poller.pollDue(); // 2 failures: four times the interval; answers now
      expect(polls()).toBe(4);
      expect(((await core.get("Machine", "default", "bmc1")) as StoredMachine).status.lastError).toBeUndefined();
      now += 60_000;
      await poller.pollDue();
      expect(polls()).toBe(5);
    } finally {
      await poller.stop();
    }
    expect(backoffMs(30_000, 0)).toBe(30_000);
    expect(backoffMs(30_000, 3)).toBe(240_000);
    expect(backoffMs(30_000, 50)).toBe(600_000);
  });

  test("bootMode netboot: PREPARING until the job powered the machine into PXE, then PENDING; disk boot after SUCCESS", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    await runner!.stop(); // apply first, then run: PREPARING is seen before the job ends
    const hw = hardwareYaml("hw", MAC, "  bmcRef: { apiGroup: bmc.tinkerbell.org, kind: Machine, name: bmc1 }\n");
    const wf = workflowYaml("wf", "tpl", "hw", MAC, "  bootOptions: { bootMode: netboot, toggleAllowNetboot: true, diskBootOnSuccess: true }\n");
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${hw}---\n${TEMPLATE}---\n${wf}`));
    expect((await workflow(core, "default", "wf")).status.state).toBe("PREPARING");
    // PXE is allowed before the machine is powered on, so it finds its script when it boots.
    const stored = (await core.get("Hardware", "default", "hw")) as StoredHardware;
    expect(stored.spec.interfaces![0]!.netboot!.allowPXE).toBe(true);
    await expect(core.getAction(MAC)).rejects.toThrow("is being prepared");

    const changes: { name: string; state: string }[] = [];
    runner = await startJobRunner({
      ctx: { db: s.store.db, now: () => new Date() },
      openBmc: bmc.open,
      logger: silentLogger(),
      pollIntervalMs: 100,
      retryDelayMs: 10,
      onWorkflowChange: (c) => changes.push({ name: c.name, state: c.state }),
    });
    await waitFor("workflow PENDING", () => workflow(core, "default", "wf"), (w) => w.status.state === "PENDING");
    expect(changes).toEqual([{ name: "wf", state: "PENDING" }]); // for the change feed (live views)
    expect(bmc.calls).toEqual(["power off", "boot pxe efi=false persistent=false", "power on"]);
    const netboot = await getJob(core, "wf-netboot");
    expect(netboot.status).toMatchObject({ state: "Completed", workflow: "default/wf", purpose: "netboot" });
    const events = await core.events("default", "wf");
    expect(events.filter((e) => e.type === "workflow.state").map((e) => `${e.from ?? ""}>${e.to}`)).toEqual([">PREPARING", "PREPARING>PENDING"]);

    const a = await core.getAction(MAC);
    await core.reportAction({ workflowId: a.workflowId, agentId: a.agentId, actionId: a.actionId, state: "RUNNING" });
    await core.reportAction({ workflowId: a.workflowId, agentId: a.agentId, actionId: a.actionId, state: "SUCCESS" });
    expect((await workflow(core, "default", "wf")).status.state).toBe("SUCCESS");
    const disk = await waitFor("disk-boot job", () => getJob(core, "wf-disk-boot"), ended);
    expect(disk.status.state).toBe("Completed");
    expect(bmc.calls.slice(3)).toEqual(["boot disk efi=false persistent=true", "power cycle"]);
    const after = await core.events("default", "wf");
    expect(after.filter((e) => e.type === "bmc.job").map((e) => e.to)).toEqual(["Pending", "Completed", "Pending", "Completed"]);

    // A re-run prepares again with a new netboot job (the finished one of the same name is replaced).
    bmc.calls.length = 0;
    const rerun = await core.rerunWorkflow("default", "wf");
    expect(rerun.status.state).toBe("PREPARING");
    await waitFor("re-run PENDING", () => workflow(core, "default", "wf"), (w) => w.status.state === "PENDING");
    expect(bmc.calls).toEqual(["power off", "boot pxe efi=false persistent=false", "power on"]);
    expect((await core.list("Job")).map((j) => `${j.metadata.name} ${(j as StoredJob).status.state}`)).toEqual(["wf-disk-boot Completed", "wf-netboot Completed"]);
  });

  test("bootMode netboot: a failed job fails the workflow with its reason", async () => {
    const bmc = fakeBmc();
    const core = await start(bmc);
    bmc.failures.set("boot pxe", 10);
    const hw = hardwareYaml("hw", MAC, "  bmcRef: { kind: Machine, name: bmc1 }\n").replace('hostname: hw }', "hostname: hw, uefi: true }");
    const wf = workflowYaml("wf", "tpl", "hw", MAC, "  bootOptions: { bootMode: netboot }\n");
    await core.apply(manifests(`${SECRET}---\n${MACHINE}---\n${hw}---\n${TEMPLATE}---\n${wf}`));
    const w = await waitFor("workflow FAILED", () => workflow(core, "default", "wf"), (x) => x.status.state !== "PREPARING");
    expect(w.status.state).toBe("FAILED");
    const events = await core.events("default", "wf");
    expect(events.at(-1)!.message).toBe("netboot job wf-netboot failed: step 1 one-time boot pxe (efi): ipmitool: fake BMC refused boot pxe efi=true persistent=false (attempt 3 of 3)");
    expect(bmc.calls.filter((c) => c === "power on")).toEqual([]);
  });

  test("bootMode netboot needs a Hardware whose bmcRef names a Machine", async () => {
    const core = await start(fakeBmc());
    const wf = workflowYaml("wf", "tpl", "hw", MAC, "  bootOptions: { bootMode: netboot }\n");
    const code = async (text: string) => {
      try {
        await core.apply(manifests(text));
        return "applied";
      } catch (e) {
        return (e as WispError).message;
      }
    };
    expect(await code(`${hardwareYaml("hw", MAC)}---\n${TEMPLATE}---\n${wf}`)).toBe(
      "test.yaml#4 Workflow default/wf: spec.bootOptions.bootMode: needs a BMC: Hardware hw has no spec.bmcRef naming a Machine (bmc.tinkerbell.org)".replace("#4", "#2"),
    );
    expect(await code(`${hardwareYaml("hw", MAC, "  bmcRef: { kind: Machine, name: nope }\n")}---\n${TEMPLATE}---\n${wf}`)).toBe(
      'test.yaml#2 Workflow default/wf: spec.bootOptions.bootMode: Machine "nope" (Hardware hw spec.bmcRef) not found in namespace default',
    );
    expect(await core.list("Workflow")).toEqual([]);
  });
});
