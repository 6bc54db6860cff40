/** `wisp bmc` arguments -> the one-step Job it creates; bad ones are one-line errors. */
import { expect, test } from "bun:test";
import { bmcTask } from "../../cli/bmc.ts";
import { parseArgs } from "../../cli/main.ts";

const none = { efi: false, persistent: false };

test("power and bootdev become Rufio's actions (persistent: Wisp's bootDeviceAction)", () => {
  expect(bmcTask(["power", "soft", "m1"], none)).toEqual({ machine: "m1", task: { powerAction: "soft" }, verb: "power-soft" });
  expect(bmcTask(["power", "status", "m1"], none).task).toEqual({ powerAction: "status" });
  expect(bmcTask(["bootdev", "pxe", "m1"], { efi: true, persistent: false }).task).toEqual({ oneTimeBootDeviceAction: { device: ["pxe"], efiBootMode: true } });
  expect(bmcTask(["bootdev", "disk", "m1"], { efi: false, persistent: true }).task).toEqual({ bootDeviceAction: { device: "disk", efiBootMode: false, persistent: true } });
  expect(parseArgs(["bmc", "bootdev", "pxe", "m1", "--efi", "--persistent"])).toMatchObject({ positional: ["bmc", "bootdev", "pxe", "m1"], efi: true, persistent: true });
});

test("bad arguments say what was expected", () => {
  expect(() => bmcTask(["power", "up", "m1"], none)).toThrow('wisp bmc power: expected one of on, off, soft, cycle, reset, status, got "up"');
  expect(() => bmcTask(["power", "on"], none)).toThrow("wisp bmc power: missing MACHINE");
  expect(() => bmcTask(["bootdev", "usb", "m1"], none)).toThrow('wisp bmc bootdev: expected one of pxe, disk, bios, cdrom, got "usb"');
  expect(() => bmcTask(["power", "on", "m1"], { efi: true, persistent: false })).toThrow("--efi and --persistent go with wisp bmc bootdev");
  expect(() => bmcTask(["power", "on", "m1", "m2"], none)).toThrow("unexpected arguments: m2");
  expect(() => bmcTask(["reboot", "m1"], none)).toThrow('unknown bmc command "reboot"');
});
