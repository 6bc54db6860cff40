/** Which actions are reboot actions: WISP_REBOOT decides, else tinkerbell/actions' images or a reboot/kexec command; waitdaemon never. */
import { expect, test } from "bun:test";
import { imageBaseName, isRebootAction } from "../../agent/reboot.ts";

const action = (image: string, command: string[] = [], environment: string[] = []) => ({ image, command, environment });

test("image base names drop registry, path, tag and digest", () => {
  expect(imageBaseName("quay.io/tinkerbell/actions/reboot:v1.0.0")).toBe("reboot");
  expect(imageBaseName("localhost:5000/kexec")).toBe("kexec");
  expect(imageBaseName("public.ecr.aws/l0g8r8j6/tinkerbell/hub/kexec-action@sha256:abc")).toBe("kexec-action");
  expect(imageBaseName("alpine")).toBe("alpine");
});

test("recognised by image or command", () => {
  expect(isRebootAction(action("quay.io/tinkerbell/actions/reboot:v1.0.0"))).toBe(true);
  expect(isRebootAction(action("quay.io/tinkerbell-actions/kexec:v1.0.0", [], ["BLOCK_DEVICE=/dev/sda1"]))).toBe(true);
  expect(isRebootAction(action("public.ecr.aws/l0g8r8j6/tinkerbell/hub/reboot-action:latest"))).toBe(true);
  expect(isRebootAction(action("busybox", ["/sbin/reboot", "-f"]))).toBe(true);
  expect(isRebootAction(action("busybox", ["kexec", "-e"]))).toBe(true);
  expect(isRebootAction(action("busybox", ["sh", "-c", "reboot"]))).toBe(false);
  expect(isRebootAction(action("quay.io/tinkerbell/actions/image2disk:v1.0.0"))).toBe(false);
});

test("waitdaemon exits at once by itself: an ordinary action, even with command reboot", () => {
  expect(isRebootAction(action("ghcr.io/jacobweinstock/waitdaemon:0.2.1", ["reboot"], ["IMAGE=alpine", "WAIT_SECONDS=10"]))).toBe(false);
});

test("WISP_REBOOT decides both ways", () => {
  expect(isRebootAction(action("busybox", ["sh", "-c", "sync; reboot"], ["WISP_REBOOT=true"]))).toBe(true);
  expect(isRebootAction(action("ghcr.io/jacobweinstock/waitdaemon", [], ["WISP_REBOOT=1"]))).toBe(true);
  expect(isRebootAction(action("quay.io/tinkerbell/actions/kexec", [], ["WISP_REBOOT=false"]))).toBe(false);
});
