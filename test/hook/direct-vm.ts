/**
 * A qemu VM that boots a kernel and initrd directly (`-kernel`, `-initrd`, `-append`: no firmware
 * network boot), on a tap in a test's namespace bridge, serial console to a file kept on failure.
 * TCG only. The lab's close() kills qemu and removes the tap with the namespace; close() here
 * does it first and removes the log unless kept. (test/support/qemu.ts boots through firmware.)
 */
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import type { Netns } from "../support/netns.ts";

/** How often the serial log is read while waiting. */
const POLL_MS = 200;
/** Lines of the console quoted in a failure. */
const TAIL_LINES = 60;
/** Console text that ends every wait at once: the boot has failed for good. */
export const FATAL = /Kernel panic|wisp-hook: FAILED|error while loading shared libraries/;

export interface DirectVmOptions {
  ns: Netns;
  bridge: string;
  mac: string;
  /** The tap is `tap-<label>` (at most 11 characters). */
  label: string;
  kernel: string;
  initrd: string;
  append: string;
  memoryMb?: number;
  cpus?: number;
}

/** A running VM. */
export interface DirectVm {
  readonly serialLog: string;
  /** Date.now() when qemu started: "power-on". */
  readonly startedAt: number;
  readonly proc: Subprocess;
  serialText(): string;
  /** Waits for `re` on the console after offset `after`; fails on timeout, qemu's exit or a FATAL line. */
  waitForSerial(re: RegExp, timeoutMs: number, after?: number): Promise<{ match: RegExpExecArray; end: number; ms: number }>;
  /** `e` with the kept log's path and its last lines. */
  explain(e: unknown): Error;
  close(): Promise<void>;
}

/** Starts the VM; close it in `finally`. */
export async function startDirectVm(o: DirectVmOptions): Promise<DirectVm> {
  const tap = `tap-${o.label}`;
  if (tap.length > 15) throw new Error(`label ${JSON.stringify(o.label)}: at most 11 characters`);
  const dir = mkdtempSync(join(tmpdir(), `wisp-hookvm-${o.label}-`));
  const serialLog = join(dir, "serial.log");
  const pidFile = join(dir, "qemu.pid");
  // If the test process dies first: kill this qemu (its command line names our directory).
  whenProcessGone(`pid=$(cat ${shellQuote(pidFile)} 2>/dev/null) && tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF ${shellQuote(dir)} && kill -9 $pid`);
  await o.ns.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
  await o.ns.run(["ip", "link", "set", tap, "master", o.bridge]);
  await o.ns.run(["ip", "link", "set", tap, "up"]);
  const argv = [
    "qemu-system-x86_64", "-name", `wisp-${o.label}`, "-accel", "tcg", "-cpu", "max", "-m", String(o.memoryMb ?? 1024), "-smp", String(o.cpus ?? 2),
    "-nodefaults", "-display", "none", "-monitor", "none", "-serial", `file:${serialLog}`, "-pidfile", pidFile, "-no-reboot",
    "-kernel", o.kernel, "-initrd", o.initrd, "-append", o.append,
    "-netdev", `tap,id=n0,ifname=${tap},script=no,downscript=no`, "-device", `virtio-net-pci,netdev=n0,mac=${o.mac}`,
  ];
  const startedAt = Date.now();
  const proc = o.ns.spawn(argv);
  let stderr = "";
  void new Response(proc.stderr).text().then((t) => (stderr = t));
  void new Response(proc.stdout).arrayBuffer();
  let kept = false;
  const serialText = () => (existsSync(serialLog) ? readFileSync(serialLog, "latin1").replace(/\r/g, "") : "");
  const tail = () => serialText().split("\n").slice(-TAIL_LINES).join("\n");
  return {
    serialLog,
    startedAt,
    proc,
    serialText,
    async waitForSerial(re, timeoutMs, after = 0) {
      const deadline = performance.now() + timeoutMs;
      const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
      for (;;) {
        const text = serialText();
        global.lastIndex = after;
        const match = global.exec(text);
        if (match) return { match, end: match.index + match[0].length, ms: Date.now() - startedAt };
        const fatal = FATAL.exec(text.slice(after));
        if (fatal) throw new Error(`the console shows ${JSON.stringify(fatal[0])} while waiting for ${re}`);
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`qemu exited (${proc.exitCode ?? proc.signalCode}) before the console showed ${re}: ${stderr.trim()}`);
        if (performance.now() > deadline) throw new Error(`the console did not show ${re} within ${timeoutMs} ms`);
        await Bun.sleep(POLL_MS);
      }
    },
    explain(e) {
      kept = true;
      const error = e instanceof Error ? e : new Error(String(e));
      error.message += `\nserial console (kept): ${serialLog}\n--- last ${TAIL_LINES} lines ---\n${tail()}`;
      return error;
    },
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
      await o.ns.exec(["ip", "link", "del", tap]);
      if (!kept) rmSync(dir, { recursive: true, force: true });
    },
  };
}
