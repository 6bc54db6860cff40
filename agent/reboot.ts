/**
 * Which actions reboot the machine (or kexec into the installed kernel). Tinkerbell reports them
 * TIMEOUT, or never, because the agent dies with the machine; wisp-agent reports them SUCCESS
 * ("rebooting") once the container is created and right before it starts.
 */
import type { Action } from "./runner.ts";

/** The action environment variable that marks (true) or unmarks (false) a reboot action explicitly. */
export const REBOOT_ENV = "WISP_REBOOT";
/** The message of a reboot action's SUCCESS report. */
export const REBOOT_MESSAGE = "rebooting";

// tinkerbell/actions' images (quay.io/tinkerbell/actions/reboot, quay.io/tinkerbell-actions/kexec)
// and the older hub names (.../hub/reboot-action, .../hub/kexec-action).
const REBOOT_IMAGES = new Set(["reboot", "kexec", "reboot-action", "kexec-action"]);
const REBOOT_COMMANDS = new Set(["reboot", "kexec"]);
// jacobweinstock/waitdaemon runs its IMAGE later and exits 0 at once: an ordinary action (its
// command is often ["reboot"], meant for the delayed container).
const WAITDAEMON = "waitdaemon";
const TRUE = ["1", "true", "yes", "on"];

/** The last path component of an image reference, without tag or digest. */
export function imageBaseName(image: string): string {
  const noDigest = image.split("@")[0]!;
  const name = noDigest.slice(noDigest.lastIndexOf("/") + 1);
  const colon = name.indexOf(":");
  return (colon >= 0 ? name.slice(0, colon) : name).toLowerCase();
}

/** Whether `action` reboots the machine: WISP_REBOOT=true|false decides, else the image or the command's program. */
export function isRebootAction(action: Pick<Action, "image" | "command" | "environment">): boolean {
  const marked = action.environment.find((e) => e.startsWith(`${REBOOT_ENV}=`));
  if (marked !== undefined) return TRUE.includes(marked.slice(REBOOT_ENV.length + 1).trim().toLowerCase());
  const image = imageBaseName(action.image);
  if (image === WAITDAEMON) return false;
  if (REBOOT_IMAGES.has(image)) return true;
  const program = action.command[0];
  return program !== undefined && REBOOT_COMMANDS.has(program.slice(program.lastIndexOf("/") + 1));
}
