/**
 * What wispd adds to the Hook's kernel command line beyond Tinkerbell's own arguments: the agent
 * token (`wisp_agent_token`, read by wisp-agent) and the action images' registry
 * (`--hook-registry` and credentials -> `docker_registry`, `registry_username`,
 * `registry_password`); the options' validation; and a real wispd serving them in the script.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../daemon/config.ts";
import { ipxeScript, type ScriptMachine, type ScriptSettings } from "../../daemon/http/ipxe-script.ts";
import { WispError } from "../../daemon/lib/errors.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { runWisp, SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";
import { checkIpxeScript } from "./ipxe-model.ts";

const SETTINGS: ScriptSettings = { publicIp: "192.168.1.10", httpPort: 7080, grpcPort: 42113, mode: "reservation", userClass: "Wisp" };
const MACHINE: ScriptMachine = { mac: "1c:69:7a:11:22:33", namespace: "default", hardwareName: "m1", allowPXE: true, arch: "x86_64", osie: { kernelParams: ["docker_registry=override:5000"] } };

function kernelArgs(settings: ScriptSettings, machine: ScriptMachine | undefined = MACHINE): string[] {
  const outcome = ipxeScript(machine, {}, settings);
  if (outcome.kind !== "script") throw new Error(`expected a script, got ${JSON.stringify(outcome)}`);
  expect(checkIpxeScript(outcome.text)).toEqual([]);
  return outcome.text.split("\n").find((l) => l.startsWith("kernel "))!.split(" && ")[0]!.split(" ").slice(2);
}

describe("Hook kernel arguments for the agent token and the registry", () => {
  test("none of them without the settings", () => {
    const args = kernelArgs(SETTINGS);
    expect(args.filter((a) => /^(wisp_agent_token|docker_registry|registry_username|registry_password)=/.test(a))).toEqual(["docker_registry=override:5000"]);
  });

  test("token and registry with credentials, before the Hardware's kernelParams (which win)", () => {
    const args = kernelArgs({ ...SETTINGS, agentToken: "tok3n", registry: { host: "10.0.0.1:5000", username: "puller", password: "p@ss" } });
    for (const a of ["wisp_agent_token=tok3n", "docker_registry=10.0.0.1:5000", "registry_username=puller", "registry_password=p@ss"]) expect(args).toContain(a);
    expect(args.indexOf("docker_registry=10.0.0.1:5000")).toBeLessThan(args.indexOf("docker_registry=override:5000"));
  });

  test("the generic script (auto-proxy) carries them too", () => {
    const args = kernelArgs({ ...SETTINGS, mode: "auto-proxy", agentToken: "tok3n", registry: { host: "reg.example" } }, undefined);
    expect(args).toContain("wisp_agent_token=tok3n");
    expect(args).toContain("docker_registry=reg.example");
    expect(args.some((a) => a.startsWith("registry_username="))).toBe(false);
  });
});

describe("--hook-registry options", () => {
  const bad = (argv: string[], field: string, message: RegExp) => {
    let error: unknown;
    try {
      loadConfig(argv, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WispError);
    expect((error as WispError).message).toMatch(message);
    expect((error as WispError).field).toBe(field);
  };

  test("read from flags, the environment and the config file's camelCase keys", () => {
    const c = loadConfig(["--hook-registry", "10.0.0.1:5000", "--hook-registry-username", "u"], { WISP_HOOK_REGISTRY_PASSWORD: "pw" });
    expect(c).toMatchObject({ hookRegistry: "10.0.0.1:5000", hookRegistryUsername: "u", hookRegistryPassword: "pw" });
    expect(loadConfig([], {}).hookRegistry).toBeUndefined();
  });

  test("refused: a scheme, a path, white space in credentials or the token, '${', credentials without a registry", () => {
    bad(["--hook-registry", "http://10.0.0.1:5000"], "hook-registry", /--hook-registry: expected a registry host\[:port\]/);
    bad(["--hook-registry", "reg.example/path"], "hook-registry", /expected a registry host/);
    bad(["--hook-registry", "r", "--hook-registry-password", "a b"], "hook-registry-password", /without white space/);
    bad(["--hook-registry", "r", "--hook-registry-username", "${x}"], "hook-registry-username", /'\$\{'/);
    bad(["--agent-token", "two words"], "agent-token", /--agent-token: expected a value without white space/);
    bad(["--hook-registry-username", "u"], "hook-registry-username", /needs --hook-registry/);
  });
});

describe("wispd serves them in the Hook script", () => {
  let wispd: WispdHandle;
  let data: Awaited<ReturnType<typeof pgliteDataDir>>;

  beforeAll(async () => {
    data = await pgliteDataDir();
    wispd = await startWispd(["--data-dir", data.dataDir, "--public-ip", "10.9.0.1", "--hook-registry", "10.9.0.1:5000", "--hook-registry-username", "puller", "--hook-registry-password", "s3cret"]);
    await wispd.waitForLog("grpc listening");
    const hw = `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: m1, namespace: default}
spec:
  interfaces:
    - dhcp: {mac: "52:54:00:09:00:01", arch: x86_64, ip: {address: 10.9.0.11, netmask: 255.255.255.0}}
      netboot: {allowPXE: true, allowWorkflow: true}
`;
    const r = await runWisp(["apply", "-f", "-"], { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir }, hw);
    expect(r.stderr).toBe("");
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    await data?.remove();
  }, SETUP_TIMEOUT_MS);

  test("the generated agent token and the registry are on the kernel line", async () => {
    const token = readFileSync(join(data.dataDir, "agent-token"), "utf8").trim();
    expect(token.length).toBeGreaterThan(16);
    let text = "";
    for (let i = 0; i < 50 && !text.startsWith("#!ipxe"); i++) {
      const res = await fetch(`${wispd.url}/ipxe/script/52:54:00:09:00:01/auto.ipxe`);
      text = res.ok ? await res.text() : (await Bun.sleep(100), "");
    }
    const kernel = text.split("\n").find((l) => l.startsWith("kernel "))!;
    for (const a of [`wisp_agent_token=${token}`, "docker_registry=10.9.0.1:5000", "registry_username=puller", "registry_password=s3cret"]) expect(kernel).toContain(` ${a} `);
  });
});
