import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { formatDiagnostic, type Diagnostic } from "../../daemon/lib/errors.ts";
import { parseManifests } from "../../daemon/manifest/parse.ts";
import type { Hardware, Template, Workflow } from "../../daemon/manifest/types.ts";

const EXAMPLES = new URL("../../../shared/examples/", import.meta.url);
const example = (name: string) => readFileSync(new URL(name, EXAMPLES), "utf8");

/** A Hardware document with the given interfaces block (YAML flow or block text). */
const hw = (name: string, mac: string, ns = "tink-system") => `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  interfaces:
    - dhcp:
        mac: ${mac}
`;

const fields = (ds: Diagnostic[]) => ds.map((d) => d.field);
const lines = (ds: Diagnostic[]) => ds.map(formatDiagnostic);

describe("the shared examples", () => {
  test("hardware.yaml parses to exactly what the user wrote, MAC normalised", () => {
    const r = parseManifests(example("hardware.yaml"), "examples/hardware.yaml");
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.manifests).toHaveLength(1);
    const m = r.manifests[0]!;
    expect(m.source).toBe("examples/hardware.yaml");
    expect(m.document).toBe(0);
    expect(m.object as Hardware).toEqual({
      apiVersion: "tinkerbell.org/v1alpha1",
      kind: "Hardware",
      metadata: { name: "nuc-demo", namespace: "tink-system" },
      spec: {
        disks: [{ device: "/dev/nvme0n1" }],
        interfaces: [
          {
            dhcp: {
              arch: "x86_64",
              hostname: "nuc-demo",
              ip: { address: "192.168.1.8", gateway: "192.168.1.1", netmask: "255.255.255.0" },
              lease_time: 86400,
              mac: "1c:69:7a:11:22:33",
              name_servers: ["1.1.1.1", "8.8.8.8"],
              uefi: true,
            },
            netboot: { allowPXE: true, allowWorkflow: true },
          },
        ],
      },
    });
  });

  test("template.yaml keeps spec.data verbatim", () => {
    const r = parseManifests(example("template.yaml"), "examples/template.yaml");
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const t = r.manifests[0]!.object as Template;
    expect(t.kind).toBe("Template");
    expect(t.metadata).toEqual({ name: "ubuntu-focal-nvme", namespace: "tink-system" });
    expect(t.spec.data).toStartWith('version: "0.1"\nname: ubuntu-focal-nvme\nglobal_timeout: 9800\n');
    expect(t.spec.data).toContain('worker: "{{.device_1}}"');
    expect(t.spec.data!.match(/- name: /g)).toHaveLength(8); // one task, seven actions
  });

  test("workflow.yaml parses as written (the missing hardware is the core's to report)", () => {
    const r = parseManifests(example("workflow.yaml"), "examples/workflow.yaml");
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.manifests[0]!.object as Workflow).toEqual({
      apiVersion: "tinkerbell.org/v1alpha1",
      kind: "Workflow",
      metadata: { name: "demo-wf", namespace: "tink-system" },
      spec: { templateRef: "ubuntu-focal-nvme", hardwareRef: "hp-demo", hardwareMap: { device_1: "1c:69:7a:11:22:33" } },
    });
  });

  test("all three in one multi-document file", () => {
    const text = ["hardware.yaml", "template.yaml", "workflow.yaml"].map(example).join("---\n");
    const r = parseManifests(text, "all.yaml");
    expect(r.errors).toEqual([]);
    expect(r.manifests.map((m) => [m.document, m.object.kind, m.object.metadata.name])).toEqual([
      [0, "Hardware", "nuc-demo"],
      [1, "Template", "ubuntu-focal-nvme"],
      [2, "Workflow", "demo-wf"],
    ]);
  });
});

describe("documents", () => {
  test("empty documents are skipped but still counted", () => {
    const r = parseManifests(`---\n# nothing\n---\n${hw("a", "1c:69:7a:11:22:33")}---\n`, "f.yaml");
    expect(r.errors).toEqual([]);
    expect(r.manifests.map((m) => m.document)).toEqual([1]);
  });

  test("an empty file gives no objects and one warning", () => {
    const r = parseManifests("# only a comment\n", "empty.yaml");
    expect(r.manifests).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(lines(r.warnings)).toEqual(["empty.yaml: no manifests found"]);
  });

  test("broken YAML names the document, line and column", () => {
    const text = `${hw("a", "1c:69:7a:11:22:33")}---\nkind: Hardware\nmetadata:\n  name: b: c\n`;
    const r = parseManifests(text, "broken.yaml");
    expect(lines(r.errors)).toEqual(["broken.yaml#1: YAML syntax error at line 13, column 9: Nested mappings are not allowed in compact mappings"]);
    expect(r.errors[0]!.document).toBe(1);
    expect(r.manifests.map((m) => m.object.metadata.name)).toEqual(["a"]);
  });

  test("tabs as indentation are a syntax error", () => {
    const r = parseManifests("kind: Hardware\nmetadata:\n\tname: b\n", "tabs.yaml");
    expect(lines(r.errors)).toEqual(["tabs.yaml#0: YAML syntax error at line 3, column 1: Tabs are not allowed as indentation"]);
  });

  test("a duplicate key is a syntax error at the second key", () => {
    const r = parseManifests("kind: Hardware\nkind: Template\n", "dup.yaml");
    expect(r.errors.map((e) => e.message)).toEqual(["YAML syntax error at line 2, column 1: Map keys must be unique"]);
  });

  test("a JSON object", () => {
    const json = JSON.stringify({
      apiVersion: "tinkerbell.org/v1alpha1",
      kind: "Hardware",
      metadata: { name: "j" },
      spec: { interfaces: [{ dhcp: { mac: "1C:69:7A:11:22:33" } }] },
    });
    const r = parseManifests(json, "hw.json");
    expect(r.errors).toEqual([]);
    expect(r.manifests[0]!.object.metadata).toEqual({ name: "j", namespace: "default" });
    expect((r.manifests[0]!.object as Hardware).spec.interfaces![0]!.dhcp!.mac).toBe("1c:69:7a:11:22:33");
  });

  test("a JSON array of objects, errors located by index", () => {
    const base = { apiVersion: "tinkerbell.org/v1alpha1", kind: "Template", spec: { data: "x" } };
    const json = JSON.stringify([{ ...base, metadata: { name: "t1" } }, { ...base, metadata: { name: "t2" }, spec: { data: 5 } }], null, "\t");
    const r = parseManifests(json, "t.json");
    expect(r.manifests.map((m) => m.object.metadata.name)).toEqual(["t1"]);
    expect(lines(r.errors)).toEqual(['t.json#0 Template default/t2: [1].spec.data: expected a string, got number 5 (quote it: "5")']);
  });

  test("a kind: List export, with server-set metadata and status dropped", () => {
    const text = `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
  - apiVersion: tinkerbell.org/v1alpha1
    kind: Workflow
    metadata:
      name: wf
      namespace: tink-system
      uid: 0b0e7a4c-1111-2222-3333-444455556666
      resourceVersion: "4242"
      generation: 3
      creationTimestamp: "2026-01-02T03:04:05Z"
      managedFields: [{manager: kubectl}]
      labels: {team: metal}
      annotations: {note: kept}
    spec: {templateRef: tpl, hardwareRef: hw}
    status: {state: STATE_SUCCESS}
`;
    const r = parseManifests(text, "export.yaml");
    expect(r.errors).toEqual([]);
    expect(r.manifests[0]!.object).toEqual({
      apiVersion: "tinkerbell.org/v1alpha1",
      kind: "Workflow",
      metadata: { name: "wf", namespace: "tink-system", labels: { team: "metal" }, annotations: { note: "kept" } },
      spec: { templateRef: "tpl", hardwareRef: "hw" },
    });
    expect(lines(r.warnings)).toEqual(["export.yaml#0 Workflow tink-system/wf: items[0].status: set by Wisp; the given one is ignored"]);
  });

  test("a List whose items is not a list", () => {
    const r = parseManifests("apiVersion: v1\nkind: List\nitems: {a: 1}\n", "l.yaml");
    expect(lines(r.errors)).toEqual(["l.yaml#0: items: expected a list of objects, got an object"]);
  });

  test("the default namespace can be given by the caller", () => {
    const r = parseManifests(hw("a", "1c:69:7a:11:22:33").replace("  namespace: tink-system\n", ""), "f.yaml", { defaultNamespace: "lab" });
    expect(r.manifests[0]!.object.metadata.namespace).toBe("lab");
  });
});

describe("across objects", () => {
  test("the same kind, namespace and name twice names both documents", () => {
    const r = parseManifests(hw("a", "1c:69:7a:11:22:33") + "---\n" + hw("a", "1c:69:7a:11:22:44"), "dup.yaml");
    expect(lines(r.errors)).toEqual(["dup.yaml#1 Hardware tink-system/a: metadata.name: defined twice, at dup.yaml#0 and dup.yaml#1"]);
    expect(r.manifests).toHaveLength(1);
  });

  test("the same name in two namespaces, or for two kinds, is fine", () => {
    const tpl = "apiVersion: tinkerbell.org/v1alpha1\nkind: Template\nmetadata: {name: a, namespace: tink-system}\nspec: {data: x}\n";
    const r = parseManifests([hw("a", "1c:69:7a:11:22:33"), hw("a", "1c:69:7a:11:22:44", "other"), tpl].join("---\n"), "f.yaml");
    expect(r.errors).toEqual([]);
    expect(r.manifests).toHaveLength(3);
  });

  test("one MAC on two Hardware objects, in any notation and namespace", () => {
    const r = parseManifests(hw("a", "1c:69:7a:11:22:33") + "---\n" + hw("b", "1C-69-7A-11-22-33", "other"), "macs.yaml");
    expect(lines(r.errors)).toEqual([
      "macs.yaml#1 Hardware other/b: spec.interfaces[0].dhcp.mac: 1c:69:7a:11:22:33 is also the MAC of Hardware tink-system/a (macs.yaml#0 spec.interfaces[0].dhcp.mac)",
    ]);
  });

  test("one MAC on two interfaces of one Hardware", () => {
    const text = hw("a", "1c:69:7a:11:22:33") + "    - dhcp: {mac: 1c697a112233}\n";
    const r = parseManifests(text, "f.yaml");
    expect(fields(r.errors)).toEqual(["spec.interfaces[1].dhcp.mac"]);
    expect(r.errors[0]!.message).toBe("1c:69:7a:11:22:33 is already the MAC of spec.interfaces[0]");
  });
});
