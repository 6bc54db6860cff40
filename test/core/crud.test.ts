import { expect, test } from "bun:test";
import type { Core, StoredHardware } from "../../daemon/core/types.ts";
import type { Manifest } from "../../daemon/manifest/types.ts";
import { appendLogs } from "../../daemon/store/logs.ts";
import { actionLogs, workflowActions, workflowEvents } from "../../daemon/store/schema.ts";
import { errorCode, hardwareYaml, machineYaml, manifests, templateYaml, testClock, testCore, workflowYaml } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";

const MAC = "1c:69:7a:11:22:33";
const BODY = `version: "0.1"
name: t
tasks:
  - name: install
    worker: "{{.device_1}}"
    actions:
      - name: one
        image: alpine`;

const one = (yaml: string): Manifest => manifests(yaml)[0]!.object;

async function seed(core: Core): Promise<void> {
  await core.apply(manifests(machineYaml(MAC, BODY)));
}

forEachStore("core objects", (ctx) => {
  test("create, get, list, update and delete Hardware", async () => {
    const clock = testClock();
    const core = testCore(ctx.store, clock);
    const created = (await core.create(one(hardwareYaml("hw", "AA-BB-CC-DD-EE-FF")))) as StoredHardware;
    expect(created.metadata).toMatchObject({ name: "hw", namespace: "default", resourceVersion: "1", creationTimestamp: clock.now().toISOString() });
    expect(created.spec.interfaces?.[0]?.dhcp?.mac).toBe("aa:bb:cc:dd:ee:ff");
    expect(await errorCode(core.create(one(hardwareYaml("hw", "aa:bb:cc:dd:ee:01"))))).toBe("already_exists");
    expect(await core.get("Hardware", "default", "hw")).toEqual(created);
    const updated = await core.update(one(hardwareYaml("hw", "aa:bb:cc:dd:ee:01")));
    expect(updated.metadata.resourceVersion).toBe("2");
    expect(updated.metadata.uid).toBe(created.metadata.uid);
    expect(await errorCode(core.update(one(hardwareYaml("nope", "aa:bb:cc:dd:ee:02"))))).toBe("not_found");
    expect((await core.list("Hardware", "default")).map((h) => h.metadata.name)).toEqual(["hw"]);
    expect(await core.list("Hardware", "elsewhere")).toEqual([]);
    await core.delete("Hardware", "default", "hw");
    expect(await errorCode(core.get("Hardware", "default", "hw"))).toBe("not_found");
    expect(await errorCode(core.delete("Hardware", "default", "hw"))).toBe("not_found");
  });

  test("validate created objects like apply does", async () => {
    const core = testCore(ctx.store);
    expect(await errorCode(core.create(one(templateYaml("bad", "{{ if }}"))))).toBe("invalid_template");
    expect(await errorCode(core.create(one(workflowYaml("wf", "tpl", "hw", MAC))))).toBe("not_found");
    expect(await errorCode(core.create({ apiVersion: "tinkerbell.org/v1alpha1", kind: "Hardware", metadata: { name: "", namespace: "x" }, spec: {} }))).toBe(
      "invalid_manifest",
    );
  });

  test("refuse to delete Hardware a running workflow uses", async () => {
    const core = testCore(ctx.store);
    await seed(core);
    const err = core.delete("Hardware", "default", "hw");
    expect(await errorCode(err)).toBe("conflict");
    const a = await core.getAction(MAC);
    await core.reportAction({ workflowId: a.workflowId, agentId: MAC, actionId: a.actionId, state: "FAILED" });
    await core.delete("Hardware", "default", "hw");
    expect(await core.list("Hardware")).toEqual([]);
  });

  test("delete a workflow with its tasks, actions, events and logs", async () => {
    const core = testCore(ctx.store);
    await seed(core);
    const a = await core.getAction(MAC);
    await appendLogs(ctx.store.db, a.actionId, [{ stream: "stdout", line: "hi" }]);
    await core.delete("Workflow", "default", "wf");
    expect(await errorCode(core.events("default", "wf"))).toBe("not_found");
    for (const table of [workflowActions, workflowEvents, actionLogs]) {
      expect(await ctx.store.db.select().from(table)).toEqual([]);
    }
    expect(await errorCode(core.getAction(MAC))).toBe("not_found");
    expect(await core.list("Template")).toHaveLength(1);
  });

  test("list every kind across namespaces in order", async () => {
    const core = testCore(ctx.store);
    await core.apply(manifests(`${hardwareYaml("b", "aa:bb:cc:dd:ee:01", "", "z")}---\n${hardwareYaml("a", "aa:bb:cc:dd:ee:02", "", "z")}---\n${hardwareYaml("c", "aa:bb:cc:dd:ee:03", "", "a")}`));
    expect((await core.list("Hardware")).map((h) => `${h.metadata.namespace}/${h.metadata.name}`)).toEqual(["a/c", "z/a", "z/b"]);
  });

  test("answer ping", async () => {
    await testCore(ctx.store).ping();
  });
});
