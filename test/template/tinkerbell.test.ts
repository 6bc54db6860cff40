/**
 * Tinkerbell's functions: formatPartition, netmaskToPrefixLength, toYaml, fromYaml — the cases
 * of Tinkerbell's own tests, plus the non-contiguous netmask Wisp refuses.
 */
import { describe, expect, test } from "bun:test";
import YAML from "yaml";
import { formatPartition, netmaskToPrefixLength } from "../../daemon/template/funcs-tinkerbell.ts";
import { fails, render, renderError, renders } from "./support.ts";

describe("formatPartition", () => {
  test.each([
    ["/dev/disk/by-id/foobar", 1, "/dev/disk/by-id/foobar-part1"],
    ["/dev/disk/other", 2, "/dev/disk/other-part2"],
    ["/dev/nvme0n1", 1, "/dev/nvme0n1p1"],
    ["/dev/nvme0n1", 5, "/dev/nvme0n1p5"],
    ["/dev/sda", 1, "/dev/sda1"],
    ["/dev/sda", 2, "/dev/sda2"],
    ["/dev/vda", 3, "/dev/vda3"],
    ["/dev/loop0", 3, "/dev/loop0p3"],
    ["/dev/loop", 4, "/dev/loop4"],
    ["/dev/mmcblk0", 1, "/dev/mmcblk0p1"],
  ] as const)("%s, %d -> %s", (dev, n, want) => {
    expect(formatPartition(dev, n)).toBe(want);
    expect(render(`{{ formatPartition "${dev}" ${n} }}`)).toBe(want);
  });

  renders([
    ["from legacy Hardware disks", "{{ formatPartition ( index .Hardware.Disks 0 ) 1 }}", { Hardware: { Disks: ["/dev/nvme0n1"] } }, "/dev/nvme0n1p1"],
    ["from the Hardware object", "{{ formatPartition (index .hardware.spec.disks 0).device 2 }}", { hardware: { spec: { disks: [{ device: "/dev/sda" }] } } }, "/dev/sda2"],
    ["with the partition piped in", '{{ 3 | formatPartition "/dev/sdb" }}', {}, "/dev/sdb3"],
  ]);

  fails([
    ["a string partition number", '{{ formatPartition "/dev/sda" "1" }}', {}, "wrong type for value; expected int; got string"],
    ["a missing disk", "{{ formatPartition (index .Hardware.Disks 0) 1 }}", { Hardware: { Disks: [] } }, "error calling index: index out of range: 0"],
  ]);
});

describe("netmaskToPrefixLength", () => {
  test.each([
    ["255.255.255.0", "24"],
    ["255.255.0.0", "16"],
    ["255.0.0.0", "8"],
    ["255.255.255.255", "32"],
    ["0.0.0.0", "0"],
    ["255.255.255.240", "28"],
    ["255.255.255.252", "30"],
    ["255.255.254.0", "23"],
  ])("%s -> %s", (mask, want) => {
    expect(netmaskToPrefixLength(mask)).toBe(want);
    expect(render(`{{ netmaskToPrefixLength "${mask}" }}`)).toBe(want);
  });

  test.each([
    ["invalid", "invalid netmask format: invalid"],
    ["", "invalid netmask format: "],
    ["255.255.255", "invalid netmask format: 255.255.255"],
    ["256.255.255.0", "invalid netmask format: 256.255.255.0"],
    ["255.255.255.000", "invalid netmask format: 255.255.255.000"],
    ["::1", "netmask must be IPv4: ::1"],
    ["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "netmask must be IPv4: 2001:0db8:85a3:0000:0000:8a2e:0370:7334"],
    ["255.0.255.0", "netmask is not contiguous: 255.0.255.0"],
    ["255.255.255.1", "netmask is not contiguous: 255.255.255.1"],
  ])("%p is refused", (mask, want) => {
    expect(renderError(`{{ netmaskToPrefixLength "${mask}" }}`).message).toEndWith(`error calling netmaskToPrefixLength: ${want}`);
  });

  renders([
    ["from the hardware's DHCP netmask", "{{ .ip.address }}/{{ netmaskToPrefixLength .ip.netmask }}", { ip: { address: "192.168.1.8", netmask: "255.255.255.0" } }, "192.168.1.8/24"],
    ["a string result, as Tinkerbell's", '{{ eq (netmaskToPrefixLength "255.255.255.0") "24" }}', {}, "true"],
  ]);
});

describe("toYaml", () => {
  renders([
    ["a map, keys sorted, lists at the key's indent", '{{ toYaml (dict "name" "bob" "age" 25 "tags" (list "a" "b")) }}', {}, "age: 25\nname: bob\ntags:\n- a\n- b"],
    ["nested maps", "{{ .p | toYaml }}", { p: { person: { name: "alice", address: { city: "wonderland" } } } }, "person:\n  address:\n    city: wonderland\n  name: alice"],
    ["a list", '{{ toYaml (list "a" "b" "c") }}', {}, "- a\n- b\n- c"],
    ["nil", "{{ toYaml nil }}", {}, "null"],
    ["an empty map", "{{ toYaml (dict) }}", {}, "{}"],
    ["a string", '{{ toYaml "hello" }}', {}, "hello"],
    ["a string that needs quotes", '{{ toYaml "yes: no" }}', {}, '"yes: no"'],
    ["floats and ints", "{{ toYaml (list 1 1.5 (float64 2)) }}", {}, "- 1\n- 1.5\n- 2"],
    ["nindent into a block", 'CONFIG: |{{ .c | toYaml | nindent 2 }}', { c: { k: "v" } }, "CONFIG: |\n  k: v"],
  ]);

  test("round trips through fromYaml", () => {
    const data = { x: { name: "test", items: ["one", "two"], n: 3, nested: { t: true } } };
    expect(render("{{ $y := toYaml .x }}{{ $back := fromYaml $y }}{{ toJson $back }}", data)).toBe(JSON.stringify({ items: ["one", "two"], n: 3, name: "test", nested: { t: true } }));
  });

  test("a long string is not folded", () => {
    const long = "word ".repeat(40).trim();
    expect(YAML.parse(render("{{ toYaml (dict \"k\" .s) }}", { s: long }))).toEqual({ k: long });
    expect(render("{{ toYaml (dict \"k\" .s) }}", { s: long })).not.toContain("\n ");
  });
});

describe("fromYaml", () => {
  renders([
    ["a map", "{{ $m := fromYaml .y }}{{ $m.name }}", { y: "name: alice\nage: 30" }, "alice"],
    ["a field of the result", "{{ (fromYaml .references.yamlConfig).hostname }}", { references: { yamlConfig: "hostname: worker-1\nip: 192.168.1.10" } }, "worker-1"],
    ["a list", '{{ len (fromYaml "- a\\n- b\\n- c") }}', {}, "3"],
    ["numbers", '{{ (fromYaml "n: 25").n }} {{ (fromYaml "f: 2.5").f }}', {}, "25 2.5"],
  ]);
  fails([
    ["empty input", '{{ fromYaml "" }}', {}, "error calling fromYaml: fromYaml: empty YAML input"],
    ["invalid YAML", "{{ fromYaml .y }}", { y: ":\n  :\n  - :\n  invalid:: yaml:: content" }, "error calling fromYaml: fromYaml: "],
  ]);
});

describe("functions Tinkerbell leaves out", () => {
  test.each(["env", "expandenv", "getHostByName", "now", "randAlpha", "uuidv4"])("%s is not defined", (fn) => {
    expect(renderError(`{{ ${fn} "x" }}`).message).toBe(`template: t:1:4: function "${fn}" not defined`);
  });
});
