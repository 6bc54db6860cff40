/**
 * The IPMI driver: Debian's `ipmitool` over IPMI v2.0 LAN (`-I lanplus`, RMCP+), one process per
 * call, as Tinkerbell's bmclib does. Why a tool and not our own RMCP+: docs/bmc.md ("Drivers").
 */
import { ok, type Result } from "../lib/result.ts";
import { bmcErr, DEFAULT_TIMEOUT_MS, redact } from "./errors.ts";
import {
  bootdevCommand, classifyFailure, IPMI_DEFAULT_CIPHER_SUITE, IPMI_DEFAULT_PORT, ipmitoolArgv,
  parseBootdev, parsePowerControl, parsePowerStatus, POWER_COMMANDS, type IpmitoolConnection,
} from "./ipmitool-output.ts";
import { runIpmitool } from "./ipmitool-run.ts";
import type { BmcDriver, BmcError, BmcTarget, PowerState } from "./types.ts";

/** The longest ipmitool waits for one answer (-N), whatever the timeout. */
const MAX_ANSWER_SECONDS = 5;
/** Longest IPMI user name and password (IPMI 2.0 section 22.29 and 22.30). */
const MAX_USERNAME_BYTES = 16;
const MAX_PASSWORD_BYTES = 20;
/** Resends of an unanswered request (-R); ipmitool's own default is 4. */
const RETRIES = 2;

/** -N and -R from the call's bound, so ipmitool gives up on a silent BMC before we kill it. */
export function connectionFor(target: BmcTarget): IpmitoolConnection {
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A silent BMC costs ipmitool about 2 * (RETRIES + 1) * -N seconds (two rounds of session
  // setup, seen with ipmitool 1.8.19); a third round of margin keeps it inside the deadline.
  const answerSeconds = Math.max(1, Math.min(MAX_ANSWER_SECONDS, Math.floor(timeoutMs / 1000 / (3 * (RETRIES + 1)))));
  return {
    host: target.host,
    port: target.options?.ipmitool?.port ?? IPMI_DEFAULT_PORT,
    username: target.username,
    cipherSuite: target.options?.ipmitool?.cipherSuite ?? IPMI_DEFAULT_CIPHER_SUITE,
    answerSeconds,
    retries: RETRIES,
  };
}

/** An ipmitool driver for `target`; each call is one ipmitool process. */
export function ipmitoolDriver(target: BmcTarget): BmcDriver {
  const conn = connectionFor(target);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = `${conn.host}:${conn.port}`;
  const fail = (code: BmcError["code"], step: string, why: string) =>
    bmcErr("ipmitool", code, redact(`ipmitool ${where}: ${step}: ${why}`, target.password));

  /** Runs one command; its output when ipmitool exited 0, else the classified failure. */
  const run = async (step: string, command: string[]): Promise<Result<string, BmcError>> => {
    // IPMI 2.0 22.29/22.30: user names of 16 bytes, passwords of 20.
    if (Buffer.byteLength(target.username) > MAX_USERNAME_BYTES) return fail("auth", step, `username is longer than ${MAX_USERNAME_BYTES} bytes`);
    if (Buffer.byteLength(target.password) > MAX_PASSWORD_BYTES) return fail("auth", step, `password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    const r = await runIpmitool(ipmitoolArgv(conn, command), target.password, timeoutMs);
    if (r.spawnError === "ENOENT") return fail("unsupported", step, "ipmitool is not installed (Debian package ipmitool)");
    if (r.spawnError) return fail("protocol", step, `cannot run ipmitool: ${r.spawnError}`);
    if (r.timedOut) return fail("timeout", step, `no answer within ${timeoutMs} ms`);
    if (r.code !== 0) {
      const { code, why } = classifyFailure(r.stderr);
      return fail(code, step, why);
    }
    // Both streams: some failures (a refused boot parameter) come on stderr with exit status 0.
    return ok(`${r.stdout}\n${r.stderr}`);
  };

  const powerState = async (): Promise<Result<PowerState, BmcError>> => {
    const out = await run("power status", ["power", "status"]);
    if (!out.ok) return out;
    const state = parsePowerStatus(out.value);
    return state.ok ? state : fail("protocol", "power status", state.error);
  };

  const unsupported = (step: string) =>
    Promise.resolve(fail("unsupported", step, "IPMI has no standard virtual media; use the redfish provider"));

  return {
    provider: "ipmitool",
    powerState,
    async power(action) {
      let verb: keyof typeof POWER_COMMANDS = action;
      // A cycle of a machine that is off is a power on: many BMCs refuse "cycle" when off (IPMI 2.0 28.3).
      if (action === "cycle") {
        const state = await powerState();
        if (!state.ok) return state;
        if (state.value === "off") verb = "on";
      }
      const out = await run(`power ${action}`, ["power", POWER_COMMANDS[verb].verb]);
      if (!out.ok) return out;
      const checked = parsePowerControl(out.value, verb);
      return checked.ok ? checked : fail("protocol", `power ${action}`, checked.error);
    },
    async setBootDevice(device, opts) {
      const step = `boot device ${device}`;
      const out = await run(step, bootdevCommand(device, opts));
      if (!out.ok) return out;
      const checked = parseBootdev(out.value, device);
      return checked.ok ? checked : fail("refused", step, checked.error);
    },
    insertMedia: () => unsupported("insert media"),
    ejectMedia: () => unsupported("eject media"),
    close: () => Promise.resolve(),
  };
}
