/** The Redfish driver against the local Redfish emulator (HTTPS, self-signed, session and basic auth). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chooseResetType, redfishDriver } from "../../../daemon/bmc/redfish.ts";
import type { BmcTarget } from "../../../daemon/bmc/types.ts";
import { startRedfishEmulator, type RedfishEmulator } from "../../support/redfish-emulator.ts";
import { SETUP_TIMEOUT_MS } from "../../support/processes.ts";
import { driverResults } from "./results.ts";

const PASSWORD = "S3cret-redfish-pw";
let bmc: RedfishEmulator;
/** Every error any test saw: none may carry the password. */
const { okValue, errorOf, expectNoneCarries } = driverResults();

function targetFor(e: RedfishEmulator, extra: Partial<BmcTarget> = {}, basic = false): BmcTarget {
  return {
    host: e.host,
    username: e.username,
    password: e.password,
    options: { redfish: { port: e.port, useBasicAuth: basic } },
    timeoutMs: 15_000,
    insecureTls: true,
    ...extra,
  };
}

/** A loopback TCP port nothing listens on (bound, then released). */
function closedPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

beforeAll(async () => {
  bmc = await startRedfishEmulator({ password: PASSWORD });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await bmc?.stop();
  expectNoneCarries(PASSWORD);
}, SETUP_TIMEOUT_MS);

describe("redfish driver against the emulator", () => {
  for (const basic of [false, true]) {
    test(`power status, on, off, soft, cycle, reset with ${basic ? "basic auth" : "a session"}`, async () => {
      bmc.state.power = "Off";
      bmc.state.resets.length = 0;
      const drv = redfishDriver(targetFor(bmc, {}, basic));
      try {
        expect(okValue(await drv.powerState())).toBe("off");
        okValue(await drv.power("on"));
        expect(okValue(await drv.powerState())).toBe("on");
        okValue(await drv.power("off"));
        expect(okValue(await drv.powerState())).toBe("off");
        okValue(await drv.power("cycle")); // off: a cycle powers it on
        okValue(await drv.power("cycle")); // on: PowerCycle
        okValue(await drv.power("reset"));
        okValue(await drv.power("soft"));
        expect(okValue(await drv.powerState())).toBe("off");
        expect(bmc.state.resets).toEqual(["On", "ForceOff", "On", "PowerCycle", "ForceRestart", "GracefulShutdown"]);
        expect(bmc.state.sessions.size).toBe(basic ? 0 : 1);
      } finally {
        await drv.close();
      }
      // close() deleted the session (DELETE on its Location).
      expect(bmc.state.sessions.size).toBe(0);
      const posts = bmc.state.requests.filter((r) => r === "POST /redfish/v1/SessionService/Sessions").length;
      expect(posts).toBeGreaterThan(0);
    });
  }

  test("calls made together share one session; a session the BMC expired is replaced once", async () => {
    await using other = await startRedfishEmulator({ password: PASSWORD });
    const drv = redfishDriver(targetFor(other));
    try {
      const states = await Promise.all([1, 2, 3, 4, 5].map(() => drv.powerState()));
      expect(states.map(okValue)).toEqual(["off", "off", "off", "off", "off"]);
      const logins = () => other.state.requests.filter((r) => r === "POST /redfish/v1/SessionService/Sessions").length;
      expect(logins()).toBe(1);
      expect(other.state.sessions.size).toBe(1);
      other.state.sessions.clear(); // the BMC forgets the session (timeout, BMC reboot)
      okValue(await drv.power("on"));
      expect(logins()).toBe(2);
      expect(other.state.resets).toEqual(["On"]);
    } finally {
      await drv.close();
    }
    expect(other.state.sessions.size).toBe(0);
  });

  test("boot override: pxe UEFI persistent, disk legacy once, bios, cdrom", async () => {
    const drv = redfishDriver(targetFor(bmc));
    try {
      okValue(await drv.setBootDevice("pxe", { efi: true, persistent: true }));
      expect(bmc.state.boot).toEqual({ BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Continuous", BootSourceOverrideMode: "UEFI" });
      okValue(await drv.setBootDevice("disk", { efi: false, persistent: false }));
      expect(bmc.state.boot).toEqual({ BootSourceOverrideTarget: "Hdd", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "Legacy" });
      okValue(await drv.setBootDevice("bios", { efi: true, persistent: false }));
      expect(bmc.state.boot.BootSourceOverrideTarget).toBe("BiosSetup");
      okValue(await drv.setBootDevice("cdrom", { efi: true, persistent: false }));
      expect(bmc.state.boot.BootSourceOverrideTarget).toBe("Cd");
    } finally {
      await drv.close();
    }
  });

  test("virtual media: insert, insert again (ejects first), eject, eject when empty", async () => {
    const drv = redfishDriver(targetFor(bmc));
    try {
      okValue(await drv.insertMedia("http://10.0.0.1/hook.iso"));
      expect(bmc.state.media).toEqual({ inserted: true, image: "http://10.0.0.1/hook.iso" });
      okValue(await drv.insertMedia("https://10.0.0.1/other.iso"));
      expect(bmc.state.media).toEqual({ inserted: true, image: "https://10.0.0.1/other.iso" });
      okValue(await drv.ejectMedia());
      expect(bmc.state.media).toEqual({ inserted: false, image: null });
      okValue(await drv.ejectMedia());
      const bad = errorOf(await drv.insertMedia("ftp://x/y.iso"));
      expect(bad.code).toBe("refused");
      expect(bmc.state.media.inserted).toBe(false);
    } finally {
      await drv.close();
    }
  });

  test("a reset calls the emulator's onReset (how a test drives a VM)", async () => {
    const calls: string[] = [];
    await using other = await startRedfishEmulator({ onReset: (type, power) => void calls.push(`${type}->${power}`) });
    const drv = redfishDriver(targetFor(other));
    try {
      okValue(await drv.power("on"));
      okValue(await drv.power("off"));
    } finally {
      await drv.close();
    }
    expect(calls).toEqual(["On->On", "ForceOff->Off"]);
  });

  test("a ResetType the system does not allow is unsupported and nothing is sent", async () => {
    await using other = await startRedfishEmulator({ resetTypes: ["On", "ForceOff"], power: "On" });
    const drv = redfishDriver(targetFor(other));
    try {
      for (const action of ["soft", "cycle", "reset"] as const) {
        const e = errorOf(await drv.power(action));
        expect(e.code).toBe("unsupported");
        expect(e.message).toContain("On, ForceOff");
      }
      expect(other.state.resets).toEqual([]);
    } finally {
      await drv.close();
    }
  });

  test("a boot mode the system does not allow is unsupported and the override stays", async () => {
    await using uefiOnly = await startRedfishEmulator({ bootModes: ["UEFI"] });
    const drv = redfishDriver(targetFor(uefiOnly));
    try {
      const e = errorOf(await drv.setBootDevice("pxe", { efi: false, persistent: false }));
      expect(e.code).toBe("unsupported");
      expect(e.message).toContain("BootSourceOverrideMode UEFI");
      expect(uefiOnly.state.boot.BootSourceOverrideTarget).toBe("None");
      okValue(await drv.setBootDevice("pxe", { efi: true, persistent: false }));
      expect(uefiOnly.state.boot.BootSourceOverrideTarget).toBe("Pxe");
    } finally {
      await drv.close();
    }
  });

  test("wrong password: auth error naming the BMC and the step, without the password", async () => {
    for (const basic of [false, true]) {
      const drv = redfishDriver(targetFor(bmc, { password: `${PASSWORD}-wrong` }, basic));
      const e = errorOf(await drv.power("on"));
      expect(e.code).toBe("auth");
      expect(e.provider).toBe("redfish");
      expect(e.message).toContain(`127.0.0.1:${bmc.port}`);
      expect(e.message).toContain(basic ? "list systems" : "create session");
      expect(e.message).not.toContain(PASSWORD);
      await drv.close();
    }
  });

  test("closed port: unreachable", async () => {
    const port = closedPort();
    const drv = redfishDriver({ host: "127.0.0.1", username: "admin", password: PASSWORD, options: { redfish: { port } }, timeoutMs: 10_000 });
    const e = errorOf(await drv.powerState());
    expect(e.code).toBe("unreachable");
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });

  test("slow BMC: timeout within timeoutMs, long before the BMC would answer", async () => {
    await using slow = await startRedfishEmulator({ password: PASSWORD });
    slow.delayMs = 30_000;
    const drv = redfishDriver(targetFor(slow, { timeoutMs: 1_000 }));
    const started = performance.now();
    const e = errorOf(await drv.power("on"));
    expect(e.code).toBe("timeout");
    expect(e.message).toContain("1000 ms");
    // Bounded by the driver, not by the emulator's 30 s (a wide margin for a loaded machine).
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(slow.state.resets).toEqual([]);
  });

  test("refusing BMC: refused with the BMC's own message", async () => {
    await using refusing = await startRedfishEmulator({ password: PASSWORD });
    refusing.refuse = true;
    const drv = redfishDriver(targetFor(refusing));
    const e = errorOf(await drv.power("on"));
    expect(e.code).toBe("refused");
    expect(e.message).toContain("503");
    expect(e.message).toContain("service refuses requests");
  });

  test("systemName picks the ComputerSystem; an unknown one names the systems there are", async () => {
    const named = redfishDriver(targetFor(bmc, { options: { redfish: { port: bmc.port, systemName: "1" } } }));
    expect(okValue(await named.powerState())).toMatch(/^(on|off)$/);
    await named.close();
    const wrong = redfishDriver(targetFor(bmc, { options: { redfish: { port: bmc.port, systemName: "blade-7" } } }));
    const e = errorOf(await wrong.powerState());
    expect(e.code).toBe("protocol");
    expect(e.message).toContain("no system named blade-7 (have /redfish/v1/Systems/1)");
    await wrong.close();
  });

  test("insecureTls false rejects the self-signed certificate", async () => {
    const drv = redfishDriver(targetFor(bmc, { insecureTls: false }));
    const e = errorOf(await drv.powerState());
    expect(e.code).toBe("protocol");
    expect(e.message).toContain("TLS");
  });
});

describe("chooseResetType", () => {
  test("prefers the standard type and falls back among the allowed ones", () => {
    expect(chooseResetType("cycle", undefined, "on")).toBe("PowerCycle");
    expect(chooseResetType("cycle", ["On", "ForceRestart"], "on")).toBe("ForceRestart");
    expect(chooseResetType("cycle", ["On", "ForceRestart"], "off")).toBe("On");
    expect(chooseResetType("reset", ["GracefulRestart"], "on")).toBe("GracefulRestart");
    expect(chooseResetType("soft", ["On", "ForceOff"], "on")).toBeUndefined();
    expect(chooseResetType("off", ["ForceOff"], "unknown")).toBe("ForceOff");
  });
});
