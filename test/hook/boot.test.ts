/**
 * The Hook really boots: the kernel and initramfs `buildHook` made, started directly by qemu
 * (TCG) on a tap in a namespace whose bridge is wispd's DHCP interface, with the kernel arguments
 * of wispd's own iPXE script for this Hardware. The console must show the network up with the
 * reserved address and dockerd ready, wispd must see the agent's first GetAction and hold the
 * Hook's syslog lines. Prints the time from power-on to each stage. Skips only when not root or
 * without /dev/net/tun.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHook } from "../../hook/build.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { createNetLab, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { requireQemu } from "../support/qemu.ts";
import { hardwareYaml, startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { startDirectVm, type DirectVm } from "./direct-vm.ts";

const CAN_RUN = IS_ROOT && existsSync("/dev/net/tun");
const ROOT = join(import.meta.dir, "..", "..");
const SERVER_IP = "10.79.0.1";
const MAC = "52:54:00:79:00:20";
const VM_IP = "10.79.0.20";
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
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    wispd = await startWispdIn(server, data.dataDir, [
      "--listen-address", "0.0.0.0",
      "--dhcp-interface", "br0",
      "--log-level", "debug",
      "--artifacts-dir", join(work, "artifacts"),
      "--grpc-port", String(GRPC_PORT),
      "--agent-token", AGENT_TOKEN,
    ]);
    await wispd.apply(hardwareYaml({ name: "hook-vm", mac: MAC, ip: VM_IP, gateway: SERVER_IP, dns: [SERVER_IP], hostname: "hook-vm" }), 1);
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    await lab?.close();
    for (const c of cleanups.reverse()) await c();
  }, 60_000);

  /** The kernel arguments wispd's iPXE script gives this machine (what iPXE would boot it with). */
  async function scriptArgs(): Promise<string[]> {
    const script = await server.run(["curl", "-sS", "--max-time", "10", `${wispd.url}/ipxe/script/${MAC}/auto.ipxe`]);
    const line = script.split("\n").find((l) => l.startsWith("kernel "));
    if (line === undefined) throw new Error(`no kernel line in the iPXE script:\n${script}`);
    const words = line.split(/\s+/);
    return words.slice(2, words.indexOf("&&"));
  }

  /** The Hardware's syslog lines (`wisp logs hardware -o json`) once they hold `re`; bounded. */
  async function hookSyslog(re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const out = await server.run(["node", join(ROOT, "bin", "wisp"), "logs", "hardware", "hook-vm", "-o", "json"], { env: { WISP_SERVER: wispd.url, WISP_DATA_DIR: wispd.dataDir, WISP_TOKEN: "" } });
      if (re.test(out)) return out;
      if (performance.now() > deadline) throw new Error(`wispd's syslog for hook-vm did not show ${re}:\n${out.slice(-2000)}`);
      await Bun.sleep(1000);
    }
  }

  test("boots to a running agent whose first GetAction reaches wispd", async () => {
    const args = await scriptArgs();
    expect(args).toContain(`hw_addr=${MAC}`);
    expect(args).toContain(`grpc_authority=${SERVER_IP}:${GRPC_PORT}`);
    // wispd's script does not carry the agent token yet; Hardware osie.kernelParams would.
    if (!args.some((a) => a.startsWith("wisp_agent_token="))) args.push(`wisp_agent_token=${AGENT_TOKEN}`);
    const append = args.join(" ");
    const vm: DirectVm = await startDirectVm({ ns: server, bridge: "br0", mac: MAC, label: "hook", kernel, initrd: initramfs, append });
    const stages: [string, number][] = [];
    const left = ((end) => () => Math.max(1, end - performance.now()))(performance.now() + BOOT_TIMEOUT_MS);
    try {
      const linux = await vm.waitForSerial(/Linux version \S+/, left());
      stages.push(["kernel started", linux.ms]);
      const init = await vm.waitForSerial(/wisp-hook: init started/, left(), linux.end);
      stages.push(["init started", init.ms]);
      const modules = await vm.waitForSerial(/wisp-hook: modules loaded \((\d+)\)(.*)/, left(), init.end);
      expect(modules.match[2]).not.toContain("failed");
      const net = await vm.waitForSerial(/wisp-hook: network up (\S+) iface=(\S+)/, left(), modules.end);
      stages.push(["network up", net.ms]);
      expect(net.match[1]).toBe(VM_IP);
      const docker = await vm.waitForSerial(/wisp-hook: docker ready/, left(), net.end);
      stages.push(["docker ready", docker.ms]);
      const agent = await vm.waitForSerial(/wisp-hook: agent started/, left(), docker.end);
      stages.push(["agent started", agent.ms]);
      await vm.waitForSerial(/"msg":"wisp-agent started"/, left(), agent.end);
      // No workflow: wispd answers NOT_FOUND and logs it at debug, with the agent id (the MAC).
      const first = await wispd.waitLog((l) => l.method === "GetAction" && l.agentId === MAC && logTime(l) >= vm.startedAt, left());
      stages.push(["first GetAction", logTime(first) - vm.startedAt]);
      expect(first.msg).toBe("no action for agent");
      expect(String(first.peer)).toContain(VM_IP);
      // syslog_host: the Hook's syslogd forwarded init's lines to wispd, which kept them under the Hardware.
      const syslog = await hookSyslog(/docker ready/, left());
      expect(syslog).toContain("wisp-hook");
    } catch (e) {
      throw vm.explain(e);
    } finally {
      console.log(`Hook boot stages (seconds since power-on):\n${stages.map(([s, ms]) => `  ${s.padEnd(16)} ${(ms / 1000).toFixed(1).padStart(6)} s`).join("\n")}`);
      await vm.close();
    }
  }, BOOT_TIMEOUT_MS + 30_000);
});
