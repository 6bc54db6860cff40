/**
 * Templates written for Tinkerbell read `.Hardware` as Go structs: Go field names and zero
 * values. Tinkerbell's own playground template must render from a Wisp Hardware exactly as it
 * renders in Tinkerbell (the expected text is the fixture's, checked against Go semantics).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { legacyHardwareData, templateData } from "../../daemon/core/render.ts";
import type { StoredHardware } from "../../daemon/core/types.ts";
import { renderTemplate } from "../../daemon/template/index.ts";
import { manifests } from "../support/core.ts";

const FIXTURES = new URL("../template/fixtures/playground-vagrant/", import.meta.url);

function hardware(arch: string): StoredHardware {
  const [m] = manifests(`apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: machine1}
spec:
  disks: [{device: /dev/vda}]
  interfaces:
    - dhcp:
        mac: "08:00:27:9E:F5:3A"
        arch: ${arch}
        hostname: machine1
        ip: {address: 192.168.56.43, netmask: 255.255.255.0, gateway: 192.168.56.1}
      netboot: {allowPXE: true, allowWorkflow: true}
`);
  const meta = { ...m!.object.metadata, uid: "u", creationTimestamp: "t", resourceVersion: "1" };
  return { ...(m!.object as StoredHardware), metadata: meta };
}

describe("legacy .Hardware view", () => {
  test("Go field names, pointers nil when absent, scalars at their zero value", () => {
    const v = legacyHardwareData(hardware("x86_64")) as unknown as {
      Disks: string[]; Interfaces: { DHCP: Record<string, unknown>; Netboot: Record<string, unknown> }[]; Metadata: Record<string, unknown>;
    };
    expect(v.Disks).toEqual(["/dev/vda"]);
    expect(v.Interfaces[0]!.DHCP).toMatchObject({ MAC: "08:00:27:9e:f5:3a", Arch: "x86_64", Hostname: "machine1", LeaseTime: 0, UEFI: false, VLANID: "" });
    expect(v.Interfaces[0]!.DHCP.IP).toEqual({ Address: "192.168.56.43", Netmask: "255.255.255.0", Gateway: "192.168.56.1", Family: 0 });
    expect(v.Interfaces[0]!.DHCP.NameServers).toBeNull();
    expect(v.Interfaces[0]!.Netboot).toEqual({ AllowPXE: true, AllowWorkflow: true, IPXE: null, OSIE: null });
    expect(v.Metadata).toEqual({ State: "", BondingMode: 0, Manufacturer: null, Instance: null, Custom: null, Facility: null });
  });

  test("a Go-style template reading .Hardware.Metadata.Instance.ID of absent metadata fails like Go (nil pointer)", () => {
    const out = renderTemplate("{{ .Hardware.Metadata.Instance.ID }}", templateData({}, hardware("x86_64")), { name: "t" });
    expect(out.ok).toBe(false);
    const ok = renderTemplate("{{ .Hardware.Metadata.State }}|{{ (index .Hardware.Interfaces 0).DHCP.IP.Address }}", templateData({}, hardware("x86_64")), { name: "t" });
    expect(ok).toEqual({ ok: true, value: "|192.168.56.43" });
  });

  for (const [arch, expected] of [["x86_64", "x86"], ["AArch64", "arm"]] as const) {
    test(`Tinkerbell's playground template renders for ${arch} exactly as the fixture`, () => {
      const manifest = YAML.parse(readFileSync(new URL("manifest.yaml", FIXTURES), "utf8")) as { spec: { data: string } };
      const hw = hardware(arch);
      if (arch !== "x86_64") {
        hw.spec.disks = [{ device: "/dev/disk/by-id/virtio-boot" }];
        hw.spec.interfaces![0]!.dhcp!.mac = "52:54:00:12:34:56";
      }
      const data = templateData({ device_1: hw.spec.interfaces![0]!.dhcp!.mac! }, hw);
      const out = renderTemplate(manifest.spec.data, data, { name: "playground" });
      if (!out.ok) throw new Error(out.error.message);
      expect(out.value).toBe(readFileSync(new URL(`${expected}.expected`, FIXTURES), "utf8"));
    });
  }
});
