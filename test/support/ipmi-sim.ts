/**
 * OpenIPMI's `ipmi_sim` (Debian `openipmi`) as a BMC for tests: RMCP+ on a loopback UDP port,
 * one admin user from a generated lan.conf, and a chassis-control program (a shell script
 * written here; lan.conf `chassis_control`) that keeps power and boot device in a state
 * directory and appends every request to an event log. Given `powerCommand`, the script starts
 * it in its own process group on power on, kills the group on power off, restarts it on reset,
 * and reports power "on" exactly while it runs (a VM that shuts itself down reads as off).
 *
 * ipmi_sim hands the program only the boot device selector (pxe, default = disk, cdrom, bios),
 * not the EFI and persistent flags of boot parameter 5: those it drops (lanserv/bmc_chassis.c).
 */
import type { Subprocess } from "bun";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote, whenProcessGone } from "./cleanup.ts";

/** Bound on ipmi_sim binding its port. */
const START_TIMEOUT_MS = 15_000;
/** Longest password ipmi_sim accepts (see startIpmiSim). */
const MAX_SIM_PASSWORD = 19;
/** Tries with a fresh port when another process took the one we picked. */
const START_ATTEMPTS = 3;

/** Credentials, initial power, and the command that is the machine while it is on. */
export interface IpmiSimOptions {
  username?: string;
  password?: string;
  /** Initial power state when there is no powerCommand (default off). */
  power?: "on" | "off";
  /** A shell command run while the machine is "on" (e.g. a qemu VM). */
  powerCommand?: string;
}

/** What the chassis-control program recorded. */
export interface IpmiSimState {
  power: "on" | "off";
  /** ipmi_sim's boot selector name: none, pxe, default (disk), cdrom, bios. */
  boot: string;
  /** Every "set" in order: "power 1", "power 0", "reset 1", "shutdown 1", "boot pxe". */
  events: string[];
}

/** A running ipmi_sim: where it listens, what it recorded, and stop(). */
export interface IpmiSim extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Where lan.conf, the script, its state and the power command's output live. */
  readonly dir: string;
  state(): IpmiSimState;
  /** Resolves once `pred(state)` holds; rejects after `timeoutMs`. */
  waitFor(pred: (s: IpmiSimState) => boolean, timeoutMs: number): Promise<IpmiSimState>;
  stop(): Promise<void>;
}

/** The chassis-control program: `<prog> <mc> get parm...` prints "parm:value"; `set parm value...` records. */
function chassisScript(dir: string): string {
  return `#!/bin/sh
# Written by test/support/ipmi-sim.ts for ipmi_sim's chassis_control.
dir=${shellQuote(dir)}
shift
op=$1
shift
running() { [ -f "$dir/cmd.pid" ] && kill -0 "$(cat "$dir/cmd.pid")" 2>/dev/null; }
power_now() {
  if [ -f "$dir/power-command" ]; then if running; then echo 1; else echo 0; fi
  else cat "$dir/power"; fi
}
start_cmd() {
  [ -f "$dir/power-command" ] || return 0
  running && return 0
  setsid sh "$dir/power-command" >>"$dir/power-command.log" 2>&1 </dev/null &
  echo $! >"$dir/cmd.pid"
}
stop_cmd() {
  [ -f "$dir/power-command" ] || return 0
  if running; then pid=$(cat "$dir/cmd.pid"); kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; fi
  rm -f "$dir/cmd.pid"
}
case $op in
  get)
    for p in "$@"; do
      case $p in
        power) echo "power:$(power_now)" ;;
        boot) echo "boot:$(cat "$dir/boot")" ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
      esac
    done ;;
  set)
    while [ $# -ge 2 ]; do
      parm=$1; val=$2; shift 2
      case $parm in
        power)
          echo "$val" >"$dir/power"
          if [ "$val" = 1 ]; then start_cmd; else stop_cmd; fi ;;
        reset) stop_cmd; start_cmd ;;
        shutdown) echo 0 >"$dir/power"; stop_cmd ;;
        boot)
          case $val in none|pxe|default|cdrom|bios) echo "$val" >"$dir/boot" ;; *) echo "Invalid boot value: $val"; exit 1 ;; esac ;;
        identify) shift ;;
        *) echo "Invalid parameter: $parm"; exit 1 ;;
      esac
      echo "$parm $val" >>"$dir/events"
    done ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
exit 0
`;
}

/** lan.conf (ipmi_lan(5)): one LAN channel on 127.0.0.1:`port`, an admin user, our chassis program. */
function lanConf(dir: string, port: number, username: string, password: string): string {
  const q = (s: string) => `"${s.replaceAll('"', "")}"`;
  return `name "wisptest"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 ${port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control ${q(`${join(dir, "chassis-control")} 0x20`)}
  user 2 true ${q(username)} ${q(password)} admin 10 none md2 md5 straight
`;
}

/** The emulation commands (ipmi_sim_cmd(5)): one BMC at IPMB 0x20, no sensors. */
const EMU = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
`;

/** A free loopback UDP port (bound, then released: ipmi_sim cannot take port 0). */
function freeUdpPort(): Promise<number> {
  return Bun.udpSocket({ hostname: "127.0.0.1", port: 0 }).then((s) => {
    const port = s.port;
    s.close();
    return port;
  });
}

/** Whether process `pid` holds a UDP socket bound to 127.0.0.1:`port` (/proc/net/udp: hex address, inode in column 10). */
function udpBoundBy(pid: number, port: number): boolean {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = readFileSync("/proc/net/udp", "utf8").split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === want).map((f) => f[9]);
  if (inodes.length === 0) return false;
  try {
    const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return "";
      }
    });
    return inodes.some((inode) => fds.includes(`socket:[${inode}]`));
  } catch {
    return false;
  }
}

/** Starts ipmi_sim; throws with its output if it does not bind within the bound. */
export async function startIpmiSim(opts: IpmiSimOptions = {}): Promise<IpmiSim> {
  const username = opts.username ?? "admin";
  const password = opts.password ?? "ipmi-secret";
  // lan.conf keeps a password in 20 bytes with its NUL: a 20-byte one fails every RAKP 2 (seen with openipmi 2.0.33).
  if (Buffer.byteLength(password) > MAX_SIM_PASSWORD) throw new Error(`ipmi_sim takes passwords of at most ${MAX_SIM_PASSWORD} bytes`);
  const dir = mkdtempSync(join(tmpdir(), "wisp-ipmisim-"));
  whenProcessGone(`[ -f ${shellQuote(join(dir, "cmd.pid"))} ] && kill -KILL -- -$(cat ${shellQuote(join(dir, "cmd.pid"))}); rm -rf ${shellQuote(dir)}`);
  writeFileSync(join(dir, "chassis-control"), chassisScript(dir));
  chmodSync(join(dir, "chassis-control"), 0o755);
  writeFileSync(join(dir, "power"), opts.power === "on" ? "1\n" : "0\n");
  writeFileSync(join(dir, "boot"), "none\n");
  writeFileSync(join(dir, "events"), "");
  if (opts.powerCommand) writeFileSync(join(dir, "power-command"), `${opts.powerCommand}\n`);
  writeFileSync(join(dir, "sim.emu"), EMU);

  let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let port = 0;
  let lastOutput = "";
  for (let attempt = 0; attempt < START_ATTEMPTS && !proc; attempt++) {
    port = await freeUdpPort();
    writeFileSync(join(dir, "lan.conf"), lanConf(dir, port, username, password));
    const p = Bun.spawn(["ipmi_sim", "-c", join(dir, "lan.conf"), "-f", join(dir, "sim.emu"), "-s", join(dir, "state"), "-n", "-p"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    whenProcessGone(`kill -KILL ${p.pid} 2>/dev/null`);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && p.exitCode === null && !udpBoundBy(p.pid, port)) await Bun.sleep(50);
    if (p.exitCode === null && udpBoundBy(p.pid, port)) proc = p;
    else {
      p.kill("SIGKILL");
      await p.exited;
      lastOutput = `${await new Response(p.stdout).text()}${await new Response(p.stderr).text()}`;
    }
  }
  if (!proc) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`ipmi_sim did not bind a UDP port within ${START_TIMEOUT_MS} ms (${START_ATTEMPTS} tries): ${lastOutput}`);
  }
  const sim = proc;

  const state = (): IpmiSimState => {
    const read = (f: string) => readFileSync(join(dir, f), "utf8").trim();
    let power: "on" | "off" = read("power") === "1" ? "on" : "off";
    if (opts.powerCommand) {
      const pidFile = join(dir, "cmd.pid");
      power = existsSync(pidFile) && isAlive(Number(read("cmd.pid"))) ? "on" : "off";
    }
    return { power, boot: read("boot"), events: read("events").split("\n").filter((l) => l.length > 0) };
  };

  const stop = async (): Promise<void> => {
    sim.kill("SIGKILL");
    await sim.exited;
    const pidFile = join(dir, "cmd.pid");
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    host: "127.0.0.1",
    port,
    username,
    password,
    dir,
    state,
    async waitFor(pred, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = state();
        if (pred(s)) return s;
        if (Date.now() > deadline) throw new Error(`ipmi_sim state did not match within ${timeoutMs} ms: ${JSON.stringify(s)}`);
        await Bun.sleep(50);
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
