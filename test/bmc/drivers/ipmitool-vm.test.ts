/**
 * IPMI power driving a real qemu VM: ipmi_sim's chassis control starts qemu on power on,
 * restarts it on reset and kills it on power off; power status follows the VM. The VM has no
 * disk or NIC: SeaBIOS printing its banner on the serial console is the proof it ran.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ipmitoolDriver } from "../../../daemon/bmc/ipmitool.ts";
import { startIpmiSim } from "../../support/ipmi-sim.ts";
import { processRunning } from "../../support/processes.ts";
import { driverResults } from "./results.ts";

const PASSWORD = "Vm-s3cret-pw";
/** SeaBIOS under TCG on a loaded 2-core machine: seconds normally, generous here. */
const BIOS_TIMEOUT_MS = 90_000;

const { okValue } = driverResults();

/** Waits until the serial log of the qemu with `pid` shows SeaBIOS. */
async function waitForBios(dir: string, pid: number): Promise<void> {
  const file = join(dir, `serial-${pid}.log`);
  const deadline = Date.now() + BIOS_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (existsSync(file) && readFileSync(file, "utf8").includes("SeaBIOS")) return;
    await Bun.sleep(200);
  }
  throw new Error(`no SeaBIOS banner in ${file} within ${BIOS_TIMEOUT_MS} ms`);
}

const pidIn = (dir: string) => Number(readFileSync(join(dir, "cmd.pid"), "utf8").trim());

test("power on boots a qemu VM, reset restarts it, off stops it", async () => {
  if (!existsSync("/usr/bin/qemu-system-x86_64")) throw new Error("needs qemu-system-x86_64: apt-get install qemu-system-x86");
  // `exec` keeps the pid the script records; $$ names the serial log after it.
  const qemu = "exec qemu-system-x86_64 -accel tcg -cpu max -m 64 -nodefaults -nographic -monitor none -nic none"
    + ` -serial "file:$(dirname "$0")/serial-$$.log" </dev/null`;
  await using sim = await startIpmiSim({ password: PASSWORD, powerCommand: qemu });
  const drv = ipmitoolDriver({ host: sim.host, username: sim.username, password: PASSWORD, options: { ipmitool: { port: sim.port } }, timeoutMs: 20_000 });

  expect(okValue(await drv.powerState())).toBe("off");
  okValue(await drv.power("on"));
  const first = pidIn(sim.dir);
  await waitForBios(sim.dir, first);
  expect(okValue(await drv.powerState())).toBe("on");

  okValue(await drv.power("reset"));
  const second = pidIn(sim.dir);
  expect(second).not.toBe(first);
  expect(processRunning(first)).toBe(false);
  await waitForBios(sim.dir, second);

  okValue(await drv.power("off"));
  await sim.waitFor((s) => s.power === "off", 15_000);
  expect(okValue(await drv.powerState())).toBe("off");
  expect(processRunning(second)).toBe(false);
  expect(sim.state().events).toEqual(["power 1", "reset 1", "power 0"]);
}, 240_000);
