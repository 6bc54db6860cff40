import { expect, test } from "bun:test";
import type { StoredHardware, StoredWorkflow } from "../../daemon/core/types.ts";
import type { WispError } from "../../daemon/lib/errors.ts";
import { alpineTemplate, exampleManifests, hardwareYaml, machineYaml, manifests, templateYaml, testCore, wispErrorOf, workflow, workflowYaml } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";

const MAC = "1c:69:7a:11:22:33";
const TWO_ACTIONS = alpineTemplate("small", ["one", "two"]);

async function caught(p: Promise<unknown>): Promise<WispError> {
  const e = await wispErrorOf(p);
  if (!e) throw new Error("expected a WispError");
  return e;
}

forEachStore("core apply", (ctx) => {
  test("refuse the examples as written, naming the missing hp-demo, and store nothing", async () => {
    const core = testCore(ctx.store);
    const err = await caught(core.apply(exampleManifests()));
    expect(err.code).toBe("not_found");
    expect(err.message).toBe('workflow.yaml#0 Workflow tink-system/demo-wf: spec.hardwareRef: Hardware "hp-demo" not found in namespace tink-system');
    expect(err.details[0]).toMatchObject({ source: "workflow.yaml", document: 0, field: "spec.hardwareRef", kind: "Workflow", name: "demo-wf" });
    for (const kind of ["Hardware", "Template", "Workflow"] as const) expect(await core.list(kind)).toEqual([]);
  });

  test("store the examples with hardwareRef nuc-demo: a pending workflow of 7 rendered actions", async () => {
    const core = testCore(ctx.store);
    const result = await core.apply(exampleManifests("nuc-demo"));
    expect(result.objects.map((o) => `${o.kind} ${o.name} ${o.outcome}`)).toEqual([
      "Hardware nuc-demo created",
      "Template ubuntu-focal-nvme created",
      "Workflow demo-wf created",
    ]);
    expect(result.warnings).toEqual([]);
    const wf = await workflow(core, "tink-system", "demo-wf");
    expect(wf.status.state).toBe("PENDING");
    expect(wf.status.totalActions).toBe(7);
    expect(wf.status.globalTimeout).toBe(9800);
    expect(wf.status.currentAction).toBe("stream-ubuntu-image");
    expect(wf.status.tasks).toHaveLength(1);
    expect(wf.status.tasks[0]?.worker).toBe(MAC);
    expect(wf.status.tasks[0]?.actions.map((a) => a.state)).toEqual(Array(7).fill("PENDING"));
    expect(wf.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(wf.metadata.resourceVersion).toBe("1");
    expect(await core.list("Hardware", "tink-system")).toHaveLength(1);
    expect(await core.list("Template")).toHaveLength(1);
    expect(await core.events("tink-system", "demo-wf")).toMatchObject([{ type: "workflow.state", to: "PENDING" }]);
  });

  test("report unchanged on a second apply and configured after an edit", async () => {
    const core = testCore(ctx.store);
    await core.apply(exampleManifests("nuc-demo"));
    const again = await core.apply(exampleManifests("nuc-demo"));
    expect(again.objects.map((o) => o.outcome)).toEqual(["unchanged", "unchanged", "unchanged"]);
    const edited = exampleManifests("nuc-demo");
    const hw = edited[0]!.object as StoredHardware;
    hw.spec.interfaces![0]!.dhcp!.hostname = "renamed";
    const third = await core.apply(edited);
    expect(third.objects.map((o) => o.outcome)).toEqual(["configured", "unchanged", "unchanged"]);
    const stored = (await core.get("Hardware", "tink-system", "nuc-demo")) as StoredHardware;
    expect(stored.spec.interfaces?.[0]?.dhcp?.hostname).toBe("renamed");
    expect(stored.metadata.resourceVersion).toBe("2");
  });

  test("resolve references within one batch whatever the order of its documents", async () => {
    const core = testCore(ctx.store);
    const batch = exampleManifests("nuc-demo").reverse();
    const result = await core.apply(batch);
    expect(result.objects.map((o) => o.kind)).toEqual(["Hardware", "Template", "Workflow"]);
  });

  test("validate in a dry run and store nothing", async () => {
    const core = testCore(ctx.store);
    const result = await core.apply(exampleManifests("nuc-demo"), { dryRun: true });
    expect(result.objects.map((o) => o.outcome)).toEqual(["created", "created", "created"]);
    expect(await core.list("Workflow")).toEqual([]);
    expect(await core.list("Hardware")).toEqual([]);
    expect((await caught(core.apply(exampleManifests(), { dryRun: true }))).code).toBe("not_found");
  });

  test("refuse a MAC already used by another Hardware, in the batch or stored", async () => {
    const core = testCore(ctx.store);
    // Two sources: parseManifests itself refuses a duplicate within one file.
    const both = [...manifests(hardwareYaml("a", MAC), "a.yaml"), ...manifests(hardwareYaml("b", MAC.toUpperCase(), "", "other"), "b.yaml")];
    const err = await caught(core.apply(both));
    expect(err.code).toBe("conflict");
    expect(err.message).toContain("Hardware other/b");
    expect(err.message).toContain("Hardware default/a");
    expect(await core.list("Hardware")).toEqual([]);
    await core.apply(manifests(hardwareYaml("a", MAC)));
    const again = await caught(core.apply(manifests(hardwareYaml("c", MAC))));
    expect(again.code).toBe("conflict");
    expect(again.message).toBe(`test.yaml#0 Hardware default/c: spec.interfaces[0].dhcp.mac: MAC ${MAC} is already used by Hardware default/a`);
  });

  test("let only one of two concurrent applies claim a MAC", async () => {
    const core = testCore(ctx.store);
    const results = await Promise.allSettled([
      core.apply(manifests(hardwareYaml("a", MAC), "a.yaml")),
      core.apply(manifests(hardwareYaml("b", MAC), "b.yaml")),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(await core.list("Hardware")).toHaveLength(1);
  });

  test("refuse a Template with a syntax error, with its line", async () => {
    const core = testCore(ctx.store);
    const body = `version: "0.1"\nname: bad\ntasks:\n  - name: {{ end }}\n    worker: x`;
    const err = await caught(core.apply(manifests(templateYaml("bad", body))));
    expect(err.code).toBe("invalid_template");
    expect(err.field).toBe("spec.data");
    expect(err.message).toStartWith("test.yaml#0 Template default/bad: spec.data: ");
    expect(err.message).toContain("bad:4");
    expect(await core.list("Template")).toEqual([]);
  });

  test("refuse a workflow whose template needs a missing key, naming the template", async () => {
    const core = testCore(ctx.store);
    const body = TWO_ACTIONS.replace("{{.device_1}}", "{{.device_2}}");
    const batch = manifests(machineYaml(MAC, body));
    const err = await caught(core.apply(batch));
    expect(err.code).toBe("render_failed");
    expect(err.message).toContain('Template "tpl"');
    expect(err.message).toContain("device_2");
    expect(await core.list("Hardware")).toEqual([]);
  });

  test("refuse a workflow whose rendered template is not a valid workflow, with field paths", async () => {
    const core = testCore(ctx.store);
    const body = TWO_ACTIONS.replace("image: alpine\n      - name: two", "image: alpine\n      - name: one");
    const batch = manifests(machineYaml(MAC, body));
    const err = await caught(core.apply(batch));
    expect(err.code).toBe("invalid_template");
    expect(err.details.some((d) => d.field?.startsWith("tasks[0].actions[1]"))).toBe(true);
  });

  test("render the hardware data Tinkerbell templates use", async () => {
    const core = testCore(ctx.store);
    const body = TWO_ACTIONS.replace(
      "image: alpine\n      - name: two",
      'image: alpine\n        environment:\n          DISK: "{{ index .Hardware.Disks 0 }}"\n          HOST: "{{ .hardware.spec.metadata.instance.hostname }}"\n          NS: "{{ .hardware.metadata.namespace }}"\n      - name: two',
    );
    const extra = "  disks: [{ device: /dev/sda }]\n  metadata: { instance: { hostname: box } }\n";
    await core.apply(manifests(`${hardwareYaml("hw", MAC, extra)}---\n${templateYaml("tpl", body)}---\n${workflowYaml("wf", "tpl", "hw", MAC)}`));
    const action = await core.getAction(MAC);
    expect(action.environment).toEqual(["DISK=/dev/sda", "HOST=box", "NS=default"]);
  });

  test("warn when no task worker matches the referenced Hardware", async () => {
    const core = testCore(ctx.store);
    const batch = manifests(
      `${hardwareYaml("hw", MAC)}---\n${templateYaml("tpl", TWO_ACTIONS)}---\n${workflowYaml("wf", "tpl", "hw", "aa:bb:cc:dd:ee:ff")}`,
    );
    const result = await core.apply(batch);
    expect(result.objects.at(-1)?.outcome).toBe("created");
    expect(result.warnings.map((w) => w.message).join()).toContain("no task worker");
  });

  test("refuse a changed workflow spec but allow toggling disabled", async () => {
    const core = testCore(ctx.store);
    const base = `${hardwareYaml("hw", MAC)}---\n${templateYaml("tpl", TWO_ACTIONS)}---\n`;
    await core.apply(manifests(base + workflowYaml("wf", "tpl", "hw", MAC)));
    const changed = await caught(core.apply(manifests(workflowYaml("wf", "tpl", "hw", "aa:bb:cc:dd:ee:ff"))));
    expect(changed.code).toBe("conflict");
    expect(changed.message).toContain("workflow spec is immutable once rendered; delete it or use rerun");
    const disabled = await core.apply(manifests(workflowYaml("wf", "tpl", "hw", MAC, "  disabled: true\n")));
    expect(disabled.objects[0]?.outcome).toBe("configured");
    expect((await workflow(core, "default", "wf")).spec.disabled).toBe(true);
    expect((await caught(core.getAction(MAC))).code).toBe("invalid_state");
    expect((await core.events("default", "wf")).map((e) => e.type)).toEqual(["workflow.state", "workflow.disabled"]);
  });

  test("roll back the whole batch when a later object fails", async () => {
    const core = testCore(ctx.store);
    const batch = manifests(`${hardwareYaml("hw", MAC)}---\n${templateYaml("tpl", TWO_ACTIONS)}---\n${workflowYaml("wf", "missing", "hw", MAC)}`);
    const err = await caught(core.apply(batch));
    expect(err.message).toBe('test.yaml#2 Workflow default/wf: spec.templateRef: Template "missing" not found in namespace default');
    expect(await core.list("Hardware")).toEqual([]);
    expect(await core.list("Template")).toEqual([]);
  });

  test("keep the rendered workflow when its template changes later", async () => {
    const core = testCore(ctx.store);
    await core.apply(manifests(machineYaml(MAC, TWO_ACTIONS)));
    const result = await core.apply(manifests(templateYaml("tpl", TWO_ACTIONS.replace("name: two", "name: three"))));
    expect(result.objects[0]?.outcome).toBe("configured");
    const wf = (await core.get("Workflow", "default", "wf")) as StoredWorkflow;
    expect(wf.status.tasks[0]?.actions.map((a) => a.name)).toEqual(["one", "two"]);
  });
});
