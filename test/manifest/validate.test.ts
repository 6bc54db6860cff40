import { describe, expect, test } from "bun:test";
import { formatDiagnostic, type Diagnostic } from "../../daemon/lib/errors.ts";
import { parseManifests, validateManifest } from "../../daemon/manifest/parse.ts";
import type { Hardware, Workflow } from "../../daemon/manifest/types.ts";

const LOC = { source: "hw.yaml", document: 0 };
const V1 = "tinkerbell.org/v1alpha1";

/** A Hardware with one interface whose `dhcp` and `netboot` are the given values. */
function hardware(dhcp: unknown, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: V1, kind: "Hardware", metadata: { name: "nuc-demo", namespace: "tink-system" }, spec: { interfaces: [{ dhcp }], ...extra } };
}
const workflow = (spec: unknown) => ({ apiVersion: V1, kind: "Workflow", metadata: { name: "wf" }, spec });

/** `field: message` of each diagnostic. */
const pairs = (ds: Diagnostic[]) => ds.map((d) => `${d.field}: ${d.message}`);

describe("envelope", () => {
  test("the brief's example line, exactly", () => {
    const r = validateManifest(hardware({ mac: "zz" }), { source: "examples/hardware.yaml", document: 0 });
    expect(r.object).toBeUndefined();
    expect(r.errors.map(formatDiagnostic)).toEqual([
      'examples/hardware.yaml#0 Hardware tink-system/nuc-demo: spec.interfaces[0].dhcp.mac: expected a MAC address like 1c:69:7a:11:22:33, got "zz"',
    ]);
  });

  test("a non-object", () => {
    expect(validateManifest("hello", LOC).errors.map(formatDiagnostic)).toEqual([
      'hw.yaml#0: expected a manifest object with apiVersion, kind, metadata and spec, got string "hello"',
    ]);
  });

  test("wrong apiVersion names the field and what was expected", () => {
    const r = validateManifest({ ...(hardware({}) as object), apiVersion: "tinkerbell.org/v1alpha2" }, LOC);
    expect(pairs(r.errors)).toEqual(['apiVersion: expected "tinkerbell.org/v1alpha1" for kind Hardware, got string "tinkerbell.org/v1alpha2"']);
  });

  test("missing apiVersion", () => {
    const { apiVersion: _, ...rest } = hardware({}) as Record<string, unknown>;
    expect(pairs(validateManifest(rest, LOC).errors)).toEqual(['apiVersion: required field is missing; expected "tinkerbell.org/v1alpha1"']);
  });

  test("unknown kind names it, suggests, and lists the accepted ones", () => {
    const r = validateManifest({ apiVersion: V1, kind: "hardware", metadata: { name: "x" } }, LOC);
    expect(pairs(r.errors)).toEqual([
      'kind: unknown kind "hardware" (did you mean Hardware?); Wisp accepts Hardware, Template and Workflow (tinkerbell.org/v1alpha1), Machine and Job (bmc.tinkerbell.org/v1alpha1) and Secret (v1)',
    ]);
    expect(pairs(validateManifest({ apiVersion: V1, kind: "Pod", metadata: { name: "x" } }, LOC).errors)).toEqual([
      'kind: unknown kind "Pod"; Wisp accepts Hardware, Template and Workflow (tinkerbell.org/v1alpha1), Machine and Job (bmc.tinkerbell.org/v1alpha1) and Secret (v1)',
    ]);
  });

  test("missing kind", () => {
    expect(pairs(validateManifest({ apiVersion: V1, metadata: { name: "x" } }, LOC).errors)).toEqual([
      "kind: required field is missing; Wisp accepts Hardware, Template and Workflow (tinkerbell.org/v1alpha1), Machine and Job (bmc.tinkerbell.org/v1alpha1) and Secret (v1)",
    ]);
  });

  test("BMC kinds and Secret are taken with their own apiVersion; Task is refused with what to do instead", () => {
    const cases: [string, string, string][] = [
      ["bmc.tinkerbell.org/v1alpha1", "Machine", "spec.connection: required field is missing"],
      ["bmc.tinkerbell.org/v1alpha1", "Job", "spec.machineRef: required field is missing"],
    ];
    for (const [apiVersion, kind, first] of cases) {
      expect(pairs(validateManifest({ apiVersion, kind, metadata: { name: "x" } }, LOC).errors)[0]).toEqual(first);
    }
    expect(validateManifest({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }, LOC).errors).toEqual([]);
    expect(pairs(validateManifest({ apiVersion: "bmc.tinkerbell.org/v1alpha1", kind: "Task", metadata: { name: "x" } }, LOC).errors)).toEqual([
      `kind: Task (bmc.tinkerbell.org/v1alpha1) is not applied in Wisp: a Job runs its spec.tasks itself and shows each step in its status; apply a Job; ${"Wisp accepts Hardware, Template and Workflow (tinkerbell.org/v1alpha1), Machine and Job (bmc.tinkerbell.org/v1alpha1) and Secret (v1)"}`,
    ]);
  });

  test("missing metadata or name names metadata.name", () => {
    expect(pairs(validateManifest({ apiVersion: V1, kind: "Template", spec: { data: "x" } }, LOC).errors)).toEqual([
      "metadata.name: required field is missing (expected a string)",
    ]);
    expect(pairs(validateManifest({ apiVersion: V1, kind: "Template", metadata: { namespace: "a" }, spec: { data: "x" } }, LOC).errors)).toEqual([
      "metadata.name: required field is missing (expected a string)",
    ]);
  });

  test("names must be DNS-1123 subdomains, namespaces labels", () => {
    const bad = (metadata: unknown) => pairs(validateManifest({ apiVersion: V1, kind: "Template", metadata, spec: { data: "x" } }, LOC).errors);
    expect(bad({ name: "Nuc_Demo" })[0]).toStartWith("metadata.name: expected a name of lower-case letters, digits, '-' and '.'");
    expect(bad({ name: "a".repeat(254) })).toHaveLength(1);
    expect(bad({ name: "-a" })).toHaveLength(1);
    expect(bad({ name: "a." })).toHaveLength(1);
    expect(bad({ name: "a.b-c.d9" })).toEqual([]);
    expect(bad({ name: "x", namespace: "a.b" })[0]).toStartWith("metadata.namespace: expected a namespace of lower-case letters, digits and '-'");
    expect(bad({ name: "x", namespace: "a".repeat(64) })).toHaveLength(1);
    expect(bad({ name: 5 })).toEqual(['metadata.name: expected a string, got number 5 (quote it: "5")']);
  });

  test("namespace defaults to default", () => {
    const r = validateManifest({ apiVersion: V1, kind: "Template", metadata: { name: "t" }, spec: { data: "x" } }, LOC);
    expect(r.object!.metadata).toEqual({ name: "t", namespace: "default" });
  });

  test("unknown top-level and metadata fields are kept, with a warning", () => {
    const r = validateManifest({ apiVersion: V1, kind: "Template", metadata: { name: "t", lables: { a: "b" } }, spec: { data: "x" }, specs: {} }, LOC);
    expect(r.errors).toEqual([]);
    expect(pairs(r.warnings)).toEqual(['metadata.lables: unknown field, ignored; did you mean "labels"?', 'specs: unknown field, ignored; did you mean "spec"?']);
    expect(r.object).toMatchObject({ metadata: { lables: { a: "b" } }, specs: {} });
  });

  test("the input is not modified", () => {
    const input = hardware({ mac: "1C:69:7A:11:22:33" });
    const before = JSON.stringify(input);
    validateManifest(input, LOC);
    expect(JSON.stringify(input)).toBe(before);
  });

  test("a __proto__ key stays an own field and does not change the prototype", () => {
    const input = JSON.parse(`{"apiVersion":"${V1}","kind":"Template","metadata":{"name":"t","labels":{"__proto__":"x"}},"spec":{"data":"x"},"__proto__":{"polluted":true}}`);
    const r = validateManifest(input, LOC);
    expect(r.errors).toEqual([]);
    expect(Object.getPrototypeOf(r.object)).toBe(Object.prototype);
    expect(Object.hasOwn(r.object!, "__proto__")).toBe(true);
    expect(Object.hasOwn(r.object!.metadata.labels!, "__proto__")).toBe(true);
    expect(pairs(r.warnings)).toEqual(["__proto__: unknown field, ignored"]);
  });
});

describe("Hardware fields", () => {
  const errs = (dhcp: unknown, extra?: Record<string, unknown>) => pairs(validateManifest(hardware(dhcp, extra), LOC).errors);
  const D = "spec.interfaces[0].dhcp";

  test("types, each with its path and what was expected", () => {
    expect(errs({ lease_time: "abc" })).toEqual([`${D}.lease_time: expected an integer, got string "abc"`]);
    expect(errs({ lease_time: -1 })).toEqual([`${D}.lease_time: expected an integer from 0 to 4294967295, got -1`]);
    expect(errs({ lease_time: 1.5 })).toEqual([`${D}.lease_time: expected an integer, got number 1.5`]);
    expect(errs({ uefi: "yes" })).toEqual([`${D}.uefi: expected true or false, got string "yes" (write true or false without quotes)`]);
    expect(errs({ hostname: ["a"] })).toEqual([`${D}.hostname: expected a string, got a list`]);
    expect(errs({ name_servers: "1.1.1.1" })).toEqual([`${D}.name_servers: expected a list, got string "1.1.1.1"`]);
    expect(errs({ ip: "10.0.0.1" })).toEqual([`${D}.ip: expected an object, got string "10.0.0.1"`]);
    expect(errs({ ip: { family: 5 } })).toEqual([`${D}.ip.family: expected one of 4, 6, got 5`]);
    expect(errs({ vlan_id: 100 })).toEqual([`${D}.vlan_id: expected a string, got number 100 (quote it: "100")`]);
    expect(errs({ vlan_id: "4097" })).toEqual([`${D}.vlan_id: expected a VLAN id from 0 to 4096 (or a comma-separated list), got "4097"`]);
    expect(errs({ vlan_id: "10,20" })).toEqual([]);
    expect(pairs(validateManifest({ ...(hardware({}) as object), spec: [] }, LOC).errors)).toEqual(["spec: expected an object, got a list"]);
    expect(errs({}, { interfaces: {} })).toEqual(["spec.interfaces: expected a list, got an object"]);
    expect(errs({}, { disks: [{ device: 1 }] })).toEqual(['spec.disks[0].device: expected a string, got number 1 (quote it: "1")']);
    expect(errs({}, { metadata: { instance: { storage: { disks: [{ partitions: [{ size: "10G" }] }] } } } })).toEqual([
      'spec.metadata.instance.storage.disks[0].partitions[0].size: expected an integer, got string "10G"',
    ]);
    expect(errs({}, { metadata: { instance: { ssh_keys: [1] } } })).toEqual(['spec.metadata.instance.ssh_keys[0]: expected a string, got number 1 (quote it: "1")']);
  });

  test("MACs in any notation are normalised; bad ones are errors", () => {
    for (const mac of ["1C:69:7A:11:22:33", "1c-69-7a-11-22-33", "1C69.7A11.2233", "1c697a112233"]) {
      const r = validateManifest(hardware({ mac }), LOC);
      expect((r.object as Hardware).spec.interfaces![0]!.dhcp!.mac).toBe("1c:69:7a:11:22:33");
    }
    expect(errs({ mac: "1c:69:7a:11:22" })).toEqual([`${D}.mac: expected a MAC address like 1c:69:7a:11:22:33, got "1c:69:7a:11:22"`]);
    expect(errs({ mac: 1 })).toEqual([`${D}.mac: expected a string, got number 1 (quote it: "1")`]);
  });

  test("IPv4 addresses and contiguous netmasks", () => {
    expect(errs({ ip: { address: "192.168.1.256" } })).toEqual([`${D}.ip.address: expected an IPv4 address like 192.168.1.8, got "192.168.1.256"`]);
    expect(errs({ ip: { address: "192.168.01.1" } })).toHaveLength(1);
    expect(errs({ ip: { gateway: "gw" } })).toHaveLength(1);
    expect(errs({ ip: { netmask: "255.0.255.0" } })).toEqual([
      `${D}.ip.netmask: netmask 255.0.255.0 is not contiguous (ones must precede zeros, like 255.255.255.0)`,
    ]);
    expect(errs({ ip: { netmask: "/24" } })).toEqual([`${D}.ip.netmask: expected a netmask like 255.255.255.0, got "/24"`]);
    expect(errs({ name_servers: ["1.1.1.1", "dns.example"] })).toEqual([`${D}.name_servers[1]: expected an IPv4 address like 192.168.1.8, got "dns.example"`]);
    expect(errs({ classless_static_routes: [{ destination_descriptor: "10.0.0.0/33", router: "10.0.0.1" }] })).toEqual([
      `${D}.classless_static_routes[0].destination_descriptor: expected a network like 10.0.0.0/8, got "10.0.0.0/33"`,
    ]);
    expect(errs({ classless_static_routes: [{ destination_descriptor: "10.0.0.0/8" }] })).toEqual([
      `${D}.classless_static_routes[0].router: required field is missing (expected a string)`,
    ]);
  });

  test("instance IPs may be IPv6", () => {
    const ips = [{ address: "2001:db8::8", netmask: "ffff:ffff:ffff:ffff::", gateway: "2001:db8::1", family: 6 }];
    expect(errs({}, { metadata: { instance: { ips } } })).toEqual([]);
    expect(errs({}, { metadata: { instance: { ips: [{ netmask: "ffff::ffff" }] } } })).toEqual([
      "spec.metadata.instance.ips[0].netmask: netmask ffff::ffff is not contiguous (ones must precede zeros)",
    ]);
  });

  test("a gateway outside the subnet is a warning", () => {
    const r = validateManifest(hardware({ ip: { address: "10.0.0.5", netmask: "255.255.255.0", gateway: "10.0.1.1" } }), LOC);
    expect(r.errors).toEqual([]);
    expect(pairs(r.warnings)).toEqual([`${D}.ip.gateway: gateway 10.0.1.1 is outside 10.0.0.5/255.255.255.0`]);
  });

  test("tftp_server_name and boot_file_name go together", () => {
    expect(errs({ tftp_server_name: "10.0.0.1" })).toEqual([`${D}.boot_file_name: tftp_server_name and boot_file_name must be given together`]);
    expect(errs({ tftp_server_name: "10.0.0.1", boot_file_name: "ipxe.efi" })).toEqual([]);
  });

  test("URLs", () => {
    const netboot = (n: unknown) => pairs(validateManifest({ ...(hardware({}) as object), spec: { interfaces: [{ netboot: n }] } }, LOC).errors);
    expect(netboot({ osie: { baseURL: "10.0.0.1/hook" } })).toEqual([
      'spec.interfaces[0].netboot.osie.baseURL: expected an absolute http or https URL, got "10.0.0.1/hook"',
    ]);
    expect(netboot({ ipxe: { url: "tftp://10.0.0.1/auto.ipxe" }, osie: { baseURL: "http://10.0.0.1:8080", kernelParams: ["console=ttyS0"] } })).toEqual([]);
  });

  test("near misses of Tinkerbell's exact case are warnings that suggest the right name", () => {
    const r = validateManifest(
      { ...(hardware({ mac: "1c:69:7a:11:22:33", leaseTime: 60, macAddress: "x" }) as object), spec: { interfaces: [{ dhcp: { leaseTime: 60, macAddress: "x" }, netboot: { allowPxe: true, allowworkflow: false } }], agentId: "a", userdata: "#cloud-config" } },
      LOC,
    );
    expect(r.errors).toEqual([]);
    expect(pairs(r.warnings)).toEqual([
      'spec.interfaces[0].dhcp.leaseTime: unknown field, ignored; did you mean "lease_time"?',
      'spec.interfaces[0].dhcp.macAddress: unknown field, ignored; did you mean "mac"?',
      'spec.interfaces[0].netboot.allowPxe: unknown field, ignored; did you mean "allowPXE"?',
      'spec.interfaces[0].netboot.allowworkflow: unknown field, ignored; did you mean "allowWorkflow"?',
      'spec.agentId: unknown field, ignored; did you mean "agentID"?',
      'spec.userdata: unknown field, ignored; did you mean "userData"?',
    ]);
    // Kept as written: the warning is the only effect.
    expect((r.object as Hardware).spec.interfaces![0]!.netboot).toEqual({ allowPxe: true, allowworkflow: false } as never);
  });

  test("Tinkerbell fields Wisp does not act on yet are kept with a warning", () => {
    const r = validateManifest({ ...(hardware({}) as object), spec: { interfaces: [{ netboot: { pxelinux: { config: "x" } } }] } }, LOC);
    expect(pairs(r.warnings)).toEqual(["spec.interfaces[0].netboot.pxelinux: not supported by Wisp yet (PXELINUX boot); kept, but has no effect"]);
  });

  test("explicit nulls read as unset", () => {
    const r = validateManifest(hardware({ mac: "1c:69:7a:11:22:33", hostname: null }, { disks: null }), LOC);
    expect(r.errors).toEqual([]);
    expect((r.object as Hardware).spec).toEqual({ interfaces: [{ dhcp: { mac: "1c:69:7a:11:22:33" } }] });
  });
});

describe("Template and Workflow fields", () => {
  test("Template spec.data is required and a string", () => {
    const t = (spec: unknown) => pairs(validateManifest({ apiVersion: V1, kind: "Template", metadata: { name: "t" }, spec }, LOC).errors);
    expect(t({})).toEqual(["spec.data: required field is missing (expected a string)"]);
    expect(t(undefined)).toEqual(["spec.data: required field is missing (expected a string)"]);
    expect(t({ data: { version: "0.1" } })).toEqual(["spec.data: expected a string, got an object"]);
  });

  test("Workflow fields", () => {
    const w = (spec: unknown) => pairs(validateManifest(workflow(spec), LOC).errors);
    expect(w({ hardwareRef: "hw" })).toEqual(["spec.templateRef: required field is missing (expected a string)"]);
    expect(w({ templateRef: "t", hardwareMap: { device_1: 1 } })).toEqual(['spec.hardwareMap.device_1: expected a string, got number 1 (quote it: "1")']);
    expect(w({ templateRef: "t", hardwareMap: ["a"] })).toEqual(["spec.hardwareMap: expected an object, got a list"]);
    expect(w({ templateRef: "t", disabled: "no" })).toEqual(['spec.disabled: expected true or false, got string "no" (write true or false without quotes)']);
    expect(w({ templateRef: "t", bootOptions: { bootMode: "netbot" } })).toEqual([
      'spec.bootOptions.bootMode: expected one of netboot, isoboot, customboot, got "netbot"; did you mean "netboot"?',
    ]);
    expect(w({ templateRef: "t", bootOptions: { toggleAllowNetboot: 1 } })).toEqual(["spec.bootOptions.toggleAllowNetboot: expected true or false, got number 1"]);
    expect(w({ templateRef: "t", bootOptions: { bootMode: "isoboot", isoURL: "ftp://x/a.iso" } })).toEqual([
      'spec.bootOptions.isoURL: expected an absolute http or https URL, got "ftp://x/a.iso"',
    ]);
    expect(w({ templateRef: "Ubuntu" })[0]).toStartWith("spec.templateRef: expected a name of lower-case letters");
  });

  test("bootMode iso (Tinkerbell's older spelling) is stored as isoboot", () => {
    const r = validateManifest(workflow({ templateRef: "t", bootOptions: { bootMode: "iso", isoURL: "http://x/a.iso" } }), LOC);
    expect((r.object as Workflow).spec.bootOptions!.bootMode).toBe("isoboot");
    expect(pairs(r.warnings)).toEqual(['spec.bootOptions.bootMode: "iso" is an older name for "isoboot"; stored as "isoboot"']);
  });

  test("a workflow's status on input is ignored with a warning", () => {
    const r = parseManifests(`apiVersion: ${V1}\nkind: Workflow\nmetadata: {name: wf}\nspec: {templateRef: t}\nstatus: {state: STATE_RUNNING}\n`, "wf.yaml");
    expect(r.manifests[0]!.object).not.toHaveProperty("status");
    expect(r.warnings.map(formatDiagnostic)).toEqual(["wf.yaml#0 Workflow default/wf: status: set by Wisp; the given one is ignored"]);
  });
});
