/**
 * The Hook really boots: the kernel and initramfs `buildHook` made, started directly by qemu
 * (TCG) on a tap in a namespace whose bridge is wispd's DHCP interface, with the kernel arguments
 * of wispd's own iPXE script for this Hardware. The console must show the network up with the
 * reserved address and dockerd ready, wispd must see the agent's first GetAction and hold the
 * Hook's syslog lines; then a workflow's action (image from a registry on the bridge) must run in
 * the Hook's dockerd and end SUCCESS, and its reboot action (pid: host, SIGTERM to PID 1) must
 * reboot the machine. Prints the time from power-on to each stage. Skips only when not root or
 * without /dev/net/tun.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHook } from "../../hook/build.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { createNetLab, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { TEST_IMAGE } from "../support/docker.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { startRegistry } from "../support/registry.ts";
import { captureUdp, requireQemu } from "../support/qemu.ts";
import { hardwareYaml, startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { startDirectVm, type DirectVm } from "./direct-vm.ts";

const CAN_RUN = IS_ROOT && existsSync("/dev/net/tun");
const ROOT = join(import.meta.dir, "..", "..");
const SERVER_IP = "10.79.0.1";
/**
 * Untagged on br0, and one whose Hardware has vlan_id. The test host's kernel has neither 8021q
 * nor bridge VLAN filtering, so nothing can answer on the VLAN: that machine is checked up to
 * its tagged DHCP requests on the wire.
 */
const MACHINES = {
  plain: { name: "hook-vm", mac: "52:54:00:79:00:20", ip: "10.79.0.20", gateway: SERVER_IP, label: "hook" },
  vlan: { name: "hook-vlan", mac: "52:54:00:79:00:21", ip: "10.80.0.21", gateway: "10.80.0.1", label: "hookvlan" },
} as const;
type Machine = (typeof MACHINES)[keyof typeof MACHINES];
const VLAN_ID = 100;
/** Debian's docker-registry on the bridge, plain HTTP: the Hook's dockerd gets --insecure-registry for it. */
const REGISTRY = `${SERVER_IP}:5000`;
const SMOKE_IMAGE = "hook-test/busybox:1";
const GRPC_PORT = 42113;
const AGENT_TOKEN = "hook-boot-test-token";
/** A cold build compresses ~260 MiB (zstd -12: about 25 s of CPU, minutes on a busy 2-core machine). */
const BUILD_TIMEOUT_MS = 15 * 60_000;
/** Power-on to the agent's first request under TCG: about a minute; dockerd alone can take tens of seconds. */
const BOOT_TIMEOUT_MS = 300_000;

type Log = Record<string, unknown>;
const logTime = (l: Log) => Date.parse(String(l.time));

describe.skipIf(!CAN_RUN)("Hook boot in qemu (TCG) against wispd", () => {
  let lab: NetLab;
  let server: Netns;
  let wispd: NsWispd;
  let work: string;
  let kernel: string;
  let initramfs: string;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    await requireQemu();
    await requireTools({ curl: "curl" });
    work = mkdtempSync(join(tmpdir(), "wisp-hook-boot-"));
    whenProcessGone(`rm -rf ${shellQuote(work)}`);
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const built = await buildHook({ outDir: join(work, "artifacts"), onProgress: (l) => console.log(`hook: ${l}`) });
    ({ kernel, initramfs } = built);
    lab = await createNetLab();
    server = await lab.namespace("srv");
    await lab.bridge(server, "br0", [], `${SERVER_IP}/24`);
    // The action image: TEST_IMAGE pushed to a loopback registry, served on the bridge by a second
    // registry on the same storage (the pushing dockerd cannot reach the namespace).
    const staging = await startRegistry();
    cleanups.push(() => staging.stop());
    await staging.push(TEST_IMAGE, SMOKE_IMAGE);
    const served = await startRegistry({ ns: server, host: SERVER_IP, port: 5000, storageDir: staging.storageDir });
    cleanups.push(() => served.stop());
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    wispd = await startWispdIn(server, data.dataDir, [
      "--listen-address", "0.0.0.0",
      "--dhcp-interface", "br0",
      "--log-level", "debug",
      "--artifacts-dir", join(work, "artifacts"),
      "--grpc-port", String(GRPC_PORT),
      "--agent-token", AGENT_TOKEN,
      "--hook-registry", REGISTRY,
    ]);
    const yaml = Object.values(MACHINES).map((m) => hardwareYaml({ name: m.name, mac: m.mac, ip: m.ip, gateway: m.gateway, dns: [m.gateway], hostname: m.name }));
    // hardwareYaml has no vlan_id: it goes beside the MAC of the VLAN machine's interface.
    yaml[1] = yaml[1]!.replace(`mac: ${MACHINES.vlan.mac}`, `mac: ${MACHINES.vlan.mac}\n        vlan_id: "${VLAN_ID}"`);
    await wispd.apply(yaml.join("---\n"), 2);
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    for (const c of cleanups.reverse()) await c();
    await lab?.close();
  }, 60_000);

  /** The kernel arguments wispd's iPXE script gives this machine (what iPXE would boot it with). */
  async function scriptArgs(m: Machine): Promise<string[]> {
    const script = await server.run(["curl", "-sS", "--max-time", "10", `${wispd.url}/ipxe/script/${m.mac}/auto.ipxe`]);
    const line = script.split("\n").find((l) => l.startsWith("kernel "));
    if (line === undefined) throw new Error(`no kernel line in the iPXE script:\n${script}`);
    const words = line.split(/\s+/);
    return words.slice(2, words.indexOf("&&"));
  }

  /** The Hardware's syslog lines (`wisp logs hardware -o json`) once they hold `re`; bounded. */
  async function hookSyslog(m: Machine, re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const out = await server.run(["node", join(ROOT, "bin", "wisp"), "logs", "hardware", m.name, "-o", "json"], { env: { WISP_SERVER: wispd.url, WISP_DATA_DIR: wispd.dataDir, WISP_TOKEN: "" } });
      if (re.test(out)) return out;
      if (performance.now() > deadline) throw new Error(`wispd's syslog for ${m.name} did not show ${re}:\n${out.slice(-2000)}`);
      await Bun.sleep(1000);
    }
  }

  /** Boots `m` with wispd's kernel arguments to the agent's first GetAction; returns the boot interface. */
  async function bootToAgent(m: Machine, then?: (vm: DirectVm, left: () => number, stages: [string, number][]) => Promise<void>): Promise<string> {
    const args = await scriptArgs(m);
    expect(args).toContain(`hw_addr=${m.mac}`);
    expect(args).toContain(`grpc_authority=${SERVER_IP}:${GRPC_PORT}`);
    // wispd's script does not carry the agent token yet; Hardware osie.kernelParams would.
    if (!args.some((a) => a.startsWith("wisp_agent_token="))) args.push(`wisp_agent_token=${AGENT_TOKEN}`);
    const append = args.join(" ");
    const vm: DirectVm = await startDirectVm({ ns: server, bridge: "br0", mac: m.mac, label: m.label, kernel, initrd: initramfs, append });
    const stages: [string, number][] = [];
    const left = ((end) => () => Math.max(1, end - performance.now()))(performance.now() + BOOT_TIMEOUT_MS);
    try {
      const linux = await vm.waitForSerial(/Linux version \S+/, left());
      stages.push(["kernel started", linux.ms]);
      const init = await vm.waitForSerial(/wisp-hook: init started/, left(), linux.end);
      stages.push(["init started", init.ms]);
      const modules = await vm.waitForSerial(/wisp-hook: modules loaded \((\d+)\)(.*)\r?\n/, left(), init.end);
      expect(modules.match[2]).not.toContain("failed");
      const net = await vm.waitForSerial(/wisp-hook: network up (\S+) iface=(\S+)/, left(), modules.end);
      stages.push(["network up", net.ms]);
      expect(net.match[1]).toBe(m.ip);
      const docker = await vm.waitForSerial(/wisp-hook: docker ready/, left(), net.end);
      stages.push(["docker ready", docker.ms]);
      const agent = await vm.waitForSerial(/wisp-hook: agent started/, left(), docker.end);
      stages.push(["agent started", agent.ms]);
      await vm.waitForSerial(/"msg":"wisp-agent started"/, left(), agent.end);
      // No workflow: wispd answers NOT_FOUND and logs it at debug, with the agent id (the MAC).
      const first = await wispd.waitLog((l) => l.method === "GetAction" && l.agentId === m.mac && logTime(l) >= vm.startedAt, left());
      stages.push(["first GetAction", logTime(first) - vm.startedAt]);
      expect(first.msg).toBe("no action for agent");
      expect(String(first.peer)).toContain(m.ip);
      // syslog_host: the Hook's syslogd forwarded init's lines to wispd, which kept them under the Hardware.
      const syslog = await hookSyslog(m, /docker ready/, left());
      expect(syslog).toContain("wisp-hook");
      await then?.(vm, left, stages);
      return net.match[2]!;
    } catch (e) {
      throw vm.explain(e);
    } finally {
      console.log(`Hook boot stages of ${m.name} (seconds since power-on):\n${stages.map(([s, ms]) => `  ${s.padEnd(16)} ${(ms / 1000).toFixed(1).padStart(6)} s`).join("\n")}`);
      await vm.close();
    }
  }

  test("boots to a running agent whose first GetAction reaches wispd, runs an action container, reboots on request", async () => {
    const m = MACHINES.plain;
    const iface = await bootToAgent(m, async (vm, left, stages) => {
      expect((await scriptArgs(m))).toContain(`docker_registry=${REGISTRY}`);
      // A workflow for the running agent: its image pulled from the bridge's registry (plain
      // HTTP), run by the Hook's dockerd (runc under DOCKER_RAMDISK, cgroup2, bridge network).
      const applied = performance.now();
      await wispd.apply(smokeWorkflow(m), Object.keys(MACHINES).length);
      const ended = await wispd.waitLog((l) => l.msg === "action status reported" && l.action === "in-container" && ["SUCCESS", "FAILED", "TIMEOUT"].includes(String(l.state).toUpperCase()), left());
      stages.push(["action ended", Date.now() - vm.startedAt]);
      console.log(`${m.name}: workflow applied to action ended: ${((performance.now() - applied) / 1000).toFixed(1)} s`);
      expect(String(ended.state).toUpperCase()).toBe("SUCCESS");
      const out = await server.run(["node", join(ROOT, "bin", "wisp"), "logs", "workflow", "hook-smoke"], { env: { WISP_SERVER: wispd.url, WISP_DATA_DIR: wispd.dataDir, WISP_TOKEN: "" } });
      expect(out).toContain("hook-action-ran");
      expect(out).toContain("0::/"); // cgroup v2's single hierarchy, as seen from the container
      // The last action signals PID 1 from pid: host, as busybox `reboot` does: busybox init stops
      // the agent and reboots (qemu -no-reboot then exits).
      const reboot = await wispd.waitLog((l) => l.msg === "action status reported" && l.action === "reboot" && ["SUCCESS", "FAILED", "TIMEOUT"].includes(String(l.state).toUpperCase()), left());
      expect(String(reboot.state).toUpperCase()).toBe("SUCCESS");
      await vm.waitForSerial(/wisp-hook: shutting down/, left());
      await vm.waitForSerial(/reboot: Restarting system/, left());
      stages.push(["rebooted", Date.now() - vm.startedAt]);
      expect(await Promise.race([vm.proc.exited, Bun.sleep(left()).then(() => "still running")])).toBe(0);
    });
    expect(iface).toBe("eth0");
  }, BOOT_TIMEOUT_MS + 30_000);

  test("with vlan_id, the Hook asks DHCP on the VLAN: 802.1Q-tagged requests on the wire", async () => {
    const m = MACHINES.vlan;
    const args = await scriptArgs(m);
    expect(args).toContain(`vlan_id=${VLAN_ID}`);
    args.push(`wisp_agent_token=${AGENT_TOKEN}`);
    const capture = await captureUdp(server, "br0", [67, 68]);
    let failed = true;
    const vm = await startDirectVm({ ns: server, bridge: "br0", mac: m.mac, label: m.label, kernel, initrd: initramfs, append: args.join(" ") });
    const left = ((end) => () => Math.max(1, end - performance.now()))(performance.now() + BOOT_TIMEOUT_MS);
    try {
      const dhcp = await vm.waitForSerial(/wisp-hook: dhcp on (\S+) \(mac (\S+)\)/, left());
      expect(dhcp.match[1]).toBe(`eth0.${VLAN_ID}`);
      expect(dhcp.match[2]).toBe(m.mac);
      console.log(`${m.name}: DHCP on eth0.${VLAN_ID} ${(dhcp.ms / 1000).toFixed(1)} s after power-on`);
      const deadline = performance.now() + 60_000;
      while (!taggedDhcpFrom(readFileSync(capture.file), m.mac, VLAN_ID)) {
        if (performance.now() > deadline) throw new Error(`no DHCP request tagged with VLAN ${VLAN_ID} from ${m.mac} on br0 within 60 s (capture kept: ${capture.file})`);
        await Bun.sleep(500);
      }
      failed = false;
    } catch (e) {
      throw vm.explain(e);
    } finally {
      await vm.close();
      await capture.stop({ keep: failed });
    }
  }, BOOT_TIMEOUT_MS + 30_000);
});

/** A Template (one action on the registry's image) and its Workflow for machine `m`. */
function smokeWorkflow(m: Machine): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Template
metadata:
  name: hook-smoke
  namespace: default
spec:
  data: |
    version: "0.1"
    name: hook-smoke
    global_timeout: 600
    tasks:
      - name: "smoke"
        worker: "{{.device_1}}"
        actions:
          - name: "in-container"
            image: ${REGISTRY}/${SMOKE_IMAGE}
            timeout: 300
            command: ["sh", "-c", "echo hook-action-ran; cat /proc/self/cgroup"]
          - name: "reboot"
            image: ${REGISTRY}/${SMOKE_IMAGE}
            timeout: 120
            pid: host
            command: ["sh", "-c", "kill -TERM 1"]
            environment:
              WISP_REBOOT: "true"
---
apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata:
  name: hook-smoke
  namespace: default
spec:
  templateRef: hook-smoke
  hardwareRef: ${m.name}
  hardwareMap:
    device_1: "${m.mac}"
`;
}

/** Whether a pcap (Ethernet) holds a frame from `mac` with an 802.1Q tag of `vlan` carrying UDP to port 67. */
function taggedDhcpFrom(pcap: Uint8Array, mac: string, vlan: number): boolean {
  if (pcap.length < 24) return false;
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
  const src = mac.split(":").map((h) => parseInt(h, 16));
  for (let off = 24; off + 16 <= pcap.length; ) {
    const caplen = dv.getUint32(off + 8, le);
    const f = off + 16;
    if (f + caplen > pcap.length) break;
    // dst(6) src(6) 0x8100 TCI(2) 0x0800 IPv4 ... UDP dst port
    if (caplen >= 18 + 20 + 8 && src.every((b, i) => pcap[f + 6 + i] === b) && dv.getUint16(f + 12) === 0x8100 && (dv.getUint16(f + 14) & 0x0fff) === vlan && dv.getUint16(f + 16) === 0x0800) {
      const udp = f + 18 + (pcap[f + 18]! & 0x0f) * 4;
      if (pcap[f + 18 + 9] === 17 && dv.getUint16(udp + 2) === 67) return true;
    }
    off = f + caplen;
  }
  return false;
}
