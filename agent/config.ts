/**
 * wisp-agent configuration: one table of options, read from flags, the environment (`AGENT_*`,
 * then Tinkerbell's names) and the kernel command line (the Hook's iPXE script passes them), in
 * that order of precedence. Pure: main.ts reads argv, env and the cmdline file and passes them in.
 */

/** Where the kernel command line is read from (`--cmdline` points elsewhere, for tests). */
export const DEFAULT_CMDLINE_FILE = "/proc/cmdline";
/** The Docker Engine API socket in the Hook. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
/** Remembers the last reported action across agent restarts (tmpfs in the Hook: lost on reboot, as it should be). */
export const DEFAULT_STATE_FILE = "/var/run/wisp-agent/state.json";

type OptionType = "string" | "bool" | "level" | "file";

interface OptionSpec {
  /** Flag without dashes. */
  flag: string;
  /** Environment variables, first wins: AGENT_<FLAG> and Tinkerbell's name when it has one. */
  env: readonly string[];
  /** Kernel command-line key (`key=value`), when the Hook passes one. */
  cmdline?: string;
  type: OptionType;
  default?: string;
  help: string;
  required?: true;
}

/** Every wisp-agent option; `--help` is printed from this table. */
export const OPTIONS = [
  { flag: "worker-id", env: ["AGENT_WORKER_ID", "WORKER_ID"], cmdline: "worker_id", type: "string", required: true, help: "agent id sent in GetAction: the task's worker, a MAC address or the Hardware's agentID" },
  { flag: "grpc-authority", env: ["AGENT_GRPC_AUTHORITY", "TINKERBELL_GRPC_AUTHORITY"], cmdline: "grpc_authority", type: "string", required: true, help: "host:port of wispd's workflow service (gRPC)" },
  { flag: "tls", env: ["AGENT_TLS", "TINKERBELL_TLS"], cmdline: "tinkerbell_tls", type: "bool", default: "false", help: "connect with TLS" },
  { flag: "insecure-tls", env: ["AGENT_INSECURE_TLS", "TINKERBELL_INSECURE_TLS"], cmdline: "tinkerbell_insecure_tls", type: "bool", default: "false", help: "with --tls, accept any server certificate (self-signed)" },
  { flag: "token", env: ["AGENT_TOKEN"], cmdline: "wisp_agent_token", type: "string", help: "bearer token sent as gRPC metadata 'authorization: Bearer <token>' (wispd's <data-dir>/agent-token)" },
  { flag: "registry", env: ["AGENT_REGISTRY", "DOCKER_REGISTRY"], cmdline: "docker_registry", type: "string", help: "registry host (host[:port]) the credentials below are sent to; images elsewhere are pulled without them" },
  { flag: "registry-username", env: ["AGENT_REGISTRY_USERNAME", "REGISTRY_USERNAME"], cmdline: "registry_username", type: "string", help: "user name for --registry" },
  { flag: "registry-password", env: ["AGENT_REGISTRY_PASSWORD", "REGISTRY_PASSWORD"], cmdline: "registry_password", type: "string", help: "password for --registry" },
  { flag: "syslog-host", env: ["AGENT_SYSLOG_HOST"], cmdline: "syslog_host", type: "string", help: "syslog receiver (host[:port], port 514 by default; wispd's --syslog-port): the agent's log lines also go there, RFC 5424 over UDP" },
  { flag: "privileged", env: ["AGENT_PRIVILEGED"], type: "bool", default: "true", help: "run action containers privileged (actions write disks); false only where the host cannot grant every capability, e.g. tests inside a container" },
  { flag: "docker-socket", env: ["AGENT_DOCKER_SOCKET"], type: "file", default: DEFAULT_DOCKER_SOCKET, help: "unix socket of the Docker Engine API" },
  { flag: "state-file", env: ["AGENT_STATE_FILE"], type: "file", default: DEFAULT_STATE_FILE, help: "small JSON file with the last action run and its reported state (so a restarted agent does not re-run a success)" },
  { flag: "log-level", env: ["AGENT_LOG_LEVEL"], type: "level", default: "info", help: "trace, debug, info, warn, error or fatal" },
  { flag: "cmdline", env: ["AGENT_CMDLINE"], type: "file", default: DEFAULT_CMDLINE_FILE, help: "file holding the kernel command line" },
] as const satisfies readonly OptionSpec[];

type Flag = (typeof OPTIONS)[number]["flag"];

/** The resolved agent configuration. */
export interface AgentConfig {
  workerId: string;
  grpcAuthority: string;
  tls: boolean;
  insecureTls: boolean;
  token?: string;
  registry?: { host: string; username?: string; password?: string };
  syslogHost?: string;
  privileged: boolean;
  dockerSocket: string;
  stateFile: string;
  logLevel: string;
  cmdline: string;
}

/** A configuration error naming the option and where its value came from. */
export class ConfigError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
  }
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off", ""];

/** Splits a kernel command line into key -> value; a bare key reads "true"; double quotes group (as the kernel does). */
export function parseCmdline(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/(?:[^\s"]+|"[^"]*")+/g)) {
    const word = m[0].replaceAll('"', "");
    const eq = word.indexOf("=");
    if (eq === 0) continue;
    out.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? "true" : word.slice(eq + 1));
  }
  return out;
}

/** Flags only: whether `--help` was asked and which cmdline file to read (before the others are resolved). */
export function cmdlineFile(argv: string[], env: Record<string, string | undefined>): string {
  const { flags } = parseFlags(argv);
  return flags.get("cmdline") ?? (env.AGENT_CMDLINE || DEFAULT_CMDLINE_FILE);
}

function parseFlags(argv: string[]): { flags: Map<string, string> } {
  const known = new Set<string>(OPTIONS.map((o) => o.flag));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument "${arg}" (see --help)`, arg);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new ConfigError(`unknown option --${name} (see --help)`, name);
    const spec = OPTIONS.find((o) => o.flag === name)!;
    // A boolean flag alone means true: `--tls`.
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : spec.type === "bool" && (argv[i + 1] === undefined || argv[i + 1]!.startsWith("--")) ? "true" : argv[++i];
    if (value === undefined) throw new ConfigError(`option --${name} needs a value`, name);
    flags.set(name, value);
  }
  return { flags };
}

/** Resolves flags > environment > kernel command line > default; throws ConfigError naming the option. */
export function loadAgentConfig(argv: string[], env: Record<string, string | undefined>, cmdlineText: string): AgentConfig {
  const { flags } = parseFlags(argv);
  const cmdline = parseCmdline(cmdlineText);
  const resolve = (spec: OptionSpec): { value?: string; from: string } => {
    const flag = flags.get(spec.flag);
    if (flag !== undefined) return { value: flag, from: `--${spec.flag}` };
    for (const name of spec.env) {
      const v = env[name];
      if (v !== undefined && v !== "") return { value: v, from: name };
    }
    const k = spec.cmdline !== undefined ? cmdline.get(spec.cmdline) : undefined;
    if (k !== undefined && k !== "") return { value: k, from: `kernel argument ${spec.cmdline}` };
    return { value: spec.default, from: "default" };
  };
  const values = new Map<Flag, string | undefined>();
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    const { value, from } = resolve(spec);
    if (value === undefined && spec.required) {
      const where = [`--${spec.flag}`, ...spec.env, ...(spec.cmdline ? [`kernel argument ${spec.cmdline}=`] : [])].join(", ");
      throw new ConfigError(`${spec.flag} is required (${where})`, spec.flag);
    }
    if (value !== undefined) checkValue(spec, value, from);
    values.set(spec.flag as Flag, value);
  }
  const str = (f: Flag) => values.get(f);
  const bool = (f: Flag) => TRUE.includes(str(f)!.toLowerCase());
  const registryHost = str("registry");
  return {
    workerId: str("worker-id")!,
    grpcAuthority: str("grpc-authority")!,
    tls: bool("tls"),
    insecureTls: bool("insecure-tls"),
    token: str("token"),
    registry: registryHost ? { host: registryHost, username: str("registry-username"), password: str("registry-password") } : undefined,
    syslogHost: str("syslog-host"),
    privileged: bool("privileged"),
    dockerSocket: str("docker-socket")!,
    stateFile: str("state-file")!,
    logLevel: str("log-level")!,
    cmdline: str("cmdline")!,
  };
}

function checkValue(spec: OptionSpec, value: string, from: string): void {
  const fail = (expected: string) => {
    throw new ConfigError(`${from}: expected ${expected}, got "${value}"`, spec.flag);
  };
  if (spec.type === "bool" && ![...TRUE, ...FALSE].includes(value.toLowerCase())) fail("true or false");
  if (spec.type === "level" && !LEVELS.includes(value)) fail(`one of ${LEVELS.join(", ")}`);
  if (spec.flag === "grpc-authority" && !/^(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/.test(value)) fail("host:port");
}

/** The `--help` text: every option with its kernel argument, environment variables and default. */
export function helpText(): string {
  const lines = [
    "usage: wisp-agent [options]",
    "",
    "The Wisp agent runs inside the in-memory OS (Hook): it polls wispd's workflow service (gRPC,",
    "Tinkerbell's proto.WorkflowService) for actions and runs each as a container through the",
    "Docker Engine API, reporting RUNNING, then SUCCESS, FAILED or TIMEOUT. Each action's output",
    "lines go to wispd's log service (wisp.v1.ActionLogs, same port and token), flushed before the",
    "final report.",
    "",
    "Reboot actions end in SUCCESS (\"rebooting\"), reported right before their container starts:",
    "an action whose environment has WISP_REBOOT=true, else one whose image is tinkerbell/actions'",
    "reboot or kexec (also reboot-action, kexec-action) or whose command is reboot or kexec",
    "(WISP_REBOOT=false opts out; waitdaemon images are ordinary actions). On SIGTERM mid-action",
    "the container is stopped and the action reported FAILED (\"agent stopped\"), except a running",
    "reboot action, whose SUCCESS stands.",
    "",
    "Precedence: flag > environment variable > kernel argument > default.",
    "",
    "options (flag, kernel argument, environment variables):",
  ];
  for (const o of OPTIONS as readonly OptionSpec[]) {
    const placeholder = o.type === "bool" ? "[true|false]" : o.type === "file" ? "<path>" : o.type === "level" ? "<level>" : "<value>";
    const def = o.default !== undefined ? ` (default ${o.default})` : o.required ? " (required)" : "";
    lines.push(`  --${o.flag} ${placeholder}`.padEnd(36) + `${o.cmdline ?? "-"}`.padEnd(26) + o.env.join(", "));
    lines.push(`      ${o.help}${def}`);
  }
  lines.push("  -h, --help                        this text");
  return lines.join("\n");
}
