/**
 * `wisp bmc power|bootdev`: one-off BMC operations. Each is a Job of one step created through
 * the API (so it is recorded, and serialised with the Machine's other jobs), then followed until
 * it ends.
 */
import type { StoredJob } from "../daemon/core/types.ts";
import type { Job, JobTask } from "../daemon/manifest/types.ts";
import { ApiClient, CliError } from "./client.ts";
import { visible } from "./format.ts";

/** Exit code when the BMC job failed (the API worked; the BMC did not do it). */
export const EXIT_JOB_FAILED = 3;
const POWER = ["on", "off", "soft", "cycle", "reset", "status"] as const;
const DEVICES = ["pxe", "disk", "bios", "cdrom"] as const;
/** Seconds the CLI gives the server beyond the steps' own bounds. */
const WAIT_SLACK_SECONDS = 30;

export const BMC_HELP = `usage:
  wisp bmc power on|off|soft|cycle|reset|status MACHINE
  wisp bmc bootdev pxe|disk|bios|cdrom MACHINE [--efi] [--persistent]

Runs one step against the Machine's BMC as a Job (see wisp get jobs) and waits for it:
exit 0 when it completed (power status prints the state), 3 when the BMC refused or did not
answer (the reason is printed), 1 when wispd could not be asked.
  power soft     ask the OS to shut down (ACPI); off cuts the power at once
  bootdev        next boot only, unless --persistent; --efi asks for UEFI boot`;

interface BmcArgs {
  namespace: string;
  efi: boolean;
  persistent: boolean;
  /** Poll period while waiting (tests shorten it). */
  pollMs?: number;
}

/** Parses `power ACTION MACHINE` / `bootdev DEVICE MACHINE` into a one-step task. */
export function bmcTask(words: string[], a: Pick<BmcArgs, "efi" | "persistent">): { machine: string; task: JobTask; verb: string } {
  const [sub, what, machine, ...extra] = words;
  if (!sub) throw new CliError(`missing bmc command\n${BMC_HELP}`);
  if (extra.length) throw new CliError(`unexpected arguments: ${extra.join(" ")} (see wisp bmc --help)`);
  if (sub === "power") {
    if (!what || !(POWER as readonly string[]).includes(what)) throw new CliError(`wisp bmc power: expected one of ${POWER.join(", ")}, got ${what ? `"${what}"` : "nothing"}`);
    if (!machine) throw new CliError("wisp bmc power: missing MACHINE");
    if (a.efi || a.persistent) throw new CliError("--efi and --persistent go with wisp bmc bootdev");
    return { machine, task: { powerAction: what as JobTask["powerAction"] }, verb: `power-${what}` };
  }
  if (sub === "bootdev") {
    if (!what || !(DEVICES as readonly string[]).includes(what)) throw new CliError(`wisp bmc bootdev: expected one of ${DEVICES.join(", ")}, got ${what ? `"${what}"` : "nothing"}`);
    if (!machine) throw new CliError("wisp bmc bootdev: missing MACHINE");
    const device = what as (typeof DEVICES)[number];
    const task: JobTask = a.persistent
      ? { bootDeviceAction: { device, efiBootMode: a.efi, persistent: true } }
      : { oneTimeBootDeviceAction: { device: [device], efiBootMode: a.efi } };
    return { machine, task, verb: `bootdev-${what}` };
  }
  throw new CliError(`unknown bmc command "${sub}"\n${BMC_HELP}`);
}

/** A Job name for a one-off step: the machine, the verb and a time stamp, within Kubernetes' 253. */
function jobName(machine: string, verb: string): string {
  const stamp = Date.now().toString(36) + Math.floor(Math.random() * 1296).toString(36).padStart(2, "0");
  return `${machine.slice(0, 200)}-${verb}-${stamp}`;
}

/** Runs `wisp bmc ...`; returns the exit code. */
export async function bmcCommand(client: ApiClient, words: string[], a: BmcArgs, print: (line: string) => void): Promise<number> {
  const { machine, task, verb } = bmcTask(words, a);
  const name = jobName(machine, verb);
  const job: Job = {
    apiVersion: "bmc.tinkerbell.org/v1alpha1",
    kind: "Job",
    metadata: { name, namespace: a.namespace, labels: { "wisp.dev/cli": verb } },
    spec: { machineRef: { name: machine, namespace: a.namespace }, tasks: [task] },
  };
  const path = `/api/v1/namespaces/${encodeURIComponent(a.namespace)}/jobs`;
  let current = await client.request<StoredJob>("POST", path, job);
  const step = current.status.steps[0];
  const bound = ((step?.timeout ?? 60) * ((step?.retries ?? 0) + 1) + WAIT_SLACK_SECONDS) * 1000;
  const deadline = Date.now() + bound;
  while (current.status.state === "Pending" || current.status.state === "Running") {
    if (Date.now() > deadline) throw new CliError(`job ${a.namespace}/${name} did not end within ${Math.round(bound / 1000)}s; see wisp get job ${name}`);
    await Bun.sleep(a.pollMs ?? 500);
    current = await client.request<StoredJob>("GET", `${path}/${encodeURIComponent(name)}`);
  }
  const last = current.status.steps[0];
  if (current.status.state === "Failed") {
    throw new CliError(`${machine}: ${visible(last?.message ?? current.status.message ?? "failed")} (job ${name})`, EXIT_JOB_FAILED);
  }
  print(task.powerAction === "status" ? `${machine}: ${visible(last?.message ?? "power state unknown")}` : `${machine}: ${visible(last?.message ?? "done")}`);
  return 0;
}
