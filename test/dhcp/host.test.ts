import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostsFromHardware } from "../../daemon/dhcp/host.ts";
import { encodeHostOptions } from "../../daemon/dhcp/host-options.ts";
import { getOption } from "../../daemon/dhcp/options.ts";
import type { Hardware, HardwareInterface } from "../../daemon/manifest/types.ts";
import { EXAMPLES, manifests } from "../support/core.ts";
import { ip } from "./policy-support.ts";

const hw = (interfaces: HardwareInterface[], agentID?: string): Pick<Hardware, "metadata" | "spec"> => ({
  metadata: { name: "m1", namespace: "lab" },
  spec: { interfaces, ...(agentID ? { agentID } : {}) },
});

describe("hostsFromHardware", () => {
  test("the shared example Hardware", () => {
    const [example] = manifests(readFileSync(new URL("hardware.yaml", EXAMPLES), "utf8"));
    const [host, ...rest] = hostsFromHardware(example!.object as Hardware);
    expect(rest).toEqual([]);
    const { encodedOptions, ...fields } = host!;
    expect(fields).toEqual({
      namespace: "tink-system",
      hardwareName: "nuc-demo",
      mac: "1c:69:7a:11:22:33",
      ip: ip("192.168.1.8"),
      netmask: ip("255.255.255.0"),
      gateway: ip("192.168.1.1"),
      hostname: "nuc-demo",
      leaseTime: 86400,
      nameServers: [ip("1.1.1.1"), ip("8.8.8.8")],
      timeServers: [],
      arch: "x86_64",
      uefi: true,
      routes: [],
      allowPXE: true,
      allowWorkflow: true,
      disableDhcp: false,
    });
    expect(getOption({ options: new Map(encodedOptions) }, 28)).toBe(ip("192.168.1.255"));
  });

  test("every field of an interface", () => {
    const [host] = hostsFromHardware(
      hw(
        [
          {
            dhcp: {
              mac: "AA-BB-CC-00-11-22",
              hostname: "h",
              domain_name: "example.com",
              lease_time: 600,
              name_servers: ["10.0.0.53"],
              time_servers: ["ntp.example.com", "10.0.0.123"],
              arch: "aarch64",
              uefi: true,
              vlan_id: "42",
              ip: { address: "10.0.0.9", netmask: "255.255.0.0", gateway: "10.0.0.1" },
              classless_static_routes: [{ destination_descriptor: "10.9.0.0/16", router: "10.0.0.2" }],
              tftp_server_name: "10.0.0.69",
              boot_file_name: "pxelinux.0",
            },
            netboot: { allowPXE: true, allowWorkflow: false, ipxe: { url: "http://x/y.ipxe", contents: "#!ipxe", binary: "snp.efi" } },
            disableDhcp: true,
          },
        ],
        "agent-7",
      ),
    );
    expect(host).toMatchObject({
      mac: "aa:bb:cc:00:11:22",
      domainName: "example.com",
      leaseTime: 600,
      timeServers: [ip("10.0.0.123")], // names cannot go in option 42
      vlanId: "42",
      routes: [{ destination: "10.9.0.0/16", router: "10.0.0.2" }],
      tftpServerName: "10.0.0.69",
      bootFileName: "pxelinux.0",
      allowWorkflow: false,
      disableDhcp: true,
      ipxe: { url: "http://x/y.ipxe", contents: "#!ipxe", binary: "snp.efi" },
      agentId: "agent-7",
    });
    const options = { options: new Map(host!.encodedOptions) };
    expect([...options.options.keys()]).toEqual([1, 28, 3, 6, 12, 15, 42, 119, 121, 51, 58, 59]);
    expect(getOption(options, 121)).toEqual([
      { destination: ip("10.9.0.0"), prefix: 16, router: ip("10.0.0.2") },
      { destination: 0, prefix: 0, router: ip("10.0.0.1") },
    ]);
  });

  test("one host per interface with a MAC; the first of a repeated MAC wins", () => {
    const list = hostsFromHardware(
      hw([
        { dhcp: { mac: "00:00:00:00:00:01", ip: { address: "10.0.0.1" } } },
        { dhcp: { hostname: "no-mac" } },
        {},
        { dhcp: { mac: "not a mac" } },
        { dhcp: { mac: "00:00:00:00:00:02" } },
        { dhcp: { mac: "00:00:00:00:00:01", ip: { address: "10.0.0.99" } } },
      ]),
    );
    expect(list.map((h) => [h.mac, h.ip])).toEqual([
      ["00:00:00:00:00:01", ip("10.0.0.1")],
      ["00:00:00:00:00:02", undefined],
    ]);
  });

  test("defaults as Tinkerbell: no netboot means allowPXE and allowWorkflow false", () => {
    const [host] = hostsFromHardware(hw([{ dhcp: { mac: "00:00:00:00:00:01" } }]));
    expect(host).toMatchObject({ allowPXE: false, allowWorkflow: false, disableDhcp: false, nameServers: [], routes: [] });
    expect(host!.encodedOptions!.size).toBe(0);
  });

  test("addresses and leases that do not parse are left out", () => {
    const [host] = hostsFromHardware(
      hw([{ dhcp: { mac: "00:00:00:00:00:01", lease_time: -5, name_servers: ["1.1.1", "9.9.9.9"], ip: { address: "10.0.0.256", netmask: "x" } } }]),
    );
    expect(host!.ip).toBeUndefined();
    expect(host!.netmask).toBeUndefined();
    expect(host!.leaseTime).toBeUndefined();
    expect(host!.nameServers).toEqual([ip("9.9.9.9")]);
  });

  test("encoded options equal what the policy would encode itself", () => {
    const [host] = hostsFromHardware(hw([{ dhcp: { mac: "00:00:00:00:00:01", hostname: "a", ip: { address: "10.1.2.3", netmask: "255.255.255.0" } } }]));
    const { encodedOptions, ...fields } = host!;
    expect(encodeHostOptions(fields)).toEqual(encodedOptions!);
  });
});
