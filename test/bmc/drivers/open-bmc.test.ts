/** openBmc: providers tried in preferredOrder against the real peers (Redfish emulator, ipmi_sim). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openBmc } from "../../../daemon/bmc/index.ts";
import type { BmcTarget } from "../../../daemon/bmc/types.ts";
import { startIpmiSim, type IpmiSim } from "../../support/ipmi-sim.ts";
import { SETUP_TIMEOUT_MS } from "../../support/processes.ts";
import { startRedfishEmulator, type RedfishEmulator } from "../../support/redfish-emulator.ts";

// One password for both peers (ipmi_sim takes at most 19 bytes).
const PASSWORD = "Both-s3cret-pw";
let redfish: RedfishEmulator;
let ipmi: IpmiSim;

/** A loopback TCP port nothing listens on. */
function closedTcpPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

const target = (options: BmcTarget["options"], password = PASSWORD): BmcTarget => ({
  host: "127.0.0.1",
  username: "admin",
  password,
  options,
  timeoutMs: 10_000,
});

beforeAll(async () => {
  redfish = await startRedfishEmulator({ password: PASSWORD, power: "On" });
  ipmi = await startIpmiSim({ password: PASSWORD });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await redfish?.stop();
  await ipmi?.stop();
}, SETUP_TIMEOUT_MS);

describe("openBmc", () => {
  test("default order: Redfish first when it answers", async () => {
    const r = await openBmc(target({ redfish: { port: redfish.port }, ipmitool: { port: ipmi.port } }));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.provider).toBe("redfish");
    await r.value.close();
  });

  test("preferredOrder ipmitool first", async () => {
    const r = await openBmc(target({ preferredOrder: ["ipmitool", "redfish"], redfish: { port: redfish.port }, ipmitool: { port: ipmi.port } }));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.provider).toBe("ipmitool");
  });

  test("no Redfish at that port: falls back to ipmitool", async () => {
    const r = await openBmc(target({ redfish: { port: closedTcpPort() }, ipmitool: { port: ipmi.port } }));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.provider).toBe("ipmitool");
  });

  test("wrong password stops at the first provider with an auth error", async () => {
    const r = await openBmc(target({ redfish: { port: redfish.port }, ipmitool: { port: ipmi.port } }, `${PASSWORD}x`));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("auth");
    expect(r.error.provider).toBe("redfish");
    expect(r.error.message).not.toContain(PASSWORD);
  });

  test("nothing answers: the last failure's code and every provider's reason", async () => {
    const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const udpPort = udp.port;
    udp.close();
    const r = await openBmc(target({ redfish: { port: closedTcpPort() }, ipmitool: { port: udpPort } }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("unreachable");
    expect(r.error.message).toContain("redfish 127.0.0.1:");
    expect(r.error.message).toContain(`ipmitool 127.0.0.1:${udpPort}`);
  });
});
