/**
 * A workflow with `bootMode: netboot` powers a machine on through its BMC and it network-boots
 * from wispd. The BMC is OpenIPMI's ipmi_sim whose chassis control starts a qemu VM (TCG) on a
 * tap in the test's namespace when powered on and kills it when powered off. wispd runs in that
 * namespace (DHCP on its bridge) and reaches ipmi_sim, which binds the host's loopback, through
 * a UDP relay. The workflow stays PREPARING while its job powers the VM off, sets a one-time PXE
 * boot and powers it on; then it is PENDING, the VM fetches its iPXE script from wispd and boots
 * the real Hook (hook/build.ts, cached), whose wisp-agent pulls a busybox action from a registry
 * on the bridge and runs it to SUCCESS (no test agent); the disk-boot job after SUCCESS sets the
 * boot device to disk (recorded by ipmi_sim) and power-cycles the VM. The serial console (every
 * power-on appends to it) is kept when the test fails; its path is in the error. Skips only when
 * not root or without /dev/net/tun.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHook } from "../../hook/build.ts";
import { startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { TEST_IMAGE, testDocker } from "../support/docker.ts";
import { startIpmiSim, type IpmiSim } from "../support/ipmi-sim.ts";
import { createNetLab, IS_ROOT, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { IPXE_VIRTIO_ROM, requireQemu } from "../support/qemu.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";
import { startUdpRelay, type UdpRelay } from "./support/udp-relay.ts";

const CAN_RUN = IS_ROOT && existsSync("/dev/net/tun");
const ROOT = join(import.meta.dir, "..", "..");
const SERVER_IP = "10.91.0.1";
const VM = { name: "nb-vm", mac: "52:54:00:91:00:10", ip: "10.91.0.10" };
/** The BMC's port as wispd sees it (the relay's, inside the namespace). */
const BMC_PORT = 6230;
const GRPC_PORT = 42113;
const TAP = "tap-nb";
const PASSWORD = "netboot-e2e-Pa55";
/** The registry on the bridge the Hook pulls the action from (`--hook-registry`). */
const REGISTRY = `${SERVER_IP}:5000`;
/** The action's image there: TEST_IMAGE (busybox) under its own name. */
const ACTION_IMAGE = "wisp-netboot/busybox:1";
const ACTION_SAYS = "netboot-e2e: hello from the Hook";
/** Bound on the VM's firmware reaching the script under TCG on a busy machine. */
const BOOT_TIMEOUT_MS = 240_000;
/** Bound on the Hook from its script to the action's SUCCESS (boot to agent ~60-100 s seen under TCG and load). */
const HOOK_TIMEOUT_MS = 420_000;
/** The Hook build when its cache is cold (minutes on a loaded 2-core machine) plus the rest of the set-up. */
const SETUP_MS = 30 * 60_000;

function manifests(): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: nb-bmc }
stringData: { username: admin, password: "${PASSWORD}" }
---
apiVersion: bmc.tinkerbell.org/v1alpha1
kind: Machine
metadata: { name: nb-bmc }
spec:
  connection:
    host: 127.0.0.1
    port: ${BMC_PORT}
    authSecretRef: { name: nb-bmc, namespace: default }
    providerOptions: { preferredOrder: [ipmitool], ipmitool: { cipherSuite: "3" } }
---
apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: { name: ${VM.name} }
spec:
  bmcRef: { apiGroup: bmc.tinkerbell.org, kind: Machine, name: nb-bmc }
  interfaces:
    - dhcp:
        mac: ${VM.mac}
        hostname: ${VM.name}
        arch: x86_64
        ip: { address: ${VM.ip}, netmask: 255.255.255.0, gateway: ${SERVER_IP} }
      netboot: { allowPXE: false, allowWorkflow: true }
---
apiVersion: tinkerbell.org/v1alpha1
kind: Template
metadata: { name: nb-tpl }
spec:
  data: |
    version: "0.1"
    name: nb
    global_timeout: 600
    tasks:
      - name: install
        worker: "{{.device_1}}"
        actions:
          - name: say-hello
            image: ${REGISTRY}/${ACTION_IMAGE}
            timeout: 300
            command: ["sh", "-c", "echo ${ACTION_SAYS}"]
---
apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata: { name: nb-wf }
spec:
  templateRef: nb-tpl
  hardwareRef: ${VM.name}
  hardwareMap: { device_1: "${VM.mac}" }
  bootOptions: { bootMode: netboot, toggleAllowNetboot: true, diskBootOnSuccess: true }
`;
}

describe.skipIf(!CAN_RUN)("bootMode netboot: ipmi_sim powers a qemu VM into PXE from wispd", () => {
  let lab: NetLab;
  let server: Netns;
  let wispd: NsWispd;
  let sim: IpmiSim;
  let relay: UdpRelay;
  let work: string;
  let serialDir: string;
  let serial: string;
  let passed = false;
  const registries: TestRegistry[] = [];
  const cleanups: (() => unknown)[] = [];

  /** The wisp CLI inside the namespace, as an operator on the provisioner would run it. */
  const wisp = (...args: string[]) =>
    server.run(["node", join(ROOT, "bin", "wisp"), ...args], { env: { WISP_SERVER: wispd.url, WISP_DATA_DIR: wispd.dataDir, WISP_TOKEN: "" } });
  const workflowState = async () => (JSON.parse(await wisp("get", "wf", "nb-wf", "-o", "json")) as { status: { state: string } }).status.state;
  const serialTail = () => (existsSync(serial) ? `(kept: ${serial})\n${readFileSync(serial, "utf8").slice(-2500)}` : "(no serial log)");

  async function until<T>(what: string, read: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > end) {
        throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(v)})\nipmi_sim: ${JSON.stringify(sim.state())}\nserial:\n${serialTail()}\nwispd:\n${wispd.logs.slice(-15).map((l) => JSON.stringify(l)).join("\n")}`);
      }
      await Bun.sleep(250);
    }
  }

  beforeAll(async () => {
    await requireQemu();
    lab = await createNetLab();
    server = await lab.namespace("srv");
    await lab.bridge(server, "br0", [], `${SERVER_IP}/24`);
    // The tap outlives each VM: ipmi_sim's power command starts qemu on it again after a cycle.
    await server.run(["ip", "tuntap", "add", "dev", TAP, "mode", "tap"]);
    await server.run(["ip", "link", "set", TAP, "master", "br0"]);
    await server.run(["ip", "link", "set", TAP, "up"]);
    work = mkdtempSync(join(tmpdir(), "wisp-netboot-"));
    whenProcessGone(`rm -rf ${shellQuote(work)}`);
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    // The serial console lives outside `work`: afterAll removes it only when the test passed.
    serialDir = mkdtempSync(join(tmpdir(), "wisp-netboot-serial-"));
    serial = join(serialDir, "serial.log");
    const artifactsDir = join(work, "artifacts");
    mkdirSync(artifactsDir);
    // The Hook's own cache (var/hook-cache) unless WISP_HOOK_CACHE_DIR names another.
    const hook = await buildHook({ outDir: artifactsDir, cacheDir: process.env.WISP_HOOK_CACHE_DIR || undefined, onProgress: (line) => console.log(`hook build: ${line}`) });
    console.log(`hook: ${hook.cached ? "from the cache" : "built"}; kernel ${hook.manifest.kernel.release}`);

    // The action image: TEST_IMAGE pushed to a loopback registry, served to the VM by a second
    // registry on the bridge reading the same storage (the pushing dockerd cannot reach the namespace).
    const docker = await testDocker();
    const staging = await startRegistry({ docker });
    registries.push(staging);
    await staging.push(TEST_IMAGE, ACTION_IMAGE);
    registries.push(await startRegistry({ ns: server, host: SERVER_IP, port: 5000, storageDir: staging.storageDir }));

    // What the BMC's power button does: a SeaBIOS VM with Debian's iPXE ROM on the tap, in the
    // namespace; each power-on appends to the one serial log.
    const qemu = [
      "exec", "ip", "netns", "exec", server.name, "qemu-system-x86_64", "-name", "wisp-netboot", "-accel", "tcg", "-cpu", "max", "-m", "1024",
      "-nographic", "-monitor", "none", "-chardev", `file,id=s0,path=${serial},append=on`, "-serial", "chardev:s0", "-no-reboot",
      "-netdev", `tap,id=n0,ifname=${TAP},script=no,downscript=no`,
      "-device", `virtio-net-pci,netdev=n0,mac=${VM.mac},disable-legacy=on,romfile=${IPXE_VIRTIO_ROM},bootindex=1`,
    ].map(shellQuote).join(" ");
    sim = await startIpmiSim({ password: PASSWORD, powerCommand: qemu });
    cleanups.push(() => sim.stop());
    relay = await startUdpRelay(server, BMC_PORT, sim.port);
    cleanups.push(() => relay.stop());
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    wispd = await startWispdIn(server, data.dataDir, [
      "--listen-address", "0.0.0.0",
      "--dhcp-interface", "br0",
      "--public-ip", SERVER_IP,
      "--tftp-port", "69",
      "--syslog-port", "514",
      "--ipxe-dir", "/usr/lib/ipxe",
      "--artifacts-dir", artifactsDir,
      "--grpc-port", String(GRPC_PORT),
      "--agent-auth", "token",
      "--hook-registry", REGISTRY,
      "--bmc-poll-interval", "2",
    ]);
  }, SETUP_MS);

  afterAll(async () => {
    if (wispd) await wispd.stop();
    for (const c of cleanups.reverse()) await c();
    for (const r of registries.reverse()) await r.stop();
    await lab?.close();
    if (passed) rmSync(serialDir, { recursive: true, force: true });
    else if (serialDir) console.log(`netboot-e2e: serial console kept: ${serial}`);
  }, 60_000);

  test("PREPARING -> power off, one-time PXE, power on -> the VM fetches its script -> PENDING -> SUCCESS -> disk boot and power cycle", async () => {
    const file = join(work, "netboot.yaml");
    writeFileSync(file, manifests());
    const applied = await wisp("apply", "-f", file);
    expect(applied.trim().split("\n")).toEqual(["secret/nb-bmc created", "machine/nb-bmc created", "hardware/nb-vm created", "template/nb-tpl created", "workflow/nb-wf created"]);

    // The BMC job: ipmi_sim sees exactly power off, a PXE boot and power on (which starts the VM).
    const powered = await sim.waitFor((s) => s.power === "on", 60_000);
    expect(powered.events).toEqual(["power 0", "boot pxe", "power 1"]);
    await until("workflow PENDING", workflowState, (s) => s === "PENDING", 60_000);
    const job = JSON.parse(await wisp("get", "job", "nb-wf-netboot", "-o", "json"));
    expect(job.status).toMatchObject({ state: "Completed", workflow: "default/nb-wf", purpose: "netboot" });
    expect(job.status.steps.map((s: { action: string; state: string }) => `${s.action} ${s.state}`)).toEqual(["power off Completed", "one-time boot pxe Completed", "power on Completed"]);

    // The VM the BMC powered on PXE-boots from wispd: DHCP, then the iPXE script for its MAC.
    const script = await wispd.waitLog((l) => l.msg === "ipxe script served" && l.mac === VM.mac, BOOT_TIMEOUT_MS).catch((e: Error) => {
      throw new Error(`${e.message}\nserial:\n${serialTail()}`);
    });
    expect(script).toMatchObject({ hardware: `default/${VM.name}`, peer: VM.ip });
    expect(readFileSync(serial, "utf8")).toContain("iPXE");

    // The machine's power state, polled through the BMC.
    await until("machine polled on", async () => (await wisp("get", "machine", "nb-bmc")).split("\n")[1] ?? "", (row) => /\son\s+ipmitool\s/.test(row), 30_000);

    // The Hook boots with the agent token and the registry on its command line; its wisp-agent
    // pulls the action from the bridge's registry and runs it: the workflow ends SUCCESS.
    const token = readFileSync(join(wispd.dataDir, "agent-token"), "utf8").trim();
    const cmdline = await until("Hook kernel command line on the console", () => (existsSync(serial) ? readFileSync(serial, "utf8") : "").match(/Command line: (.*)/)?.[1] ?? "", (c) => c.length > 0, HOOK_TIMEOUT_MS);
    expect(cmdline.trim().split(/\s+/)).toEqual(expect.arrayContaining([`worker_id=${VM.mac}`, `wisp_agent_token=${token}`, `docker_registry=${REGISTRY}`]));
    await until("Hook agent started", () => existsSync(serial) && readFileSync(serial, "utf8").includes("wisp-hook: agent started"), (ok) => ok, HOOK_TIMEOUT_MS);
    await until("workflow SUCCESS", workflowState, (s) => s === "SUCCESS" || s === "FAILED" || s === "TIMEOUT", HOOK_TIMEOUT_MS);
    const wf = JSON.parse(await wisp("get", "wf", "nb-wf", "-o", "json")) as { status: { state: string; tasks: { actions: { name: string; state: string }[] }[] } };
    expect(wf.status.state).toBe("SUCCESS");
    expect(wf.status.tasks[0]!.actions.map((a) => `${a.name} ${a.state}`)).toEqual(["say-hello SUCCESS"]);
    const reported = wispd.logs.filter((l) => l.msg === "action status reported" && l.action === "say-hello").map((l) => String(l.state).toUpperCase());
    expect(reported).toContain("SUCCESS");
    // The action's output, from the container in the VM, is stored with the workflow.
    const said = await until(
      "the action's output in `wisp logs workflow`",
      async () => (await wisp("logs", "workflow", "nb-wf", "-o", "json")).trim().split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { actionName: string; line: string }),
      (lines) => lines.some((l) => l.actionName === "say-hello" && l.line === ACTION_SAYS),
      60_000,
    );
    expect(said.length).toBeGreaterThan(0);

    // After SUCCESS: PXE off again (toggleAllowNetboot), disk boot set persistently and a power cycle.
    const after = await sim.waitFor((s) => s.events.length >= 6 && s.events.slice(3).includes("power 1"), 60_000);
    expect(after.boot).toBe("default");
    expect(after.events.slice(3)).toEqual(["boot default", "power 0", "power 1"]);
    const disk = JSON.parse(await wisp("get", "job", "nb-wf-disk-boot", "-o", "json"));
    expect(disk.status.state).toBe("Completed");
    const hw = JSON.parse(await wisp("get", "hw", VM.name, "-o", "json"));
    expect(hw.spec.interfaces[0].netboot.allowPXE).toBe(false);
    const described = await wisp("describe", "wf", "nb-wf");
    expect(described).toContain("bmc.job");
    // The BMC's password is in no log line of wispd.
    expect(wispd.logs.map((l) => JSON.stringify(l)).join("\n")).not.toContain(PASSWORD);
    passed = true;
  }, BOOT_TIMEOUT_MS + HOOK_TIMEOUT_MS * 2 + 180_000);
});
