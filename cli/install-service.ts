/**
 * `wisp install-service`: runs wispd from this checkout as a systemd service. Writes the unit
 * (Type=notify, only the network capabilities wispd needs, a dedicated user), an environment
 * file for wispd's options, creates the user, then daemon-reload and enable --now.
 * `--dry-run` prints every step instead of taking it.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CliError } from "./client.ts";

/** Where the unit goes, its name and the service's user by default. */
export const SERVICE_DEFAULTS = {
  unitDir: "/etc/systemd/system",
  unitName: "wispd.service",
  user: "wisp",
  envFile: "/etc/wisp/wispd.env",
  /** StateDirectory=wisp: wispd's --data-dir (PGlite, tokens, artifacts). */
  dataDir: "/var/lib/wisp",
} as const;

/** The checkout the committed unit (packaging/systemd/wispd.service) is rendered for. */
export const PACKAGED_ROOT = "/opt/wisp";

/**
 * Capabilities wispd needs instead of root: binding ports under 1024 (DHCP 67, TFTP 69, syslog
 * 514), SO_BINDTODEVICE on each DHCP link (CAP_NET_RAW), and SIOCSARP (the ARP entry a unicast
 * DHCP reply needs) and SO_RCVBUFFORCE (CAP_NET_ADMIN); see daemon/net/libc.ts.
 */
export const SERVICE_CAPABILITIES = ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_NET_ADMIN"] as const;

/** What the unit is rendered from. */
export interface UnitOptions {
  /** The Bun binary that runs wispd. */
  bun: string;
  /** The checkout holding daemon/main.ts. */
  root: string;
  user: string;
  envFile: string;
  /** Extra wispd arguments (after `--` on the command line). */
  args?: readonly string[];
}

// systemd.syntax(7): a word with spaces, quotes, backslashes or specifiers is double-quoted,
// with \, " escaped and % doubled.
function unitWord(word: string): string {
  const escaped = word.replaceAll("%", "%%");
  if (/^[A-Za-z0-9_@./:=,+%-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The unit file text. */
export function renderUnit(o: UnitOptions): string {
  const exec = [o.bun, join(o.root, "daemon", "main.ts"), ...(o.args ?? [])].map(unitWord).join(" ");
  const caps = SERVICE_CAPABILITIES.join(" ");
  return `# wispd as a systemd service; written by \`wisp install-service\` (see docs/operations.md).
[Unit]
Description=Wisp bare-metal provisioning daemon (DHCP, TFTP, HTTP boot, metadata, API, workflows)
Documentation=file:${o.root}/docs/operations.md
Wants=network-online.target
After=network-online.target postgresql.service

[Service]
# wispd sends READY=1 once the store answers and every listener is bound, STOPPING=1 on
# SIGTERM and WATCHDOG=1 every WatchdogSec/2 (a timer: a stuck event loop misses it).
Type=notify
NotifyAccess=main
WatchdogSec=60
ExecStart=${exec}
EnvironmentFile=-${o.envFile}
Environment=WISP_DATA_DIR=${SERVICE_DEFAULTS.dataDir}
Environment=HOME=${SERVICE_DEFAULTS.dataDir}
Environment=BUN_RUNTIME_TRANSPILER_CACHE_PATH=/var/cache/wisp
Restart=on-failure
RestartSec=2s
# A first start initialises the embedded store (PGlite): allow it some time.
TimeoutStartSec=180s
TimeoutStopSec=30s
LimitNOFILE=65536

User=${o.user}
Group=${o.user}
StateDirectory=wisp
StateDirectoryMode=0750
CacheDirectory=wisp
ConfigurationDirectory=wisp
UMask=0027

# Network capabilities only (ports 67/69/514, SO_BINDTODEVICE, SIOCSARP, SO_RCVBUFFORCE).
AmbientCapabilities=${caps}
CapabilityBoundingSet=${caps}
NoNewPrivileges=yes

# Hardening: wispd writes only its state and cache directories.
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
# Not set: MemoryDenyWriteExecute (Bun's JIT and PGlite's WebAssembly need writable code pages).

[Install]
WantedBy=multi-user.target
`;
}

/** The environment file written when none exists: wispd's options, commented. */
export function renderEnvFile(): string {
  return `# wispd options (wispd --help lists them all); read by ${SERVICE_DEFAULTS.unitName}.
# WISP_DHCP_INTERFACE=eth1
# WISP_PUBLIC_IP=192.0.2.10
# WISP_DATABASE_URL=postgres://wisp@localhost/wisp
# WISP_LOG_LEVEL=info
`;
}

/** One step of the installation. */
export type Step =
  | { kind: "write"; path: string; text: string; mode: number; keep?: boolean }
  | { kind: "run"; argv: string[]; unless?: string[] };

/** Options of `wisp install-service`. */
export interface InstallOptions extends UnitOptions {
  unitDir: string;
  start: boolean;
}

/** The steps, in order: user, directories, files, systemctl. */
export function installSteps(o: InstallOptions): Step[] {
  const unitPath = join(o.unitDir, SERVICE_DEFAULTS.unitName);
  return [
    {
      kind: "run",
      argv: ["useradd", "--system", "--user-group", "--home-dir", SERVICE_DEFAULTS.dataDir, "--no-create-home", "--shell", "/usr/sbin/nologin", o.user],
      unless: ["id", "-u", o.user],
    },
    { kind: "write", path: o.envFile, text: renderEnvFile(), mode: 0o640, keep: true },
    { kind: "write", path: unitPath, text: renderUnit(o), mode: 0o644 },
    { kind: "run", argv: ["systemd-analyze", "verify", unitPath] },
    { kind: "run", argv: ["systemctl", "daemon-reload"] },
    { kind: "run", argv: ["systemctl", "enable", ...(o.start ? ["--now"] : []), SERVICE_DEFAULTS.unitName] },
  ];
}

/** A step as a shell line (what --dry-run prints). */
export function describeStep(s: Step): string {
  if (s.kind === "run") return `${s.unless ? `${s.unless.join(" ")} >/dev/null 2>&1 || ` : ""}${s.argv.join(" ")}`;
  return `write ${s.path} (mode ${s.mode.toString(8)}${s.keep ? ", only if missing" : ""}):\n${s.text.replace(/^/gm, "  | ")}`;
}

const USAGE = "usage: wisp install-service [--dry-run] [--no-start] [--user NAME] [--unit-dir DIR] [--environment-file PATH] [-- WISPD-ARGS...]";

/** Parses the command's arguments; `self` is the Bun running the CLI and `root` this checkout. */
export function parseInstallArgs(argv: string[], self: { bun: string; root: string }): InstallOptions & { dryRun: boolean } {
  const o: InstallOptions & { dryRun: boolean; args: string[] } = {
    ...self,
    user: SERVICE_DEFAULTS.user,
    envFile: SERVICE_DEFAULTS.envFile,
    unitDir: SERVICE_DEFAULTS.unitDir,
    start: true,
    dryRun: false,
    args: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("-")) throw new CliError(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--") {
      o.args = argv.slice(i + 1);
      break;
    } else if (a === "--dry-run") o.dryRun = true;
    else if (a === "--no-start") o.start = false;
    else if (a === "--user") o.user = value();
    else if (a === "--unit-dir") o.unitDir = resolve(value());
    // Not --env-file: Node 20 takes that flag from anywhere on its command line (bin/wisp runs under node).
    else if (a === "--environment-file") o.envFile = resolve(value());
    else throw new CliError(`install-service: unknown argument ${a}\n${USAGE}`);
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) throw new CliError(`--user: ${JSON.stringify(o.user)} is not a valid user name`);
  return o;
}

/** What the command needs from the host; tests replace `systemctl` alone (there is no systemd here). */
export interface InstallHost {
  /** Exists as a directory when systemd is PID 1 (sd_booted(3)). */
  systemdRunDir: string;
  /** Runs one command; exit 127 when it cannot be started. */
  spawn(argv: string[]): Promise<{ code: number; output: string }>;
}

const HOST: InstallHost = { systemdRunDir: "/run/systemd/system", spawn };

/** Runs `wisp install-service`; `out` prints. Returns the exit code. */
export async function installServiceCommand(
  argv: string[],
  self: { bun: string; root: string },
  out: (line: string) => void,
  host: InstallHost = HOST,
): Promise<number> {
  const ours = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  if (ours.includes("-h") || ours.includes("--help")) {
    out(USAGE);
    return 0;
  }
  const o = parseInstallArgs(argv, self);
  if (!existsSync(join(o.root, "daemon", "main.ts"))) throw new CliError(`${o.root}/daemon/main.ts not found: run install-service from a Wisp checkout`);
  const steps = installSteps(o);
  if (o.dryRun) {
    out(`# wisp install-service --dry-run: nothing is changed; these steps would run as root`);
    for (const s of steps) out(describeStep(s));
    return 0;
  }
  if (process.getuid?.() !== 0) throw new CliError("install-service needs root (it creates a user and writes the unit); try --dry-run to see the steps");
  // Checked before any step: on a host without systemd (a container, a chroot) systemctl would
  // fail only after the user and the files were made.
  if (!isDirectory(host.systemdRunDir)) {
    throw new CliError(
      `systemd is not running on this host (no ${host.systemdRunDir}): install-service changed nothing. Run wispd directly (bin/wispd --help), or see --dry-run for the unit to install elsewhere`,
    );
  }
  for (const s of steps) {
    if (s.kind === "write") {
      if (s.keep && existsSync(s.path)) {
        out(`kept ${s.path}`);
        continue;
      }
      mkdirSync(dirname(s.path), { recursive: true });
      writeFileSync(s.path, s.text, { mode: s.mode });
      out(`wrote ${s.path}`);
      continue;
    }
    if (s.unless && (await host.spawn(s.unless)).code === 0) continue;
    const r = await host.spawn(s.argv);
    if (r.code !== 0) throw new CliError(`${s.argv.join(" ")} failed (exit ${r.code}): ${r.output.trim()}`);
    out(`ran ${s.argv.join(" ")}`);
  }
  out(o.start ? `${SERVICE_DEFAULTS.unitName} started; systemctl status wispd, journalctl -u wispd` : `${SERVICE_DEFAULTS.unitName} enabled (not started: --no-start)`);
  return 0;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

async function spawn(argv: string[]): Promise<{ code: number; output: string }> {
  try {
    const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, output: stdout + stderr };
  } catch (e) {
    return { code: 127, output: (e as Error).message };
  }
}
