/** The ipmitool driver against OpenIPMI's ipmi_sim (RMCP+ on loopback, cipher suite 3). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { ipmitoolDriver } from "../../../daemon/bmc/ipmitool.ts";
import type { BmcTarget } from "../../../daemon/bmc/types.ts";
import { startIpmiSim, type IpmiSim } from "../../support/ipmi-sim.ts";
import { processRunning, SETUP_TIMEOUT_MS } from "../../support/processes.ts";
import { driverResults } from "./results.ts";

// ipmi_sim takes passwords of at most 19 bytes (test/support/ipmi-sim.ts).
const PASSWORD = "Ipmi-s3cret-pw";
const HAVE_TOOLS = existsSync("/usr/bin/ipmitool") && existsSync("/usr/bin/ipmi_sim");
/** How long the simulator may take to show a change the driver asked for (its cycle waits 1 s). */
const SETTLE_MS = 15_000;

let sim: IpmiSim;
/** Every error any test saw: none may carry the password. */
const { okValue, errorOf, expectNoneCarries } = driverResults();

const targetFor = (s: { host: string; port: number; username: string }, extra: Partial<BmcTarget> = {}): BmcTarget => ({
  host: s.host,
  username: s.username,
  password: PASSWORD,
  options: { ipmitool: { port: s.port, cipherSuite: "3" } },
  timeoutMs: 20_000,
  ...extra,
});

/** Command lines of running ipmitool processes that talk to `port`, with their environments. */
function ipmitoolProcesses(port: number): { argv: string; env: string }[] {
  const found: { argv: string; env: string }[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (argv.startsWith("ipmitool ") && argv.includes(` -p ${port} `)) found.push({ argv, env: readFileSync(`/proc/${pid}/environ`, "utf8") });
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

beforeAll(async () => {
  // A missing tool fails with the Debian package to install (test/run.sh installs both).
  if (!HAVE_TOOLS) throw new Error("needs /usr/bin/ipmitool and /usr/bin/ipmi_sim: apt-get install ipmitool openipmi");
  sim = await startIpmiSim({ password: PASSWORD });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await sim?.stop();
  expectNoneCarries(PASSWORD);
}, SETUP_TIMEOUT_MS);

describe("ipmitool driver against ipmi_sim", () => {
  test("power status, on, off, soft, reset, cycle as ipmi_sim's chassis control sees them", async () => {
    const drv = ipmitoolDriver(targetFor(sim));
    expect(okValue(await drv.powerState())).toBe("off");
    okValue(await drv.power("cycle")); // off: a cycle powers on
    expect(okValue(await drv.powerState())).toBe("on");
    okValue(await drv.power("off"));
    expect(okValue(await drv.powerState())).toBe("off");
    okValue(await drv.power("on"));
    okValue(await drv.power("reset"));
    okValue(await drv.power("soft"));
    expect(okValue(await drv.powerState())).toBe("off");
    okValue(await drv.power("on"));
    okValue(await drv.power("cycle")); // on: off, then ipmi_sim powers on again after 1 s
    const s = await sim.waitFor((st) => st.events.filter((e) => e === "power 1").length >= 4, SETTLE_MS);
    expect(s.events).toEqual(["power 1", "power 0", "power 1", "reset 1", "shutdown 1", "power 1", "power 0", "power 1"]);
    expect(okValue(await drv.powerState())).toBe("on");
    await drv.close();
  });

  test("boot device: pxe (efi, persistent), disk, bios, cdrom reach the chassis control", async () => {
    const drv = ipmitoolDriver(targetFor(sim));
    okValue(await drv.setBootDevice("pxe", { efi: true, persistent: true }));
    expect(sim.state().boot).toBe("pxe");
    okValue(await drv.setBootDevice("disk", { efi: true, persistent: false }));
    expect(sim.state().boot).toBe("default"); // IPMI selector 0010b: "force boot from default hard drive"
    okValue(await drv.setBootDevice("bios", { efi: false, persistent: false }));
    expect(sim.state().boot).toBe("bios");
    okValue(await drv.setBootDevice("cdrom", { efi: false, persistent: true }));
    expect(sim.state().boot).toBe("cdrom");
  });

  test("virtual media is unsupported over IPMI", async () => {
    const drv = ipmitoolDriver(targetFor(sim));
    expect(errorOf(await drv.insertMedia("http://10.0.0.1/x.iso")).code).toBe("unsupported");
    expect(errorOf(await drv.ejectMedia()).code).toBe("unsupported");
  });

  test("wrong password and unknown user: auth, naming the BMC and the step, without the password", async () => {
    for (const t of [targetFor(sim, { password: `${PASSWORD}x` }), targetFor(sim, { username: "nobody" })]) {
      const before = sim.state().events.length;
      const e = errorOf(await ipmitoolDriver(t).power("on"));
      expect(e.code).toBe("auth");
      expect(e.provider).toBe("ipmitool");
      expect(e.message).toContain(`ipmitool 127.0.0.1:${sim.port}: power on:`);
      expect(e.message).toContain("RAKP 2");
      expect(e.message).not.toContain(PASSWORD);
      expect(sim.state().events.length).toBe(before);
    }
  });

  test("credentials longer than IPMI allows fail before any packet is sent", async () => {
    const long = ipmitoolDriver(targetFor(sim, { password: "x".repeat(21) }));
    const e = errorOf(await long.powerState());
    expect(e.code).toBe("auth");
    expect(e.message).toContain("password is longer than 20 bytes");
    const user = errorOf(await ipmitoolDriver(targetFor(sim, { username: "u".repeat(17) })).powerState());
    expect(user.code).toBe("auth");
    expect(user.message).toContain("username is longer than 16 bytes");
  });

  test("a cipher suite the BMC does not offer is refused with a reason", async () => {
    const e = errorOf(await ipmitoolDriver(targetFor(sim, { options: { ipmitool: { port: sim.port, cipherSuite: "17" } } })).powerState());
    expect(e.code).toBe("refused");
    expect(e.message).toContain("cipher suite");
  });

  test("closed port: unreachable", async () => {
    const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const port = s.port;
    s.close();
    // 10 s: ipmitool waits 1 s per try (-N 1), gives up after 3 tries, well before the deadline.
    const e = errorOf(await ipmitoolDriver(targetFor({ host: "127.0.0.1", port, username: "admin" }, { timeoutMs: 10_000 })).powerState());
    expect(e.code).toBe("unreachable");
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });

  test("silent BMC: timeout within timeoutMs; the password is in ipmitool's environment, never its argv", async () => {
    // A UDP socket that takes every datagram and answers none.
    const silent = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const started = performance.now();
      // 4 s: ipmitool (-N 1) would give up on its own only after about 6 s, so the deadline ends it.
      const call = ipmitoolDriver(targetFor({ host: "127.0.0.1", port: silent.port, username: "admin" }, { timeoutMs: 4_000 })).power("on");
      let settled = false;
      void call.finally(() => (settled = true));
      let procs: { argv: string; env: string }[] = [];
      while (!settled && procs.length === 0) {
        procs = ipmitoolProcesses(silent.port);
        if (procs.length === 0) await Bun.sleep(20);
      }
      const e = errorOf(await call);
      expect(e.code).toBe("timeout");
      expect(e.message).toContain("4000 ms");
      expect(performance.now() - started).toBeLessThan(20_000);
      expect(procs.length).toBe(1);
      expect(procs[0]!.argv).not.toContain(PASSWORD);
      expect(procs[0]!.argv).toContain(" -E ");
      expect(procs[0]!.env.split("\0")).toContain(`IPMI_PASSWORD=${PASSWORD}`);
      // Nothing else of this process's environment is handed down.
      expect(procs[0]!.env.split("\0").filter(Boolean).map((kv) => kv.split("=")[0]).sort()).toEqual(["IPMI_PASSWORD", "LC_ALL", "PATH"]);
      // The deadline killed the process group: nothing left talking to that port.
      expect(ipmitoolProcesses(silent.port)).toEqual([]);
    } finally {
      silent.close();
    }
  });

  test("power on starts the simulator's power command, off stops it (how a test drives a VM)", async () => {
    await using vm = await startIpmiSim({ password: PASSWORD, powerCommand: "exec sleep 300" });
    const drv = ipmitoolDriver(targetFor(vm));
    expect(okValue(await drv.powerState())).toBe("off");
    okValue(await drv.power("on"));
    expect(vm.state().power).toBe("on");
    expect(okValue(await drv.powerState())).toBe("on");
    const pid = Number(readFileSync(`${vm.dir}/cmd.pid`, "utf8"));
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toStartWith("sleep\u0000300");
    okValue(await drv.power("off"));
    await vm.waitFor((s) => s.power === "off", SETTLE_MS);
    expect(okValue(await drv.powerState())).toBe("off");
    expect(processRunning(pid)).toBe(false);
  });
});
