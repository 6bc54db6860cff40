/**
 * `wisp apply` of BMC manifests and `wisp bmc ...` / `wisp get machines|jobs` end to end: a real
 * wispd (embedded store) drives OpenIPMI's ipmi_sim (RMCP+, cipher suite 3) through ipmitool and
 * the Redfish emulator over HTTPS. Wrong credentials fail after their retries, a slow BMC at its
 * step timeout, and no password ever reaches the CLI's output or wispd's log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startIpmiSim, type IpmiSim } from "../support/ipmi-sim.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { runWisp, SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";
import { startRedfishEmulator, type RedfishEmulator } from "../support/redfish-emulator.ts";

const IPMI_PASSWORD = "ipmi-Pa55-e2e-7f3a";
const REDFISH_PASSWORD = "redfish-Pa55-e2e-91c2";
const WRONG_PASSWORD = "wrong-Pa55-e2e-00aa";

/** A closed loopback UDP port: ipmitool gets no answer there. */
async function closedUdpPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = s.port;
  s.close();
  return port;
}

function manifests(sim: IpmiSim, rf: RedfishEmulator, slow: RedfishEmulator, deadPort: number): string {
  const secret = (name: string, user: string, password: string, b64 = false) =>
    b64
      ? `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name} }\ntype: kubernetes.io/basic-auth\ndata:\n  username: ${Buffer.from(user).toString("base64")}\n  password: ${Buffer.from(password).toString("base64")}\n`
      : `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name} }\nstringData:\n  username: ${user}\n  password: "${password}"\n`;
  const machine = (name: string, secretName: string, options: string) =>
    `apiVersion: bmc.tinkerbell.org/v1alpha1\nkind: Machine\nmetadata: { name: ${name} }\nspec:\n  connection:\n    host: 127.0.0.1\n    authSecretRef: { name: ${secretName}, namespace: default }\n    insecureTLS: true\n    providerOptions: ${options}\n`;
  return [
    secret("ipmi-creds", sim.username, IPMI_PASSWORD),
    secret("rf-creds", rf.username, REDFISH_PASSWORD, true),
    secret("wrong-creds", sim.username, WRONG_PASSWORD),
    machine("ipmi", "ipmi-creds", `{ preferredOrder: [ipmitool], ipmitool: { port: ${sim.port}, cipherSuite: "3" } }`),
    machine("rf", "rf-creds", `{ preferredOrder: [gofish], redfish: { port: ${rf.port} } }`),
    machine("slow", "rf-creds", `{ preferredOrder: [redfish], redfish: { port: ${slow.port} } }`),
    machine("bad", "wrong-creds", `{ preferredOrder: [ipmitool], ipmitool: { port: ${sim.port}, cipherSuite: "3" } }`),
    machine("dead", "ipmi-creds", `{ preferredOrder: [ipmitool], ipmitool: { port: ${deadPort} } }`),
  ].join("---\n");
}

describe("wisp bmc against ipmi_sim and the Redfish emulator", () => {
  let wispd: WispdHandle;
  let sim: IpmiSim;
  let rf: RedfishEmulator;
  let slow: RedfishEmulator;
  let env: Record<string, string>;
  let dir: string;
  const cleanups: (() => unknown)[] = [];
  const wisp = (...args: string[]) => runWisp(args, env);

  beforeAll(async () => {
    sim = await startIpmiSim({ password: IPMI_PASSWORD });
    cleanups.push(() => sim.stop());
    rf = await startRedfishEmulator({ password: REDFISH_PASSWORD });
    cleanups.push(() => rf.stop());
    slow = await startRedfishEmulator({ password: REDFISH_PASSWORD });
    cleanups.push(() => slow.stop());
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    wispd = await startWispd(["--data-dir", data.dataDir, "--bmc-poll-interval", "1", "--log-level", "debug"]);
    cleanups.push(() => wispd.stop());
    env = { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir };
    dir = mkdtempSync(join(tmpdir(), "wisp-bmc-e2e-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "bmc.yaml"), manifests(sim, rf, slow, await closedUdpPort()));
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  }, SETUP_TIMEOUT_MS);

  test("apply, power and boot device through ipmitool (cipher suite 3) and Redfish", async () => {
    const applied = await wisp("apply", "-f", join(dir, "bmc.yaml"));
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split("\n")).toEqual([
      "secret/ipmi-creds created",
      "secret/rf-creds created",
      "secret/wrong-creds created",
      "machine/ipmi created",
      "machine/rf created",
      "machine/slow created",
      "machine/bad created",
      "machine/dead created",
    ]);

    const on = await wisp("bmc", "power", "on", "ipmi");
    expect(on.stderr).toBe("");
    expect(on.stdout.trim()).toBe("ipmi: power on sent (ipmitool)");
    expect(sim.state().power).toBe("on");
    const status = await wisp("bmc", "power", "status", "ipmi");
    expect(status.stdout.trim()).toBe("ipmi: power is on");
    const pxe = await wisp("bmc", "bootdev", "pxe", "ipmi", "--efi");
    expect(pxe.code).toBe(0);
    expect(pxe.stdout.trim()).toBe("ipmi: next boot from pxe (efi) (ipmitool)");
    expect(sim.state().boot).toBe("pxe");
    const off = await wisp("bmc", "power", "off", "ipmi");
    expect(off.code).toBe(0);
    expect(sim.state().events).toEqual(["power 1", "boot pxe", "power 0"]);

    const rfOn = await wisp("bmc", "power", "on", "rf");
    expect(rfOn.stdout.trim()).toBe("rf: power on sent (redfish)");
    expect(rf.state.power).toBe("On");
    const disk = await wisp("bmc", "bootdev", "disk", "rf", "--persistent", "--efi");
    expect(disk.stdout.trim()).toBe("rf: boot from disk (efi), persistent (redfish)");
    expect(rf.state.boot).toMatchObject({ BootSourceOverrideTarget: "Hdd", BootSourceOverrideEnabled: "Continuous", BootSourceOverrideMode: "UEFI" });
  });

  test("wisp get machines shows the polled power state and why a BMC is not reachable", async () => {
    const deadline = Date.now() + 60_000;
    let table = "";
    for (;;) {
      table = (await wisp("get", "machines")).stdout;
      const row = (name: string) => table.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
      if (/\son\s+redfish\s/.test(row("rf")) && /\soff\s+ipmitool\s/.test(row("ipmi")) && /unknown/.test(row("dead")) && !/never/.test(row("dead"))) break;
      if (Date.now() > deadline) throw new Error(`machines never showed their polled state:\n${table}`);
      await Bun.sleep(500);
    }
    expect(table.split("\n")[0]).toMatch(/^NAME\s+HOST\s+POWER\s+PROVIDER\s+POLLED\s+ERROR\s+AGE$/);
    const machine = JSON.parse((await wisp("get", "machine", "dead", "-o", "json")).stdout);
    expect(machine.status.powerState).toBe("unknown");
    expect(machine.status.conditions[0]).toMatchObject({ type: "Contactable", status: "False" });
    expect(machine.status.lastError).toContain("127.0.0.1");
  });

  test("wrong credentials fail after the step's retries, naming the BMC and never the password", async () => {
    const before = sim.state().events.length;
    const r = await wisp("bmc", "power", "on", "bad");
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^wisp: bad: power on: ipmitool 127\.0\.0\.1:\d+: .*check username and password.* \(attempt 3 of 3\) \(job bad-power-on-[a-z0-9]+\)\n$/);
    expect(r.stderr).not.toContain(WRONG_PASSWORD);
    // The BMC refused the session: no power request reached the chassis.
    expect(sim.state().events.length).toBe(before);
  });

  test("a slow BMC fails at the step's timeout; jobs list their steps", async () => {
    slow.delayMs = 10_000;
    writeFileSync(
      join(dir, "job.yaml"),
      "apiVersion: bmc.tinkerbell.org/v1alpha1\nkind: Job\nmetadata: { name: slow-on }\nspec:\n  machineRef: { name: slow }\n  tasks:\n    - powerAction: \"on\"\n      timeout: 2\n      retries: 1\n",
    );
    expect((await wisp("apply", "-f", join(dir, "job.yaml"))).stdout.trim()).toBe("job/slow-on created");
    const deadline = Date.now() + 60_000;
    let job: { status: { state: string; message?: string; steps: { attempt: number; message?: string }[] } };
    for (;;) {
      job = JSON.parse((await wisp("get", "job", "slow-on", "-o", "json")).stdout);
      if (job.status.state === "Failed" || job.status.state === "Completed") break;
      if (Date.now() > deadline) throw new Error(`job did not end: ${JSON.stringify(job)}`);
      await Bun.sleep(250);
    }
    expect(job.status.state).toBe("Failed");
    expect(job.status.steps[0]!.attempt).toBe(2);
    expect(job.status.message).toMatch(/^step 0 power on: .*(within 2s|timed out|timeout).* \(attempt 2 of 2\)$/);
    const jobs = await wisp("get", "jobs");
    expect(jobs.stdout.split("\n")[0]).toMatch(/^NAME\s+MACHINE\s+STATE\s+STEPS\s+MESSAGE\s+AGE$/);
    expect(jobs.stdout).toMatch(/\nslow-on\s+slow\s+Failed\s+0\/1\s/);
    expect(jobs.stdout).toMatch(/\nipmi-power-on-[a-z0-9]+\s+ipmi\s+Completed\s+1\/1\s/);
    const described = await wisp("describe", "job", "slow-on");
    expect(described.stdout).toContain("power on");
    expect(described.stdout).toContain("2/2");
  });

  test("a Job's virtual media steps reach the Redfish BMC: insert, then eject", async () => {
    writeFileSync(
      join(dir, "media.yaml"),
      'apiVersion: bmc.tinkerbell.org/v1alpha1\nkind: Job\nmetadata: { name: rf-media }\nspec:\n  machineRef: { name: rf }\n  tasks:\n    - virtualMediaAction: { mediaURL: "http://10.0.0.1/rescue.iso", kind: CD }\n    - powerAction: status\n',
    );
    expect((await wisp("apply", "-f", join(dir, "media.yaml"))).code).toBe(0);
    const deadline = Date.now() + 60_000;
    let job: { status: { state: string; steps: { state: string; message?: string }[] } };
    for (;;) {
      job = JSON.parse((await wisp("get", "job", "rf-media", "-o", "json")).stdout);
      if (job.status.state === "Failed" || job.status.state === "Completed") break;
      if (Date.now() > deadline) throw new Error(`job did not end: ${JSON.stringify(job)}`);
      await Bun.sleep(250);
    }
    expect(job.status.steps.map((st) => `${st.state} ${st.message}`)).toEqual(["Completed media inserted (redfish)", "Completed power is on"]);
    expect(rf.state.media).toEqual({ inserted: true, image: "http://10.0.0.1/rescue.iso" });
    writeFileSync(join(dir, "eject.yaml"), "apiVersion: bmc.tinkerbell.org/v1alpha1\nkind: Job\nmetadata: { name: rf-eject }\nspec:\n  machineRef: { name: rf }\n  tasks:\n    - virtualMediaAction: { kind: CD }\n");
    expect((await wisp("apply", "-f", join(dir, "eject.yaml"))).code).toBe(0);
    for (;;) {
      const state = JSON.parse((await wisp("get", "job", "rf-eject", "-o", "json")).stdout).status.state;
      if (state === "Completed") break;
      if (state === "Failed" || Date.now() > deadline) throw new Error(`eject job: ${state}`);
      await Bun.sleep(250);
    }
    expect(rf.state.media.inserted).toBe(false);
  });

  test("secrets: keys only, through every way of reading; never in wispd's log", async () => {
    const yaml = await wisp("get", "secret", "ipmi-creds", "-o", "yaml");
    expect(yaml.stdout).toContain("keys:\n  - password\n  - username");
    const all = [yaml.stdout, (await wisp("get", "secrets", "-o", "json")).stdout, (await wisp("describe", "secret", "rf-creds")).stdout, (await wisp("get", "secrets")).stdout];
    for (const out of all) for (const p of [IPMI_PASSWORD, REDFISH_PASSWORD, WRONG_PASSWORD]) expect(out).not.toContain(p);
    const log = wispd.logs.map((l) => JSON.stringify(l)).join("\n");
    expect(log).toContain("bmc step completed"); // the log was read, and has the jobs in it
    for (const p of [IPMI_PASSWORD, REDFISH_PASSWORD, WRONG_PASSWORD, Buffer.from(REDFISH_PASSWORD).toString("base64")]) expect(log).not.toContain(p);
  });

  test("bad input: one line naming the field, nothing stored", async () => {
    writeFileSync(join(dir, "bad.yaml"), 'apiVersion: v1\nkind: Secret\nmetadata: { name: broken }\ndata:\n  password: "not base64!"\n');
    const r = await wisp("apply", "-f", join(dir, "bad.yaml"));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`wisp: ${join(dir, "bad.yaml")}#0 Secret default/broken: data.password: expected base64 (data holds base64; put plain text in stringData); the value is not shown\n`);
    expect((await wisp("get", "secret", "broken")).code).toBe(1);
    const usage = await wisp("bmc", "power", "sideways", "ipmi");
    expect(usage.stderr).toBe('wisp: wisp bmc power: expected one of on, off, soft, cycle, reset, status, got "sideways"\n');
    const missing = await wisp("bmc", "power", "on", "nope");
    expect(missing.stderr).toContain('spec.machineRef.name: Machine "nope" not found in namespace default');
  });
});
