/**
 * BMC drivers: `openBmc(target)` tries each provider of `preferredOrder` (default redfish, then
 * ipmitool: Redfish can also do virtual media and says which operations a system allows) and
 * returns the first whose BMC answers a power-status query.
 */
import { err, ok } from "../lib/result.ts";
import { ipmitoolDriver } from "./ipmitool.ts";
import { redfishDriver } from "./redfish.ts";
import type { BmcDriver, BmcError, BmcProvider, BmcTarget, OpenBmc } from "./types.ts";

export { ipmitoolDriver } from "./ipmitool.ts";
export { redfishDriver } from "./redfish.ts";
export type * from "./types.ts";

/** Tried in this order when the target names none: Redfish says what a system allows and can do virtual media. */
export const DEFAULT_PREFERRED_ORDER: readonly BmcProvider[] = ["redfish", "ipmitool"];

const DRIVERS = { redfish: redfishDriver, ipmitool: ipmitoolDriver } as const satisfies Record<BmcProvider, (t: BmcTarget) => BmcDriver>;

/** Which of a provider's failures may mean "wrong protocol here", so the next one is worth trying. */
const TRY_NEXT: ReadonlySet<BmcError["code"]> = new Set(["unreachable", "unsupported", "protocol", "timeout", "refused"]);

/** Opens the first provider in preferredOrder that answers; an auth failure stops the search (the credentials are wrong, not the protocol). */
export const openBmc: OpenBmc = async (target) => {
  const order = target.options?.preferredOrder?.length ? target.options.preferredOrder : DEFAULT_PREFERRED_ORDER;
  const failures: BmcError[] = [];
  for (const provider of order) {
    const make = DRIVERS[provider];
    if (!make) {
      failures.push({ code: "unsupported", message: `unknown provider ${JSON.stringify(provider)} in preferredOrder (want redfish or ipmitool)` });
      continue;
    }
    const driver = make(target);
    const probe = await driver.powerState();
    if (probe.ok) return ok(driver);
    await driver.close();
    if (!TRY_NEXT.has(probe.error.code)) return probe;
    failures.push(probe.error);
  }
  const last = failures.at(-1);
  return err({
    code: last?.code ?? "unsupported",
    message: `no BMC provider answered at ${target.host}: ${failures.map((f) => f.message).join("; ")}`,
    provider: last?.provider,
  });
};
