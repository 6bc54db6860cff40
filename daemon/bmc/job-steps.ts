/**
 * One Job step against an open BMC driver: what it does, how it reads, and its defaults. Pure
 * apart from the driver call, so the job runner and the tests share it.
 */
import type { JobTask } from "../manifest/types.ts";
import { err, ok, type Result } from "../lib/result.ts";
import type { BmcDriver, BmcError } from "./types.ts";

/** Defaults for a step that names no timeout or retries (Wisp's fields; Rufio has none). */
export const MISSING_DEFAULTS = {
  /** Seconds for one attempt: a BMC answers a power or boot command in seconds, a slow one in tens. */
  timeout: 60,
  /** Attempts after the first: BMCs drop the odd request (IPMI over UDP above all). */
  retries: 2,
} as const;

/** A one-line description of a step: `power off`, `one-time boot pxe (efi)`. */
export function describeTask(task: JobTask): string {
  if (task.powerAction) return task.powerAction === "status" ? "power status" : `power ${task.powerAction}`;
  if (task.oneTimeBootDeviceAction) {
    const d = task.oneTimeBootDeviceAction;
    return `one-time boot ${(d.device ?? []).join(",")}${d.efiBootMode ? " (efi)" : ""}`;
  }
  if (task.bootDeviceAction) {
    const d = task.bootDeviceAction;
    return `boot ${d.device}${d.efiBootMode ? " (efi)" : ""}${d.persistent ? " persistent" : ""}`;
  }
  if (task.virtualMediaAction) {
    const v = task.virtualMediaAction;
    return v.mediaURL ? `insert ${v.kind ?? "CD"} ${v.mediaURL}` : `eject ${v.kind ?? "CD"}`;
  }
  return "nothing";
}

/** Runs one attempt of a step; resolves to a message for the step's status (power status: the state). */
export async function runTask(driver: BmcDriver, task: JobTask): Promise<Result<string, BmcError>> {
  if (task.powerAction === "status") {
    const r = await driver.powerState();
    return r.ok ? ok(`power is ${r.value}`) : r;
  }
  if (task.powerAction) {
    const r = await driver.power(task.powerAction);
    return r.ok ? ok(`power ${task.powerAction} sent (${driver.provider})`) : r;
  }
  if (task.oneTimeBootDeviceAction) {
    const device = task.oneTimeBootDeviceAction.device?.[0];
    if (!device) return err({ code: "unsupported", message: "no boot device given" });
    const efi = task.oneTimeBootDeviceAction.efiBootMode ?? false;
    const r = await driver.setBootDevice(device, { efi, persistent: false });
    return r.ok ? ok(`next boot from ${device}${efi ? " (efi)" : ""} (${driver.provider})`) : r;
  }
  if (task.bootDeviceAction) {
    const { device, efiBootMode = false, persistent = false } = task.bootDeviceAction;
    if (!device) return err({ code: "unsupported", message: "no boot device given" });
    const r = await driver.setBootDevice(device, { efi: efiBootMode, persistent });
    return r.ok ? ok(`boot from ${device}${efiBootMode ? " (efi)" : ""}${persistent ? ", persistent" : ", next boot only"} (${driver.provider})`) : r;
  }
  if (task.virtualMediaAction) {
    const url = task.virtualMediaAction.mediaURL;
    const r = url ? await driver.insertMedia(url) : await driver.ejectMedia();
    return r.ok ? ok(url ? `media inserted (${driver.provider})` : `media ejected (${driver.provider})`) : r;
  }
  return err({ code: "unsupported", message: "the step names no action" });
}
