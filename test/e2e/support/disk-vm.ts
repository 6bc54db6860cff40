/**
 * A qemu VM (TCG) that boots a given disk image rather than the network: the installed system
 * on its own, without the Hook. A tap on the namespace's bridge (the VM's NIC has no option ROM,
 * so the firmware goes straight to the disk), SeaBIOS or OVMF, the serial console in a file that
 * is kept when a wait fails. The qemu harness (test/support/qemu.ts) creates only blank disks.
 */
import type { Subprocess } from "bun";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote, whenProcessGone } from "../../support/cleanup.ts";
import type { Netns } from "../../support/netns.ts";
import { OVMF_CODE, OVMF_VARS } from "../../support/qemu.ts";

const POLL_MS = 100;

export interface DiskVm extends AsyncDisposable {
  readonly serialLog: string;
  readonly startedAt: number;
  readonly proc: Subprocess;
  /** The console so far, terminal escapes and CRs removed. */
  text(): string;
  /** Waits for `re` in the console after offset `after`; fails on `failOn`, on qemu's exit and on timeout (the log is then kept). */
  waitFor(re: RegExp, timeoutMs: number, after?: number): Promise<{ match: RegExpExecArray; end: number; ms: number }>;
  /** qemu's exit code, or throws after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | null>;
  close(): Promise<void>;
}

/** Boots `disk` (raw) in `ns` with a virtio disk and a virtio NIC (`mac`) on `bridge`. */
export async function bootDisk(opts: { ns: Netns; bridge: string; mac: string; label: string; firmware: "bios" | "uefi"; disk: string; failOn: RegExp }): Promise<DiskVm> {
  const { ns, label } = opts;
  const tap = `tap-${label}`;
  if (tap.length > 15) throw new Error(`label ${label}: at most 11 characters`);
  const dir = mkdtempSync(join(tmpdir(), `wisp-diskvm-${label}-`));
  const serialLog = join(dir, "serial.log");
  const pidFile = join(dir, "qemu.pid");
  whenProcessGone(
    `pid=$(cat ${shellQuote(pidFile)} 2>/dev/null) && tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF ${shellQuote(dir)} && kill -9 $pid; ip -n ${shellQuote(ns.name)} link del ${shellQuote(tap)} 2>/dev/null; rm -f ${shellQuote(join(dir, "OVMF_VARS.fd"))}`,
  );
  await ns.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
  await ns.run(["ip", "link", "set", tap, "master", opts.bridge]);
  await ns.run(["ip", "link", "set", tap, "up"]);
  const argv = ["qemu-system-x86_64", "-name", `wisp-${label}`, "-accel", "tcg", "-cpu", "max", "-m", "512", "-nographic", "-monitor", "none"];
  argv.push("-serial", `file:${serialLog}`, "-pidfile", pidFile, "-no-reboot");
  if (opts.firmware === "uefi") {
    copyFileSync(OVMF_VARS, join(dir, "OVMF_VARS.fd"));
    argv.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, "-drive", `if=pflash,format=raw,unit=1,file=${join(dir, "OVMF_VARS.fd")}`);
  }
  argv.push("-netdev", `tap,id=n0,ifname=${tap},script=no,downscript=no`, "-device", `virtio-net-pci,netdev=n0,mac=${opts.mac},romfile=`);
  argv.push("-drive", `file=${opts.disk},if=none,id=d0,format=raw`, "-device", "virtio-blk-pci,drive=d0,bootindex=1");
  const startedAt = Date.now();
  const proc = ns.spawn(argv);
  const stderr = new Response(proc.stderr).text();
  void new Response(proc.stdout).arrayBuffer();
  let kept = false;
  const text = () => (existsSync(serialLog) ? readFileSync(serialLog, "latin1").replace(/\x1b\[[0-9;=?]*[A-Za-z]|\x1b[c()][0-9A-Za-z]?|\r/g, "") : "");
  const fail = async (why: string): Promise<never> => {
    kept = true;
    throw new Error(`${why}\nserial console of ${label} (kept): ${serialLog}\n--- last lines ---\n${text().split("\n").slice(-25).join("\n")}\n${await Promise.race([stderr, Bun.sleep(100).then(() => "")])}`);
  };
  const vm: DiskVm = {
    serialLog,
    startedAt,
    proc,
    text,
    async waitFor(re, timeoutMs, after = 0) {
      const deadline = performance.now() + timeoutMs;
      const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
      for (;;) {
        const t = text();
        g.lastIndex = after;
        const match = g.exec(t);
        if (match) return { match, end: match.index + match[0].length, ms: Date.now() - startedAt };
        const bad = opts.failOn.exec(t.slice(after));
        if (bad) return fail(`the console shows ${JSON.stringify(bad[0])} while waiting for ${re}`);
        if (proc.exitCode !== null || proc.signalCode !== null) return fail(`qemu exited (${proc.exitCode ?? proc.signalCode}) before the console showed ${re}`);
        if (performance.now() > deadline) return fail(`the console did not show ${re} within ${timeoutMs} ms`);
        await Bun.sleep(POLL_MS);
      }
    },
    async exited(timeoutMs) {
      const timeout = Bun.sleep(timeoutMs).then(() => "timeout" as const);
      if ((await Promise.race([proc.exited, timeout])) === "timeout") return fail(`qemu still running after ${timeoutMs} ms`);
      return proc.exitCode;
    },
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
      await ns.exec(["ip", "link", "del", tap]);
      rmSync(join(dir, "OVMF_VARS.fd"), { force: true });
      if (!kept) rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => vm.close(),
  };
  return vm;
}
