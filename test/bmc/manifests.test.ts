/** BMC manifests (Rufio's Machine and Job, v1 Secret): accepted as users write them, errors naming the field, values of Secrets never echoed. */
import { describe, expect, test } from "bun:test";
import { formatDiagnostic } from "../../daemon/lib/errors.ts";
import { parseManifests, validateManifest } from "../../daemon/manifest/parse.ts";
import type { Job, Machine, Secret } from "../../daemon/manifest/types.ts";

const PASSWORD = "s3cr3t-Pa55word!";

const MACHINE = `apiVersion: bmc.tinkerbell.org/v1alpha1
kind: Machine
metadata: { name: m1, namespace: tink-system }
spec:
  connection:
    host: 10.1.2.3
    port: 623
    authSecretRef: { name: bmc-creds, namespace: tink-system }
    insecureTLS: true
    providerOptions:
      preferredOrder: [gofish, ipmitool]
      ipmitool: { port: 6230, cipherSuite: "3" }
      redfish: { port: 8443 }
`;

const JOB = `apiVersion: bmc.tinkerbell.org/v1alpha1
kind: Job
metadata: { name: j1, namespace: tink-system }
spec:
  machineRef: { name: m1, namespace: tink-system }
  tasks:
    - powerAction: "off"
    - oneTimeBootDeviceAction: { device: [pxe], efiBootMode: true }
    - powerAction: "on"
      timeout: 30
      retries: 1
    - virtualMediaAction: { mediaURL: "http://10.1.1.1/boot.iso", kind: CD }
`;

function parse(text: string) {
  return parseManifests(text, "bmc.yaml");
}

function errorsOf(text: string): string[] {
  return parse(text).errors.map(formatDiagnostic);
}

describe("Machine", () => {
  test("Rufio's fields are kept; gofish is read as redfish", () => {
    const r = parse(MACHINE);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const m = r.manifests[0]!.object as Machine;
    expect(m.kind).toBe("Machine");
    expect(m.spec.connection?.providerOptions?.preferredOrder).toEqual(["redfish", "ipmitool"]);
    expect(m.spec.connection?.providerOptions?.ipmitool).toEqual({ port: 6230, cipherSuite: "3" });
    expect(m.spec.connection?.authSecretRef).toEqual({ name: "bmc-creds", namespace: "tink-system" });
  });

  test("errors name the field", () => {
    expect(errorsOf(MACHINE.replace("    host: 10.1.2.3\n", ""))).toEqual(["bmc.yaml#0 Machine tink-system/m1: spec.connection.host: required field is missing (expected a string)"]);
    expect(errorsOf(MACHINE.replace("port: 623", "port: 70000"))).toEqual(["bmc.yaml#0 Machine tink-system/m1: spec.connection.port: expected an integer from 1 to 65535, got 70000"]);
    expect(errorsOf(MACHINE.replace("[gofish, ipmitool]", "[ipmi]"))[0]).toContain("spec.connection.providerOptions.preferredOrder[0]: expected one of ipmitool, redfish (or Rufio's gofish), got \"ipmi\"");
    expect(errorsOf(MACHINE.replace('cipherSuite: "3"', "cipherSuite: three"))[0]).toContain("spec.connection.providerOptions.ipmitool.cipherSuite: expected a cipher suite number");
    expect(errorsOf(MACHINE.replace("bmc.tinkerbell.org/v1alpha1", "tinkerbell.org/v1alpha1"))[0]).toContain(
      'apiVersion: expected "bmc.tinkerbell.org/v1alpha1" for kind Machine, got string "tinkerbell.org/v1alpha1"',
    );
    expect(errorsOf(MACHINE.replace("authSecretRef: { name: bmc-creds, namespace: tink-system }", "authSecretRef: { namespace: tink-system }"))[0]).toContain(
      "spec.connection.authSecretRef.name: required field is missing",
    );
  });

  test("a misspelt field is a warning with a suggestion", () => {
    const r = parse(MACHINE.replace("insecureTLS", "insecureTls"));
    expect(r.errors).toEqual([]);
    expect(r.warnings.map(formatDiagnostic)).toEqual(['bmc.yaml#0 Machine tink-system/m1: spec.connection.insecureTls: unknown field, ignored; did you mean "insecureTLS"?']);
  });
});

describe("Job", () => {
  test("tasks in order, Wisp's timeout and retries", () => {
    const r = parse(JOB);
    expect(r.errors).toEqual([]);
    const j = r.manifests[0]!.object as Job;
    expect(j.spec.tasks).toEqual([
      { powerAction: "off" },
      { oneTimeBootDeviceAction: { device: ["pxe"], efiBootMode: true } },
      { powerAction: "on", timeout: 30, retries: 1 },
      { virtualMediaAction: { mediaURL: "http://10.1.1.1/boot.iso", kind: "CD" } },
    ]);
  });

  test("errors name the task", () => {
    expect(errorsOf(JOB.replace('powerAction: "off"', 'powerAction: "offf"'))[0]).toContain('spec.tasks[0].powerAction: expected one of on, off, soft, cycle, reset, status, got "offf"; did you mean "off"?');
    expect(errorsOf(JOB.replace("device: [pxe]", "device: [network]"))[0]).toContain("spec.tasks[1].oneTimeBootDeviceAction.device[0]: expected one of pxe, disk, bios, cdrom");
    expect(errorsOf(JOB.replace("device: [pxe]", "device: [pxe, disk]"))[0]).toContain("spec.tasks[1].oneTimeBootDeviceAction.device: expected one device, got 2");
    expect(errorsOf(JOB.replace('    - powerAction: "off"\n', '    - powerAction: "off"\n      oneTimeBootDeviceAction: { device: [pxe] }\n'))[0]).toContain(
      "spec.tasks[0]: expected exactly one action, got powerAction and oneTimeBootDeviceAction",
    );
    expect(errorsOf(JOB.replace("timeout: 30", "timeout: 0"))[0]).toContain("spec.tasks[2].timeout: expected an integer from 1 to 3600, got 0");
    expect(errorsOf(JOB.replace("  machineRef: { name: m1, namespace: tink-system }\n", ""))[0]).toContain("spec.machineRef: required field is missing");
    expect(errorsOf(JOB.replace(/  tasks:[\s\S]*/, "  tasks: []\n"))[0]).toContain("spec.tasks: expected at least one task");
  });

  test("Task is refused with what to do instead", () => {
    const errors = errorsOf("apiVersion: bmc.tinkerbell.org/v1alpha1\nkind: Task\nmetadata: { name: t }\nspec: { task: { powerAction: 'on' } }\n");
    expect(errors[0]).toContain("kind: Task (bmc.tinkerbell.org/v1alpha1) is not applied in Wisp");
    expect(errors[0]).toContain("apply a Job");
  });
});

describe("Secret", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");

  test("stringData and base64 data, decoded; stringData wins", () => {
    const r = parse(`apiVersion: v1
kind: Secret
metadata: { name: bmc-creds, namespace: tink-system }
type: kubernetes.io/basic-auth
data:
  username: ${b64("admin")}
  password: ${b64("wrong")}
stringData:
  password: "${PASSWORD}"
`);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const s = r.manifests[0]!.object as Secret;
    expect(s.type).toBe("kubernetes.io/basic-auth");
    expect(s.stringData).toEqual({ username: "admin", password: PASSWORD });
    // Checking the checked object again gives the same (apply validates what the parser gave it).
    const again = validateManifest(s, { source: "again", document: 0 });
    expect(again.errors).toEqual([]);
    expect(again.warnings).toEqual([]);
    expect(again.object).toEqual(s);
  });

  test("errors name the key and never show the value", () => {
    const cases = [
      `data:\n  password: "${PASSWORD}"\n`, // not base64
      `stringData:\n  password: 12345${PASSWORD.length}\n`, // a number, not a string
      `data:\n  "bad key!": ${b64(PASSWORD)}\n`,
    ];
    const expected = [
      "bmc.yaml#0 Secret default/c: data.password: expected base64 (data holds base64; put plain text in stringData); the value is not shown",
      "bmc.yaml#0 Secret default/c: stringData.password: expected a string (quote it), got number",
      "bmc.yaml#0 Secret default/c: data[\"bad key!\"]: expected a key of letters, digits, '-', '_' and '.', got \"bad key!\"",
    ];
    for (const [i, body] of cases.entries()) {
      const r = parse(`apiVersion: v1\nkind: Secret\nmetadata: { name: c }\n${body}`);
      const text = JSON.stringify(r);
      expect(r.errors.map(formatDiagnostic)).toEqual([expected[i]!]);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(b64(PASSWORD));
    }
  });

  test("a Secret written as v1 only", () => {
    expect(errorsOf("apiVersion: tinkerbell.org/v1alpha1\nkind: Secret\nmetadata: { name: c }\nstringData: { username: a }\n")[0]).toContain(
      'apiVersion: expected "v1" for kind Secret',
    );
  });
});

test("a Workflow's diskBootOnSuccess is a known boot option", () => {
  const r = parse(`apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata: { name: wf }
spec:
  templateRef: t
  hardwareRef: h
  bootOptions: { bootMode: netboot, toggleAllowNetboot: true, diskBootOnSuccess: true }
`);
  expect(r.errors).toEqual([]);
  expect(r.warnings).toEqual([]);
});
