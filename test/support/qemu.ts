/**
 * qemu VMs that network-boot from wispd inside a test's network namespace: a tap on the
 * namespace's bridge, SeaBIOS or OVMF, Debian's iPXE option ROM (or the firmware's own PXE),
 * the serial console captured to a file that is kept when a test fails, stage timings, a DHCP
 * capture on the bridge, and a tiny initrd that prints a marker and powers the VM off. TCG only
 * (`-accel tcg -cpu max`): no test may need KVM. Needs root; everything is removed by close()
 * and, if the test process dies first, by a watcher (see cleanup.ts).
 */
import type { Subprocess } from "bun";
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpioArchive, type CpioEntry } from "../../hook/cpio.ts";
import { shellQuote, whenProcessGone } from "./cleanup.ts";
import { execHost, requireTools, type Netns } from "./netns.ts";

/** Debian's iPXE option ROMs for qemu (package ipxe-qemu, a dependency of qemu-system-x86). */
export const IPXE_ROM_DIR = "/usr/lib/ipxe/qemu";
/** The virtio-net ROM: one image holding iPXE for BIOS (PXE ROM) and for UEFI (EFI driver). */
export const IPXE_VIRTIO_ROM = join(IPXE_ROM_DIR, "efi-virtio.rom");
/** OVMF (package ovmf): code, read-only, and the variable store template each VM gets a copy of. */
export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd";
export const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd";
/** The tools and files the harness drives, by Debian package. */
export const QEMU_PACKAGES = { qemu: "qemu-system-x86", rom: "ipxe-qemu", ovmf: "ovmf", img: "qemu-utils", tcpdump: "tcpdump" } as const;
/** How often the serial log and the capture file are read while waiting. */
const POLL_MS = 100;
/** How long qemu may take to go after SIGTERM before it is killed. */
const STOP_GRACE_MS = 3_000;
/** Lines of the serial console quoted in a failure message. */
const TAIL_LINES = 40;

/** Throws naming the Debian package of each missing tool or file (tests never skip for them). */
export async function requireQemu(): Promise<void> {
  await requireTools({ "qemu-system-x86_64": QEMU_PACKAGES.qemu, "qemu-img": QEMU_PACKAGES.img, tcpdump: QEMU_PACKAGES.tcpdump });
  const missing = [
    [IPXE_VIRTIO_ROM, QEMU_PACKAGES.rom],
    [OVMF_CODE, QEMU_PACKAGES.ovmf],
    [OVMF_VARS, QEMU_PACKAGES.ovmf],
  ].filter(([file]) => !existsSync(file!));
  if (missing.length > 0) throw new Error(`missing files: ${missing.map(([f, p]) => `${f} (apt-get install ${p})`).join(", ")}`);
}

export interface VmOptions {
  /** The namespace qemu and its tap live in. */
  ns: Netns;
  /** The bridge in `ns` the tap joins (wispd's DHCP interface). */
  bridge: string;
  /** The NIC's MAC, lower-case colon form (the Hardware's). */
  mac: string;
  /** Short label: the tap is `tap-<label>` (at most 11 characters). */
  label: string;
  /** SeaBIOS (qemu's default) or UEFI with OVMF. */
  firmware?: "bios" | "uefi";
  /**
   * The NIC's option ROM: "ipxe" (default) is Debian's iPXE, which does DHCP itself as iPXE
   * under either firmware; "none" leaves OVMF's own PXE (a plain PXE client) to boot, and
   * SeaBIOS with nothing to boot from the network.
   */
  rom?: "ipxe" | "none";
  memoryMb?: number;
  /** A blank virtio disk of this size, second in the boot order. */
  diskGb?: number;
  /** Exit when the guest reboots (default true): a boot loop ends the VM instead of repeating. */
  noReboot?: boolean;
  /** Console text that means the boot has failed: waits end at once (default DEFAULT_FAIL_ON). */
  failOn?: RegExp;
}

/** What firmware, iPXE and Linux print when a network boot has gone wrong for good. */
export const DEFAULT_FAIL_ON = /No more network devices|No bootable device|Kernel panic|Wisp: giving up/;

/** A serial console match: the regex result, where it ends in the text, and when it was seen. */
export interface SerialMatch {
  match: RegExpExecArray;
  /** Offset in serialText() just past the match; pass as `after` to look further on. */
  end: number;
  /** Milliseconds since the VM started (to the poll that saw it). */
  ms: number;
}

/** A running VM. */
export interface Vm extends AsyncDisposable {
  readonly label: string;
  readonly tap: string;
  /** The serial console's file; kept after close() when a wait failed or keep() was called. */
  readonly serialLog: string;
  /** Date.now() when qemu was started. */
  readonly startedAt: number;
  readonly proc: Subprocess;
  /** The console so far as the screen shows it (consoleText): no terminal escapes or carriage returns, backspaces applied. */
  serialText(): string;
  /**
   * Waits for `re` in the console (after offset `after`); records `mark` when given. Fails on
   * timeout, on qemu's exit, and when the console shows `failOn` after `after`. The console is
   * read as it is written, so a capture that runs to the end of a line must end the pattern
   * with `\n` (`(.*)\n`), or it may match half a line.
   */
  waitForSerial(re: RegExp, timeoutMs: number, opts?: { after?: number; mark?: string }): Promise<SerialMatch>;
  /** Records a stage at `epochMs` (default now), as milliseconds since the VM started. First record wins. */
  mark(stage: string, epochMs?: number): void;
  /** Stages recorded so far, in the order they happened. */
  marks(): { stage: string; ms: number }[];
  /** The stages as aligned lines: time since start and since the previous stage. */
  report(): string;
  /** Resolves to qemu's exit code (null when killed by a signal). */
  exited(timeoutMs: number): Promise<number | null>;
  /** Keeps the serial log (and qemu's stderr) after close(). */
  keep(): void;
  /** `e` (an Error, or one made of it) with where the serial log is kept, the stages and the log's last lines added; keeps the log. */
  explain(e: unknown): Error;
  /** Stops qemu (SIGTERM, then SIGKILL). */
  kill(): Promise<void>;
  /** kill(), removes the tap, the disk and firmware copies, and the serial log unless kept. */
  close(): Promise<void>;
}

/** Starts qemu in `opts.ns` on a new tap in `opts.bridge`; close it in `finally` (or use withVm). */
export async function startVm(opts: VmOptions): Promise<Vm> {
  const { ns, bridge, mac, label } = opts;
  const tap = `tap-${label}`;
  if (tap.length > 15) throw new Error(`label ${JSON.stringify(label)}: at most 11 characters`);
  const dir = mkdtempSync(join(tmpdir(), `wisp-qemu-${label}-`));
  const serialLog = join(dir, "serial.log");
  const stderrLog = join(dir, "qemu.stderr");
  const scratch: string[] = []; // large files removed even when the log is kept
  // The watcher checks that the pid is still our qemu (its command line names our directory).
  const pidFile = join(dir, "qemu.pid");
  const gone = [
    `pid=$(cat ${shellQuote(pidFile)} 2>/dev/null) && tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF ${shellQuote(dir)} && kill -9 $pid`,
    `ip -n ${shellQuote(ns.name)} link del ${shellQuote(tap)} 2>/dev/null`,
    `rm -f ${shellQuote(join(dir, "OVMF_VARS.fd"))} ${shellQuote(join(dir, "disk.qcow2"))}`,
  ].join("; ");
  whenProcessGone(gone);

  await ns.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
  await ns.run(["ip", "link", "set", tap, "master", bridge]);
  await ns.run(["ip", "link", "set", tap, "up"]);

  const argv = ["qemu-system-x86_64", "-name", `wisp-${label}`, "-accel", "tcg", "-cpu", "max", "-m", String(opts.memoryMb ?? 1024)];
  // -nographic: SeaBIOS then copies what option ROMs print (iPXE) to the serial port; the
  // monitor is off and the console goes to the file, so nothing uses stdio.
  argv.push("-nographic", "-monitor", "none", "-serial", `file:${serialLog}`, "-pidfile", pidFile);
  if (opts.noReboot ?? true) argv.push("-no-reboot");
  if (opts.firmware === "uefi") {
    const vars = join(dir, "OVMF_VARS.fd");
    copyFileSync(OVMF_VARS, vars);
    scratch.push(vars);
    argv.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, "-drive", `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  // Debian's ROMs carry the PCI ID of a modern virtio-net (1af4:1041); qemu patches IDs only into
  // its default ROM, so on the transitional device (1af4:1000) SeaBIOS skips a ROM given by path.
  // bootindex, unlike `-boot n`, is honoured by OVMF as well as SeaBIOS.
  const romfile = (opts.rom ?? "ipxe") === "ipxe" ? IPXE_VIRTIO_ROM : "";
  argv.push("-netdev", `tap,id=n0,ifname=${tap},script=no,downscript=no`);
  argv.push("-device", `virtio-net-pci,netdev=n0,mac=${mac},disable-legacy=on,romfile=${romfile},bootindex=1`);
  if (opts.diskGb !== undefined) {
    const disk = join(dir, "disk.qcow2");
    const r = await execHost(["qemu-img", "create", "-q", "-f", "qcow2", disk, `${opts.diskGb}G`]);
    if (r.code !== 0) throw new Error(`qemu-img create: ${r.stderr.trim()}`);
    scratch.push(disk);
    argv.push("-drive", `file=${disk},if=none,id=d0,format=qcow2`, "-device", "virtio-blk-pci,drive=d0,bootindex=2");
  }

  const startedAt = Date.now();
  const proc = ns.spawn(argv);
  const stderr = Bun.write(stderrLog, new Response(proc.stderr));
  void new Response(proc.stdout).arrayBuffer();
  const console_ = serialReader(serialLog);
  const stages = new Map<string, number>();
  const failOn = opts.failOn ?? DEFAULT_FAIL_ON;
  let kept = false;

  const tail = () => console_.text().split("\n").slice(-TAIL_LINES).join("\n");
  const vm: Vm = {
    label,
    tap,
    serialLog,
    startedAt,
    proc,
    serialText: () => console_.text(),
    async waitForSerial(re, timeoutMs, o = {}) {
      const deadline = performance.now() + timeoutMs;
      const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
      for (;;) {
        const text = console_.text();
        global.lastIndex = o.after ?? 0;
        const match = global.exec(text);
        if (match) {
          const ms = Date.now() - startedAt;
          if (o.mark) vm.mark(o.mark);
          return { match, end: match.index + match[0].length, ms };
        }
        const failed = failOn.exec(text.slice(o.after ?? 0));
        if (failed) {
          kept = true;
          throw new Error(`the console shows ${JSON.stringify(failed[0])} while waiting for ${re}`);
        }
        if (proc.exitCode !== null || proc.signalCode !== null) {
          kept = true;
          await stderr;
          throw new Error(`qemu exited (${proc.exitCode ?? proc.signalCode}) before the console showed ${re}: ${readText(stderrLog).trim()}`);
        }
        if (performance.now() > deadline) {
          kept = true;
          throw new Error(`the console did not show ${re} within ${timeoutMs} ms`);
        }
        await Bun.sleep(POLL_MS);
      }
    },
    mark(stage, epochMs = Date.now()) {
      if (!stages.has(stage)) stages.set(stage, epochMs - startedAt);
    },
    marks: () => [...stages].map(([stage, ms]) => ({ stage, ms })).sort((a, b) => a.ms - b.ms),
    report() {
      const rows = vm.marks();
      const width = Math.max(0, ...rows.map((r) => r.stage.length));
      return rows.map((r, i) => `  ${r.stage.padEnd(width)}  ${seconds(r.ms).padStart(7)}  (+${seconds(r.ms - (rows[i - 1]?.ms ?? 0))})`).join("\n");
    },
    async exited(timeoutMs) {
      let timer: Timer | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`qemu still running after ${timeoutMs} ms`)), timeoutMs)));
      try {
        await Promise.race([proc.exited, timeout]);
        return proc.exitCode;
      } finally {
        clearTimeout(timer);
      }
    },
    keep: () => void (kept = true),
    explain(e) {
      kept = true;
      const error = e instanceof Error ? e : new Error(String(e));
      // Added to the same error: a wrapper with `cause` would have bun print it all twice.
      error.message += `\nserial console of VM ${label} (kept): ${serialLog}\nstages:\n${vm.report()}\n--- last ${TAIL_LINES} lines ---\n${tail()}`;
      return error;
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
      await proc.exited;
      clearTimeout(timer);
    },
    async close() {
      await vm.kill();
      await stderr.catch(() => 0);
      await ns.exec(["ip", "link", "del", tap]); // gone already when the lab closed first
      for (const f of scratch) rmSync(f, { force: true });
      if (!kept) rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => vm.close(),
  };
  return vm;
}

/** Runs `fn` with a VM; a failure is rethrown through vm.explain (log kept, its tail quoted); always closes. */
export async function withVm<T>(opts: VmOptions, fn: (vm: Vm) => Promise<T>): Promise<T> {
  const vm = await startVm(opts);
  try {
    return await fn(vm);
  } catch (e) {
    throw vm.explain(e);
  } finally {
    await vm.close();
  }
}

/**
 * A regex source matching `text` literally, also where the console broke it across lines: iPXE
 * under SeaBIOS prints to an 80-column screen that the serial copy wraps with a line break.
 */
export function wrapped(text: string): string {
  return [...text].map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("\n?");
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function readText(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

// Terminal escapes (CSI, "ESC c") and CRs, removed from the console text.
const ESCAPES = /\x1b\[[0-9;=?]*[A-Za-z]|\x1b[c()][0-9A-Za-z]?|\r/g;

/**
 * Console output as the screen shows it: escapes and CRs removed, and a backspace moves back one
 * column, so what follows overwrites (iPXE erases its countdown with "\b \b" and a slow
 * download's "84%" with "\b\b\b\b    \b\b\b\b" before " ok"); spaces left at the end of such a line go.
 */
export function consoleText(raw: string): string {
  let t = raw;
  for (let prev = ""; prev !== t; ) [prev, t] = [t, t.replace(ESCAPES, "")];
  if (!t.includes("\b")) return t;
  return t
    .split("\n")
    .map((line) => {
      if (!line.includes("\b")) return line;
      const cells: string[] = [];
      let at = 0;
      for (const c of line) {
        if (c === "\b") at = Math.max(0, at - 1);
        else cells[at++] = c;
      }
      return cells.join("").replace(/ +$/, "");
    })
    .join("\n");
}

// Reads the serial file incrementally (qemu appends to it) and cleans the text on demand.
function serialReader(path: string): { text(): string } {
  let offset = 0;
  let raw = "";
  let clean = "";
  let dirty = false;
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(64 * 1024);
  return {
    text() {
      if (existsSync(path) && statSync(path).size > offset) {
        const fd = openSync(path, "r");
        try {
          for (let n; (n = readSync(fd, chunk, 0, chunk.length, offset)) > 0; offset += n) raw += decoder.decode(chunk.subarray(0, n), { stream: true });
        } finally {
          closeSync(fd);
        }
        dirty = true;
      }
      if (dirty) {
        clean = consoleText(raw);
        dirty = false;
      }
      return clean;
    },
  };
}

/** The newest kernel in /boot, or $WISP_TEST_KERNEL; throws naming the package that brings one. */
export function findKernel(): string {
  const fromEnv = process.env.WISP_TEST_KERNEL;
  if (fromEnv) return fromEnv;
  const kernels = existsSync("/boot") ? readdirSync("/boot").filter((f) => f.startsWith("vmlinuz-")).sort() : [];
  const newest = kernels.at(-1);
  if (newest === undefined) throw new Error("no kernel in /boot: apt-get install --no-install-recommends linux-image-cloud-amd64 (or set WISP_TEST_KERNEL to a bzImage)");
  return join("/boot", newest);
}

/** One UDP datagram seen on the wire. */
export interface CapturedDatagram {
  /** Capture time, Date.now() scale. */
  epochMs: number;
  src: string;
  dst: string;
  payload: Uint8Array;
}

/** A running capture; packets() reads what tcpdump has written so far. */
export interface UdpCapture {
  readonly file: string;
  packets(): CapturedDatagram[];
  /** Waits until a datagram satisfies `match` (tcpdump writes a little after the packet passed). */
  waitFor(match: (d: CapturedDatagram) => boolean, timeoutMs: number): Promise<CapturedDatagram>;
  /** Stops tcpdump; removes the file unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** Captures UDP to or from `ports` on `iface` in `ns` with tcpdump; resolves once it listens. */
export async function captureUdp(ns: Netns, iface: string, ports: number[], timeoutMs = 10_000): Promise<UdpCapture> {
  const dir = mkdtempSync(join(tmpdir(), "wisp-pcap-"));
  whenProcessGone(`rm -rf ${shellQuote(dir)}`);
  const file = join(dir, `${iface}.pcap`);
  // -U: write each packet as it comes; -Z root: Debian's tcpdump would drop to a user who may
  // not write here.
  const proc = ns.spawn(["tcpdump", "-i", iface, "-n", "-U", "-Z", "root", "-w", file, `udp and (${ports.map((p) => `port ${p}`).join(" or ")})`]);
  void new Response(proc.stdout).arrayBuffer();
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  let said = "";
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  while (!said.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) {
      clearTimeout(timer);
      throw new Error(`tcpdump on ${iface} did not start: ${said.trim()}`);
    }
    said += decoder.decode(value, { stream: true });
  }
  clearTimeout(timer);
  void (async () => {
    while (!(await reader.read()).done);
  })();
  const packets = () => (existsSync(file) ? parsePcap(readFileSync(file)) : []);
  return {
    file,
    packets,
    async waitFor(match, waitMs) {
      const deadline = performance.now() + waitMs;
      for (;;) {
        const found = packets().find(match);
        if (found) return found;
        if (performance.now() > deadline) throw new Error(`no matching packet on ${iface} within ${waitMs} ms (${packets().length} captured)`);
        await Bun.sleep(POLL_MS);
      }
    },
    async stop(opts = {}) {
      proc.kill("SIGTERM");
      await proc.exited;
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PCAP_MAGIC_US = 0xa1b2c3d4; // libpcap file format: microsecond timestamps
const PCAP_MAGIC_NS = 0xa1b23c4d; // nanosecond timestamps
const LINKTYPE_ETHERNET = 1;

/** The UDP/IPv4 datagrams of an Ethernet pcap file; a record cut short at the end is left out. */
export function parsePcap(bytes: Uint8Array): CapturedDatagram[] {
  if (bytes.length < 24) return [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(dv.getUint32(0, true));
  const magic = dv.getUint32(0, le);
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) throw new Error("not a pcap file");
  if (dv.getUint32(20, le) !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${dv.getUint32(20, le)}: expected Ethernet`);
  const out: CapturedDatagram[] = [];
  for (let off = 24; off + 16 <= bytes.length; ) {
    const caplen = dv.getUint32(off + 8, le);
    if (off + 16 + caplen > bytes.length) break;
    const epochMs = dv.getUint32(off, le) * 1000 + dv.getUint32(off + 4, le) / (magic === PCAP_MAGIC_NS ? 1e6 : 1e3);
    const datagram = udpOfFrame(bytes.subarray(off + 16, off + 16 + caplen));
    if (datagram) out.push({ epochMs, ...datagram });
    off += 16 + caplen;
  }
  return out;
}

// Ethernet II (one optional 802.1Q tag) -> IPv4 -> UDP.
function udpOfFrame(frame: Uint8Array): Omit<CapturedDatagram, "epochMs"> | undefined {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let ip = 14;
  if (frame.length < ip + 20) return undefined;
  if (dv.getUint16(12) === 0x8100) ip += 4;
  if (dv.getUint16(ip - 2) !== 0x0800 || frame[ip]! >> 4 !== 4 || frame[ip + 9] !== 17) return undefined;
  const udp = ip + (frame[ip]! & 0x0f) * 4;
  if (frame.length < udp + 8) return undefined;
  const addr = (at: number) => `${[...frame.subarray(at, at + 4)].join(".")}`;
  const end = Math.min(frame.length, udp + dv.getUint16(udp + 4));
  return { src: `${addr(ip + 12)}:${dv.getUint16(udp)}`, dst: `${addr(ip + 16)}:${dv.getUint16(udp + 2)}`, payload: frame.subarray(udp + 8, end) };
}

/** The line the marker initrd's /init prints, then the kernel command line it booted with. */
export const MARKER_PREFIX = "WISP-INITRD-MARKER";

/**
 * A gzip'd initramfs whose /init prints `${MARKER_PREFIX} <marker> cmdline=<kernel command
 * line>` to the console and powers the machine off (sysrq o). Its only program is the host's
 * busybox (package busybox), with the libraries ldd names.
 */
export async function markerInitrd(marker: string): Promise<Uint8Array> {
  const busybox = "/bin/busybox";
  if (!existsSync(busybox)) throw new Error("no /bin/busybox: apt-get install busybox");
  const ldd = await execHost(["ldd", busybox]);
  const libs = [...ldd.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
  const init = `#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "${MARKER_PREFIX} ${marker} cmdline=$(/bin/busybox cat /proc/cmdline)"
echo o > /proc/sysrq-trigger
/bin/busybox sleep 60
`;
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (path: string) => {
    for (let i = path.indexOf("/", 1); ; i = path.indexOf("/", i + 1)) {
      const d = i < 0 ? path : path.slice(0, i);
      if (!dirs.has(d)) (dirs.add(d), entries.push({ kind: "dir", path: d }));
      if (i < 0) break;
    }
  };
  for (const d of ["/bin", "/dev", "/proc"]) dir(d);
  entries.push({ kind: "chardev", path: "dev/console", major: 5, minor: 1 }); // the kernel opens it for init's stdio
  entries.push({ kind: "file", path: "bin/busybox", mode: 0o755, data: readFileSync(busybox) });
  entries.push({ kind: "symlink", path: "bin/sh", target: "busybox" });
  for (const lib of libs) {
    dir(lib.slice(0, lib.lastIndexOf("/")));
    entries.push({ kind: "file", path: lib, mode: 0o755, data: readFileSync(lib) });
  }
  entries.push({ kind: "file", path: "init", mode: 0o755, data: new TextEncoder().encode(init) });
  return Bun.gzipSync(cpioArchive(entries));
}
