/**
 * Pure parts of the ipmitool driver: the argv for each operation and strict readings of what
 * ipmitool 1.8.x prints. ipmitool's exit status is not enough: `chassis bootdev` prints
 * "Set Chassis Boot Parameter 5 failed" and still exits 0, so success is the expected line on
 * stdout and nothing else.
 */
import { err, ok, type Result } from "../lib/result.ts";
import type { BmcError, BootDevice, PowerAction, PowerState } from "./types.ts";

/** IPMI v2.0 over LAN (RMCP+) listens on UDP 623 (IPMI 2.0 section 13.1). */
export const IPMI_DEFAULT_PORT = 623;
/** Cipher suite 3: RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128 (IPMI 2.0 table 22-20); what bmclib and ipmi_sim use. */
export const IPMI_DEFAULT_CIPHER_SUITE = "3";

/** `ipmitool power <verb>` for each action, and the line it prints on success. */
export const POWER_COMMANDS = {
  on: { verb: "on", says: "Up/On" },
  off: { verb: "off", says: "Down/Off" },
  soft: { verb: "soft", says: "Soft" },
  cycle: { verb: "cycle", says: "Cycle" },
  reset: { verb: "reset", says: "Reset" },
} as const satisfies Record<PowerAction, { verb: string; says: string }>;

/** ipmitool's `chassis bootdev` device names (IPMI 2.0 table 28-14, boot device selector). */
export const BOOT_DEVICES = { pxe: "pxe", disk: "disk", bios: "bios", cdrom: "cdrom" } as const satisfies Record<BootDevice, string>;

/** Where one ipmitool call goes; the password is not here: it travels in IPMI_PASSWORD (-E). */
export interface IpmitoolConnection {
  host: string;
  port: number;
  username: string;
  cipherSuite: string;
  /** Seconds ipmitool waits for each answer (-N). */
  answerSeconds: number;
  /** Times ipmitool resends an unanswered request (-R). */
  retries: number;
}

/** The full argv for `command`; `-v` makes ipmitool say why a session failed (RAKP errors). */
export function ipmitoolArgv(c: IpmitoolConnection, command: string[]): string[] {
  return [
    "ipmitool", "-I", "lanplus", "-H", c.host, "-p", String(c.port), "-U", c.username, "-E",
    "-C", c.cipherSuite, "-N", String(c.answerSeconds), "-R", String(c.retries), "-v", ...command,
  ];
}

/** `chassis bootdev` with ipmitool's options=efiboot,persistent. */
export function bootdevCommand(device: BootDevice, opts: { efi: boolean; persistent: boolean }): string[] {
  const options = [opts.efi ? "efiboot" : undefined, opts.persistent ? "persistent" : undefined].filter((o) => o !== undefined);
  return ["chassis", "bootdev", BOOT_DEVICES[device], ...(options.length > 0 ? [`options=${options.join(",")}`] : [])];
}

/** Reads "Chassis Power is on|off". */
export function parsePowerStatus(stdout: string): Result<PowerState, string> {
  const m = /^Chassis Power is (on|off)$/m.exec(stdout);
  return m ? ok(m[1] as PowerState) : err(`expected "Chassis Power is on|off", got ${JSON.stringify(lastLine(stdout))}`);
}

/** Checks "Chassis Power Control: <what the action says>". */
export function parsePowerControl(stdout: string, action: PowerAction): Result<void, string> {
  const want = `Chassis Power Control: ${POWER_COMMANDS[action].says}`;
  return stdout.split("\n").some((l) => l.trim() === want) ? ok(undefined) : err(`expected "${want}", got ${JSON.stringify(lastLine(stdout))}`);
}

/** Checks "Set Boot Device to <device>" and that no "failed" line came with it. */
export function parseBootdev(stdout: string, device: BootDevice): Result<void, string> {
  const want = `Set Boot Device to ${BOOT_DEVICES[device]}`;
  const failed = stdout.split("\n").find((l) => /\bfailed\b/i.test(l));
  if (failed) return err(failed.trim());
  return stdout.split("\n").some((l) => l.trim() === want) ? ok(undefined) : err(`expected "${want}", got ${JSON.stringify(lastLine(stdout))}`);
}

/** What ipmitool's stderr says about a failed call, as a BmcError code and the line that says it. */
export function classifyFailure(stderr: string): { code: BmcError["code"]; why: string } {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("Loading IANA"));
  const find = (re: RegExp) => lines.find((l) => re.test(l));
  // RAKP 2 carries the BMC's verdict on the user name and the HMAC keyed by the password (IPMI 2.0 13.28).
  const auth = find(/RAKP \d HMAC is invalid|unauthorized name|RAKP \d message indicates an error|insufficient resources for session|invalid (user ?name|password)/i);
  if (auth) return { code: "auth", why: `${auth} (check username and password)` };
  const cipher = find(/invalid (authentication|integrity|confidentiality) algorithm|no matching cipher suite/i);
  if (cipher) return { code: "refused", why: `${cipher} (the BMC does not offer this cipher suite)` };
  const silent = find(/Get Auth Capabilities error|Error issuing Get Channel Authentication Capabilities|No response from remote controller|Unable to establish/i);
  if (silent) return { code: "unreachable", why: silent };
  const refused = find(/Invalid completion code|failed|Unable to|not supported|Insufficient privilege/i);
  if (refused) return { code: "refused", why: refused };
  return { code: "protocol", why: lines.at(-1) ?? "no output" };
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}
