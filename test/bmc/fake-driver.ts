/**
 * A BMC driver in memory for the unit tests of jobs and the poller: records every call, and can
 * be told to fail a call a number of times, to hang, or to refuse a login. The real drivers are
 * tested against ipmi_sim and the Redfish emulator (test/bmc/drivers, test/bmc/*-real.test.ts).
 */
import type { BmcDriver, BmcError, BmcTarget, OpenBmc, PowerState } from "../../daemon/bmc/types.ts";
import { err, ok } from "../../daemon/lib/result.ts";

export interface FakeBmc {
  open: OpenBmc;
  /** `power on`, `boot pxe efi=true persistent=false`, `status`, ... in call order. */
  calls: string[];
  /** Targets the driver was opened with (credentials included: tests check them). */
  targets: BmcTarget[];
  state: PowerState;
  /** Calls whose name starts with the key fail this many more times. */
  failures: Map<string, number>;
  /** Calls whose name starts with one of these never answer. */
  hang: Set<string>;
  /** open() refuses with this error. */
  refuseOpen?: BmcError;
}

/** A fake BMC; `provider` is what it says it is. */
export function fakeBmc(provider: "ipmitool" | "redfish" = "ipmitool"): FakeBmc {
  const bmc: FakeBmc = { calls: [], targets: [], state: "off", failures: new Map(), hang: new Set(), open: async () => err({ code: "unreachable", message: "unset" }) };
  const call = async <T>(name: string, then: () => T) => {
    bmc.calls.push(name);
    for (const prefix of bmc.hang) if (name.startsWith(prefix)) await new Promise(() => {});
    for (const [prefix, n] of bmc.failures) {
      if (name.startsWith(prefix) && n > 0) {
        bmc.failures.set(prefix, n - 1);
        return err<BmcError>({ code: "refused", message: `fake BMC refused ${name}`, provider });
      }
    }
    return ok(then());
  };
  bmc.open = async (target) => {
    bmc.targets.push(target);
    if (bmc.refuseOpen) return err(bmc.refuseOpen);
    const driver: BmcDriver = {
      provider,
      powerState: () => call("status", () => bmc.state),
      power: (action) =>
        call(`power ${action}`, () => {
          bmc.state = action === "on" || action === "cycle" || action === "reset" ? "on" : "off";
        }),
      setBootDevice: (device, o) => call(`boot ${device} efi=${o.efi} persistent=${o.persistent}`, () => undefined),
      insertMedia: (url) => call(`insert ${url}`, () => undefined),
      ejectMedia: () => call("eject", () => undefined),
      close: async () => {},
    };
    return ok(driver);
  };
  return bmc;
}
