/**
 * Real firmware network-boots from wispd: qemu (TCG) VMs on a tap in a network namespace whose
 * bridge is wispd's DHCP interface. wispd answers DHCP (reservation mode), serves iPXE over
 * TFTP and the iPXE script and a small kernel and initrd over HTTP; the initrd prints a marker
 * and powers the VM off. Each test checks every stage in wispd's logs, on the wire (a capture
 * of the DHCP packets, decoded by our own codec) and on the VM's serial console, and prints the
 * time each stage took. Skips only when not root or without /dev/net/tun.
 *
 * What each firmware sends first: qemu's NIC ROM is iPXE, which does DHCP as iPXE (user class
 * "iPXE") under SeaBIOS and OVMF alike, so it is given the script URL at once (COMPAT 2: stock
 * iPXE fetches the script itself). A plain PXE client that must first load iPXE over TFTP is
 * OVMF's own PXE (no NIC ROM): arch 7, `ipxe.efi`, then the loaded iPXE asks again as iPXE.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyDhcp, type DhcpClassification } from "../../daemon/dhcp/classify.ts";
import { BOOTREQUEST, decodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { getOption } from "../../daemon/dhcp/options.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { createNetLab, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { captureUdp, findKernel, MARKER_PREFIX, markerInitrd, requireQemu, withVm, wrapped, type CapturedDatagram, type UdpCapture, type Vm, type VmOptions } from "../support/qemu.ts";
import { hardwareYaml, startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { budget } from "./support/budget.ts";

const CAN_RUN = IS_ROOT && existsSync("/dev/net/tun");
const SERVER_IP = "10.78.0.1";
/** Debian's ipxe package: undionly.kpxe, ipxe.efi. */
const IPXE_DIR = "/usr/lib/ipxe";
const GRPC_PORT = 42113;
/** Bound on one VM's whole boot under TCG. */
const BOOT_TIMEOUT_MS = 180_000;
const MACHINES = {
  bios: { name: "vm-bios", mac: "52:54:00:78:00:10", ip: "10.78.0.10", uefi: false },
  uefi: { name: "vm-uefi", mac: "52:54:00:78:00:11", ip: "10.78.0.11", uefi: true },
  uefiRom: { name: "vm-uefi-rom", mac: "52:54:00:78:00:12", ip: "10.78.0.12", uefi: true },
} as const;
type Machine = (typeof MACHINES)[keyof typeof MACHINES];

/** A VM's Hardware: its address reserved on the bridge, UEFI or not. */
const machineHardware = (m: Machine): string => hardwareYaml({ name: m.name, mac: m.mac, ip: m.ip, gateway: SERVER_IP, hostname: m.name, uefi: m.uefi });

type Log = Record<string, unknown>;
const logTime = (l: Log) => Date.parse(String(l.time));

/** A DHCP packet seen on the bridge, decoded and classified by our own code. */
interface SeenDhcp {
  epochMs: number;
  packet: DhcpPacket;
  cls: DhcpClassification;
}

function seenDhcp(d: CapturedDatagram): SeenDhcp | undefined {
  const decoded = decodeDhcp(d.payload);
  return decoded.ok ? { epochMs: d.epochMs, packet: decoded.value, cls: classifyDhcp(decoded.value) } : undefined;
}

/** Waits for a DHCP request from `mac` on the wire that satisfies `match`. */
async function request(capture: UdpCapture, mac: string, match: (s: SeenDhcp) => boolean, timeoutMs: number): Promise<SeenDhcp> {
  const wanted = (s: SeenDhcp | undefined): s is SeenDhcp => s !== undefined && s.packet.op === BOOTREQUEST && s.cls.mac === mac && match(s);
  return seenDhcp(await capture.waitFor((d) => wanted(seenDhcp(d)), timeoutMs))!;
}

describe.skipIf(!CAN_RUN)("PXE boot of qemu VMs from wispd (TCG, network namespace)", () => {
  let lab: NetLab;
  let server: Netns;
  let wispd: NsWispd;
  let work: string;
  let marker: string;
  let artifactsDir: string;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    await requireQemu();
    await requireTools({ curl: "curl", busybox: "busybox" });
    if (!existsSync(join(IPXE_DIR, "ipxe.efi"))) throw new Error(`no ${IPXE_DIR}/ipxe.efi: apt-get install ipxe`);
    const kernel = findKernel();
    lab = await createNetLab();
    server = await lab.namespace("srv");
    // A bridge with no ports yet: each VM's tap joins it.
    await lab.bridge(server, "br0", [], `${SERVER_IP}/24`);
    work = mkdtempSync(join(tmpdir(), "wisp-pxe-"));
    whenProcessGone(`rm -rf ${shellQuote(work)}`);
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    // Hook's names (COMPAT 3), which the default script asks for with arch x86_64.
    artifactsDir = join(work, "artifacts");
    marker = `booted-${lab.prefix}`;
    mkdirSync(artifactsDir);
    copyFileSync(kernel, join(artifactsDir, "vmlinuz-x86_64"));
    writeFileSync(join(artifactsDir, "initramfs-x86_64"), await markerInitrd(marker));
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    wispd = await startWispdIn(server, data.dataDir, [
      "--listen-address", "0.0.0.0",
      "--dhcp-interface", "br0",
      "--log-level", "debug",
      "--tftp-port", "69",
      "--ipxe-dir", IPXE_DIR,
      "--artifacts-dir", artifactsDir,
      "--grpc-port", String(GRPC_PORT),
    ]);
    await wispd.waitLog((l) => l.msg === "tftp listening");
    await wispd.apply(Object.values(MACHINES).map(machineHardware).join("---\n"), Object.keys(MACHINES).length);
  }, 90_000);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    await lab?.close();
    for (const c of cleanups.reverse()) await c();
  });

  /** The script URL wispd's DHCP gives iPXE for `m`. */
  const scriptUrl = (m: Machine) => `http://${SERVER_IP}:${new URL(wispd.url).port}/ipxe/script/${m.mac}/auto.ipxe`;

  /** Boots a VM with a DHCP capture running; prints the stage timings whatever happens. */
  async function boot(m: Machine, opts: Omit<VmOptions, "ns" | "bridge" | "mac">, fn: (vm: Vm, capture: UdpCapture, left: () => number) => Promise<void>): Promise<void> {
    const capture = await captureUdp(server, "br0", [67, 68]);
    let failed = true;
    try {
      await withVm({ ns: server, bridge: "br0", mac: m.mac, ...opts }, async (vm) => {
        try {
          await fn(vm, capture, budget(BOOT_TIMEOUT_MS - 10_000));
        } finally {
          console.log(`stages of ${m.name} (${opts.firmware ?? "bios"}, rom ${opts.rom ?? "ipxe"}), seconds since qemu started:\n${vm.report()}`);
        }
      });
      failed = false;
    } catch (e) {
      // withVm has put the serial console in the message; the capture and wispd's side go after it.
      if (e instanceof Error) e.message += `\nDHCP capture (kept): ${capture.file}\nwispd's last lines:\n${wispd.logs.slice(-20).map((l) => JSON.stringify(l)).join("\n")}`;
      throw e;
    } finally {
      await capture.stop({ keep: failed });
    }
  }

  /** wispd's DHCP reply of type `message` to `mac`, logged since the VM started, recorded as `stage`. */
  async function dhcpReply(vm: Vm, mac: string, message: "OFFER" | "ACK", stage: string, left: () => number, match: (l: Log) => boolean = () => true): Promise<Log> {
    const l = await wispd.waitLog((l) => l.msg === "dhcp reply" && l.mac === mac && l.message === message && logTime(l) >= vm.startedAt && match(l), left());
    vm.mark(stage, logTime(l));
    return l;
  }

  /** From "Linux version" to the marker and the power-off: the kernel wispd served ran our initrd. */
  async function kernelToPowerOff(vm: Vm, m: Machine, left: () => number): Promise<void> {
    const linux = await vm.waitForSerial(/Linux version \S+/, left(), { mark: "kernel started" });
    const cmdline = await vm.waitForSerial(/Command line: (.*)\r?\n/, left(), { after: linux.end });
    const args = cmdline.match[1]!.trim().split(/\s+/);
    expect(args).toContain(`worker_id=${m.mac}`);
    expect(args).toContain(`hw_addr=${m.mac}`);
    expect(args).toContain(`grpc_authority=${SERVER_IP}:${GRPC_PORT}`);
    expect(args).toContain("initrd=initramfs-x86_64");
    expect(args).toContain("console=ttyS0,115200");
    const seen = await vm.waitForSerial(new RegExp(`${MARKER_PREFIX} ${marker} cmdline=(.*)\\r?\\n`), left(), { after: cmdline.end, mark: "initrd marker" });
    expect(seen.match[1]).toContain(`worker_id=${m.mac}`);
    await vm.waitForSerial(/reboot: Power down/, left(), { after: seen.end });
    expect(await vm.exited(left())).toBe(0);
    vm.mark("powered off");
  }

  /** iPXE (the ROM, or one loaded over TFTP) has the script URL and fetches the script, the kernel and the initrd over HTTP. */
  async function ipxeFetches(vm: Vm, m: Machine, left: () => number, after = 0): Promise<void> {
    const filename = await vm.waitForSerial(new RegExp(wrapped(`Filename: ${scriptUrl(m)}`)), left(), { after });
    const script = await wispd.waitLog((l) => l.msg === "ipxe script served" && l.mac === m.mac && logTime(l) >= vm.startedAt, left());
    vm.mark("script fetched", logTime(script));
    expect(script).toMatchObject({ hardware: `default/${m.name}`, peer: m.ip, source: "hook" });
    await vm.waitForSerial(new RegExp(wrapped("/auto.ipxe... ok")), left(), { after: filename.end });
    for (const [file, stage] of [["vmlinuz-x86_64", "kernel fetched"], ["initramfs-x86_64", "initrd fetched"]] as const) {
      await vm.waitForSerial(new RegExp(wrapped(`/artifacts/${file}... ok`)), left(), { after: filename.end, mark: stage });
      const served = await wispd.waitLog((l) => l.msg === "artifact served" && l.path === file && String(l.peer).startsWith(m.ip) && logTime(l) >= vm.startedAt, left());
      expect(served).toMatchObject({ status: 200, bytes: Bun.file(join(artifactsDir, file)).size });
    }
  }

  test("SeaBIOS with qemu's iPXE ROM: DHCP as iPXE (arch 0) -> script URL -> script, kernel and initrd over HTTP -> the kernel runs the initrd", async () => {
    const m = MACHINES.bios;
    await boot(m, { label: "bios", firmware: "bios", rom: "ipxe" }, async (vm, capture, left) => {
      await vm.waitForSerial(/iPXE initialising devices/, left(), { mark: "rom started" });
      const offer = await dhcpReply(vm, m.mac, "OFFER", "dhcp offer", left);
      expect(offer).toMatchObject({ iface: "br0", hardware: `default/${m.name}`, yiaddr: m.ip, bootFile: scriptUrl(m) });
      await dhcpReply(vm, m.mac, "ACK", "dhcp ack", left);
      const configured = await vm.waitForSerial(new RegExp(wrapped(`net0: ${m.ip}/255.255.255.0 gw ${SERVER_IP}`)), left());
      const discover = await request(capture, m.mac, (s) => s.cls.messageType === 1, left());
      vm.mark("dhcp discover", discover.epochMs);
      expect(discover.cls).toMatchObject({ client: "pxe", userClass: "ipxe", arch: 0, boot: { kind: "script" } });
      await ipxeFetches(vm, m, left, configured.end);
      await kernelToPowerOff(vm, m, left);
    });
  }, BOOT_TIMEOUT_MS);

  test("UEFI (OVMF) with its own PXE: DHCP as PXEClient arch 7 -> ipxe.efi over TFTP -> iPXE asks again as iPXE -> script, kernel, initrd -> the kernel runs the initrd", async () => {
    const m = MACHINES.uefi;
    await boot(m, { label: "uefi", firmware: "uefi", rom: "none" }, async (vm, capture, left) => {
      await vm.waitForSerial(/Start PXE over IPv4/, left(), { mark: "firmware pxe started" });
      const offer = await dhcpReply(vm, m.mac, "OFFER", "dhcp offer", left, (l) => l.bootFile === "ipxe.efi");
      expect(offer).toMatchObject({ iface: "br0", hardware: `default/${m.name}`, yiaddr: m.ip, bootFile: "ipxe.efi", nextServer: SERVER_IP });
      await dhcpReply(vm, m.mac, "ACK", "dhcp ack", left, (l) => l.bootFile === "ipxe.efi");
      await vm.waitForSerial(/NBP filename is ipxe\.efi/, left());
      const tftp = await wispd.waitLog((l) => l.msg === "tftp transfer complete" && l.path === "ipxe.efi" && logTime(l) >= vm.startedAt, left());
      vm.mark("tftp done", logTime(tftp));
      expect(tftp).toMatchObject({ result: "complete", size: Bun.file(join(IPXE_DIR, "ipxe.efi")).size });
      expect(String(tftp.peer)).toStartWith(`${m.ip}:`);
      const started = await vm.waitForSerial(/iPXE initialising devices/, left(), { mark: "ipxe.efi started" });
      // The loaded iPXE asks again, now as stock iPXE, and gets the script URL.
      const ipxeOffer = await dhcpReply(vm, m.mac, "OFFER", "ipxe dhcp offer", left, (l) => String(l.bootFile).includes("/ipxe/script/"));
      expect(ipxeOffer).toMatchObject({ yiaddr: m.ip, bootFile: scriptUrl(m) });
      const first = await request(capture, m.mac, () => true, left());
      vm.mark("dhcp discover", first.epochMs);
      expect(first.cls).toMatchObject({ messageType: 1, client: "pxe", userClass: undefined, arch: 7, boot: { kind: "binary", file: "ipxe.efi", transport: "tftp" } });
      expect(getOption(first.packet, 60)).toStartWith("PXEClient:Arch:00007");
      const again = await request(capture, m.mac, (s) => s.cls.userClass === "ipxe", left());
      vm.mark("ipxe dhcp discover", again.epochMs);
      expect(again.cls).toMatchObject({ messageType: 1, client: "pxe", arch: 7, boot: { kind: "script" } });
      await ipxeFetches(vm, m, left, started.end);
      await kernelToPowerOff(vm, m, left);
    });
  }, BOOT_TIMEOUT_MS);

  test("UEFI (OVMF) with qemu's iPXE ROM: the ROM's iPXE (arch 7) gets the script URL at once -> the kernel runs the initrd", async () => {
    const m = MACHINES.uefiRom;
    await boot(m, { label: "uefirom", firmware: "uefi", rom: "ipxe" }, async (vm, capture, left) => {
      await vm.waitForSerial(/iPXE initialising devices|Open Source Network Boot Firmware/, left(), { mark: "rom started" });
      const offer = await dhcpReply(vm, m.mac, "OFFER", "dhcp offer", left);
      expect(offer).toMatchObject({ yiaddr: m.ip, bootFile: scriptUrl(m) });
      const discover = await request(capture, m.mac, (s) => s.cls.messageType === 1, left());
      vm.mark("dhcp discover", discover.epochMs);
      expect(discover.cls).toMatchObject({ client: "pxe", userClass: "ipxe", arch: 7, boot: { kind: "script" } });
      await ipxeFetches(vm, m, left);
      await kernelToPowerOff(vm, m, left);
    });
  }, BOOT_TIMEOUT_MS);
});
