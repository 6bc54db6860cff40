/**
 * wispd configuration: one table of options, read from flags, `WISP_*` environment variables
 * and an optional YAML/JSON config file (in that order of precedence). Only main.ts calls this.
 */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import type { DhcpMode } from "./dhcp/types.ts";
import { parseCidr } from "./http/client-address.ts";
import { AGENT_AUTH_MODES, DEFAULT_AGENT_AUTH, type AgentAuthMode } from "./grpc/auth.ts";
import { WispError } from "./lib/errors.ts";
import { parseDatabaseUrl } from "./store/url.ts";
import { DEFAULT_SYSLOG_PORT } from "./syslog/server.ts";
import { DEFAULT_IPXE_DIR } from "./tftp/files.ts";
import { DEFAULT_MAX_TRANSFERS, DEFAULT_TFTP_PORT } from "./tftp/server.ts";
import { DEFAULT_HEAP_HEADROOM_MB } from "./ops/heap-governor.ts";
import { parseIpv4 } from "./wire/address.ts";

/** Default HTTP port (API, boot artifacts, metadata), as Tinkerbell's smee uses. */
export const DEFAULT_HTTP_PORT = 7080;
/** Default port of the agents' workflow service (Tinkerbell's tink-server). */
export const DEFAULT_GRPC_PORT = 42113;
/** Default seconds between power-state polls of a Machine's BMC (Rufio polls every 30 s as well, give or take). */
export const DEFAULT_BMC_POLL_INTERVAL = 30;
/** Default data directory for the embedded store, the API token and artifacts. */
export const DEFAULT_DATA_DIR = "./var";

/** Default `--dhcp-mode`: a full server for the addresses Hardware reserves. */
export const DEFAULT_DHCP_MODE = "reservation";
/** Default lease time (seconds) when a Hardware gives none, as Tinkerbell's smee: one day. */
export const DEFAULT_DHCP_LEASE_TIME = 86_400;
/** The `--dhcp-mode` values (COMPAT section 2). */
export const DHCP_MODES = ["reservation", "proxy", "auto-proxy", "off"] as const satisfies readonly DhcpMode[];

type OptionType = "string" | "port" | "level" | "ipv4" | "mode" | "interfaces" | "seconds" | "count" | "cidr" | "agent-auth" | "registry" | "kernel-arg" | "mib";

interface OptionSpec {
  /** Flag without dashes; the env name is WISP_ + upper snake case; the config key is camelCase. */
  flag: string;
  type: OptionType;
  default?: string | number;
  help: string;
  /** May be given more than once; the environment variable is comma-separated, the config key a list. */
  repeatable?: true;
}

/** Every wispd option; `--help` is printed from this table. */
export const OPTIONS = [
  { flag: "config", type: "string", help: "YAML or JSON file with any of these options (camelCase keys)" },
  { flag: "data-dir", type: "string", default: DEFAULT_DATA_DIR, help: "directory for the embedded store (PGlite), the API token and artifacts" },
  { flag: "database-url", type: "string", help: "PostgreSQL instead of the embedded store: a libpq URL, postgresql://user:pass@host:port/db, or a unix socket's directory as postgresql:///db?host=/var/run/postgresql" },
  { flag: "listen-address", type: "string", default: "0.0.0.0", help: "address the HTTP, gRPC and syslog listeners bind" },
  { flag: "http-port", type: "port", default: DEFAULT_HTTP_PORT, help: "HTTP port: REST API under /api/v1, /healthz, /readyz, /metrics, and the boot paths /ipxe/script, /ipxe/binary, /artifacts (0 = any free port)" },
  { flag: "grpc-port", type: "port", default: DEFAULT_GRPC_PORT, help: "port of the agents' workflow service (gRPC, Tinkerbell's proto.WorkflowService; 0 = any free port)" },
  { flag: "grpc-tls-cert", type: "string", help: "PEM certificate (chain) for TLS on the gRPC port; needs --grpc-tls-key (default: plain text)" },
  { flag: "grpc-tls-key", type: "string", help: "PEM private key for --grpc-tls-cert" },
  {
    flag: "agent-auth",
    type: "agent-auth",
    default: DEFAULT_AGENT_AUTH,
    help: "token: agents send gRPC metadata 'authorization: Bearer <agent token>'; off: any caller may fetch actions and report (stock Tinkerbell agents send no token)",
  },
  {
    flag: "agent-token",
    type: "kernel-arg",
    help: "agents' bearer token, also given to the Hook as wisp_agent_token on its kernel command line (default: generated once into <data-dir>/agent-token, mode 0600)",
  },
  {
    flag: "hook-registry",
    type: "registry",
    help: "host[:port] of the registry holding the action images: docker_registry on the Hook's kernel command line (its engine also trusts it over plain HTTP; wisp-agent sends credentials only there). Default: none",
  },
  { flag: "hook-registry-username", type: "kernel-arg", help: "registry_username on the Hook's kernel command line (needs --hook-registry)" },
  { flag: "hook-registry-password", type: "kernel-arg", help: "registry_password on the Hook's kernel command line (needs --hook-registry; anyone on the boot network can read it, as any kernel argument)" },
  {
    flag: "syslog-port",
    type: "port",
    default: DEFAULT_SYSLOG_PORT,
    help: "UDP port of the syslog receiver for iPXE and the Hook (0 = off); when the default port cannot be bound, wispd warns and runs without it",
  },
  {
    flag: "public-ip",
    type: "ipv4",
    help: "address put in DHCP and iPXE replies (default: the first --dhcp-interface's address, else the first non-loopback IPv4 address)",
  },
  { flag: "api-token", type: "string", help: "bearer token for the API (default: generated once into <data-dir>/api-token, mode 0600)" },
  { flag: "log-level", type: "level", default: "info", help: "trace, debug, info, warn, error or fatal" },
  {
    flag: "dhcp-interface",
    type: "interfaces",
    repeatable: true,
    help: "interface the DHCP server answers on; repeat the flag for more (comma-separated in the environment). DHCP is off until one is named",
  },
  { flag: "dhcp-mode", type: "mode", default: DEFAULT_DHCP_MODE, help: "reservation (addresses from Hardware), proxy (boot information only), auto-proxy (proxy, and unknown PXE clients too) or off" },
  { flag: "dhcp-lease-time", type: "seconds", default: DEFAULT_DHCP_LEASE_TIME, help: "lease time in seconds when a Hardware gives none" },
  {
    flag: "tftp-port",
    type: "port",
    default: DEFAULT_TFTP_PORT,
    help: "UDP port of the read-only TFTP server (iPXE binaries, artifacts) on --listen-address (0 = off); when the default port cannot be bound, wispd warns and runs without it",
  },
  {
    flag: "tftp-max-transfers",
    type: "count",
    default: String(DEFAULT_MAX_TRANSFERS),
    help: "TFTP transfers served at once (one UDP socket each); a request over the limit is dropped unanswered and counted, and the machine's retransmission brings it back",
  },
  { flag: "ipxe-dir", type: "string", help: `directory of iPXE binaries (undionly.kpxe, ipxe.efi, snponly.efi) served by name (default: ${DEFAULT_IPXE_DIR}, Debian's ipxe package, if it exists)` },
  { flag: "artifacts-dir", type: "string", help: "directory of boot artifacts served by relative path (default: <data-dir>/artifacts)" },
  // BMC (issue 9): how often every Machine's power state is read.
  { flag: "bmc-poll-interval", type: "seconds", default: DEFAULT_BMC_POLL_INTERVAL, help: "seconds between power-state polls of each Machine's BMC (an unreachable one is polled less often, up to 10 minutes apart)" },
  {
    flag: "heap-headroom",
    type: "mib",
    default: DEFAULT_HEAP_HEADROOM_MB,
    help: "MiB the JavaScript heap may grow over what was alive after the last collection before wispd asks for a full one (or half the live heap, if more); keeps RSS near the live heap under load. 0 = leave it to the runtime, which on a large host lets garbage grow to several times the live heap",
  },
  {
    flag: "trusted-proxies",
    type: "cidr",
    repeatable: true,
    help: "address or CIDR of an HTTP proxy whose X-Forwarded-For names the booting machine; repeat for more (comma-separated in the environment). Default: none, the TCP peer is the machine",
  },
] as const satisfies readonly OptionSpec[];

type Flag = (typeof OPTIONS)[number]["flag"];

/** The resolved configuration handed to the components. */
export interface Config {
  configFile?: string;
  dataDir: string;
  databaseUrl?: string;
  listenAddress: string;
  httpPort: number;
  grpcPort: number;
  /** PEM files; both or neither (TLS on the gRPC port). */
  grpcTlsCert?: string;
  grpcTlsKey?: string;
  agentAuth: AgentAuthMode;
  agentToken?: string;
  /** `host[:port]` and credentials for the Hook's kernel command line. */
  hookRegistry?: string;
  hookRegistryUsername?: string;
  hookRegistryPassword?: string;
  /** 0: the syslog receiver is off. */
  syslogPort: number;
  publicIp?: string;
  apiToken?: string;
  logLevel: string;
  /** Empty: the DHCP server is off. */
  dhcpInterfaces: string[];
  dhcpMode: DhcpMode;
  dhcpLeaseTime: number;
  /** 0: the TFTP server is off. */
  tftpPort: number;
  tftpMaxTransfers: number;
  ipxeDir?: string;
  artifactsDir?: string;
  /** `a.b.c.d/n` (validated); empty: X-Forwarded-For is never believed. */
  trustedProxies: string[];
  /** Seconds between power-state polls of a Machine. */
  bmcPollInterval: number;
  /** MiB of heap growth before a full collection (ops/heap-governor.ts); 0 = off. */
  heapHeadroom: number;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

const envName = (flag: string): string => "WISP_" + flag.toUpperCase().replaceAll("-", "_");
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The `--help` text: usage, every option with its env name and default. */
export function helpText(): string {
  const lines = [
    "usage: wispd [options]",
    "",
    "Wisp provisioning daemon: REST API, store, workflow engine, DHCP, TFTP, boot HTTP and the",
    "agents' workflow service (gRPC); metadata is added as it lands (see README).",
    "",
    "options (flag, environment variable, default):",
  ];
  for (const o of OPTIONS as readonly OptionSpec[]) {
    const def = o.default !== undefined ? ` (default ${o.default})` : "";
    lines.push(`  --${o.flag} <${PLACEHOLDER[o.type]}>`.padEnd(30) + `${envName(o.flag)}`);
    lines.push(`      ${o.help}${def}`);
  }
  lines.push("  -h, --help                  this text", "  --version                   print the version");
  return lines.join("\n");
}

/** Largest value of a "count" option. */
const MAX_COUNT = 1_000_000;
/** Largest value of a "mib" option (1 TiB). */
const MAX_MIB = 1_048_576;

const PLACEHOLDER: Record<OptionType, string> = {
  string: "value",
  port: "port",
  level: "level",
  ipv4: "address",
  mode: "mode",
  interfaces: "iface",
  seconds: "seconds",
  count: "n",
  cidr: "cidr",
  "agent-auth": "mode",
  registry: "host[:port]",
  "kernel-arg": "value",
  mib: "MiB",
};

interface RawValue {
  /** One entry per occurrence (repeatable options), or exactly one. */
  values: string[];
  from: string;
}

/** Parses argv (without node/script), env and the config file into a Config; throws WispError naming the option. */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): Config {
  const raw = new Map<Flag, RawValue>();
  const known = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.flag, o]));

  for (const o of OPTIONS as readonly OptionSpec[]) {
    const v = env[envName(o.flag)];
    if (v === undefined || v === "") continue;
    const values = o.repeatable ? v.split(",").map((x) => x.trim()).filter((x) => x !== "") : [v];
    raw.set(o.flag as Flag, { values, from: envName(o.flag) });
  }
  const fromFlags = new Map<Flag, RawValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new WispError("invalid_argument", `unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = known.get(name);
    if (!spec) throw new WispError("invalid_argument", `unknown option --${name} (see --help)`, { field: name });
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new WispError("invalid_argument", `option --${name} needs a value`, { field: name });
    const earlier = fromFlags.get(name as Flag);
    if (spec.repeatable && earlier) earlier.values.push(value);
    else fromFlags.set(name as Flag, { values: [value], from: `--${name}` });
  }

  const configFile = fromFlags.get("config")?.values[0] ?? raw.get("config")?.values[0];
  if (configFile) {
    for (const [flag, values] of readConfigFile(configFile, known)) {
      if (!raw.has(flag)) raw.set(flag, { values, from: `${configFile}: ${camel(flag)}` });
    }
  }
  for (const [k, v] of fromFlags) raw.set(k, v);

  const getAll = (flag: Flag): string[] => {
    const spec = known.get(flag)!;
    const entry = raw.get(flag);
    if (!entry) return spec.default === undefined ? [] : [String(spec.default)];
    for (const value of entry.values) checkValue(spec, value, entry.from);
    return entry.values;
  };
  const get = (flag: Flag): string | undefined => getAll(flag)[0];
  const grpcTlsCert = get("grpc-tls-cert");
  const grpcTlsKey = get("grpc-tls-key");
  if ((grpcTlsCert === undefined) !== (grpcTlsKey === undefined)) {
    const missing = grpcTlsCert === undefined ? "grpc-tls-cert" : "grpc-tls-key";
    throw new WispError("invalid_argument", `--grpc-tls-cert and --grpc-tls-key go together: --${missing} is missing`, { field: missing });
  }
  const hookRegistry = get("hook-registry");
  for (const flag of ["hook-registry-username", "hook-registry-password"] as const) {
    if (get(flag) !== undefined && hookRegistry === undefined) throw new WispError("invalid_argument", `--${flag} needs --hook-registry`, { field: flag });
  }
  return {
    configFile,
    dataDir: get("data-dir")!,
    databaseUrl: get("database-url"),
    listenAddress: get("listen-address")!,
    httpPort: Number(get("http-port")),
    grpcPort: Number(get("grpc-port")),
    grpcTlsCert,
    grpcTlsKey,
    agentAuth: get("agent-auth") as AgentAuthMode,
    agentToken: get("agent-token"),
    hookRegistry,
    hookRegistryUsername: get("hook-registry-username"),
    hookRegistryPassword: get("hook-registry-password"),
    syslogPort: Number(get("syslog-port")),
    publicIp: get("public-ip"),
    apiToken: get("api-token"),
    logLevel: get("log-level")!,
    dhcpInterfaces: [...new Set(getAll("dhcp-interface"))],
    dhcpMode: get("dhcp-mode") as DhcpMode,
    dhcpLeaseTime: Number(get("dhcp-lease-time")),
    tftpPort: Number(get("tftp-port")),
    tftpMaxTransfers: Number(get("tftp-max-transfers")),
    ipxeDir: get("ipxe-dir"),
    artifactsDir: get("artifacts-dir"),
    trustedProxies: [...new Set(getAll("trusted-proxies"))],
    bmcPollInterval: Number(get("bmc-poll-interval")),
    heapHeadroom: Number(get("heap-headroom")),
  };
}

function checkValue(spec: OptionSpec, value: string, from: string): void {
  const fail = (expected: string) => {
    throw new WispError("invalid_argument", `${from}: expected ${expected}, got "${value}"`, { field: spec.flag });
  };
  if (spec.type === "port") {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) fail("a port number 0-65535");
  }
  if (spec.type === "level" && !LEVELS.includes(value)) fail(`one of ${LEVELS.join(", ")}`);
  if (spec.type === "ipv4" && !parseIpv4(value).ok) fail("an IPv4 address like 192.168.1.10");
  if (spec.type === "cidr" && !parseCidr(value).ok) fail("an IPv4 address or CIDR like 10.0.0.0/8");
  if (spec.type === "agent-auth" && !(AGENT_AUTH_MODES as readonly string[]).includes(value)) fail(`one of ${AGENT_AUTH_MODES.join(", ")}`);
  // A word on the Hook's kernel command line, inside an iPXE line: no white space or control
  // characters (they would split it), no "${" (iPXE would expand it).
  if (spec.type === "kernel-arg" && (!/^[\x21-\x7e\xa0-\uffff]+$/.test(value) || value.includes("${"))) {
    fail("a value without white space, control characters or '${' (it goes on the Hook's kernel command line)");
  }
  if (spec.type === "registry" && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/.test(value)) fail("a registry host[:port] without a scheme, like 10.0.0.1:5000");
  if (spec.type === "mode" && !(DHCP_MODES as readonly string[]).includes(value)) fail(`one of ${DHCP_MODES.join(", ")}`);
  // IFNAMSIZ (16) less the NUL; '/', ':' and white space are not allowed in Linux interface names.
  if (spec.type === "interfaces" && !/^[^\s/:]{1,15}$/.test(value)) fail("an interface name of 1-15 characters without '/', ':' or spaces");
  if (spec.type === "count" && (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_COUNT)) fail(`a whole number 1-${MAX_COUNT}`);
  if (spec.type === "mib" && (!/^\d+$/.test(value) || Number(value) > MAX_MIB)) fail(`a whole number of MiB 0-${MAX_MIB}`);
  if (spec.type === "seconds" && (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 0xffffffff)) {
    fail("a number of seconds 1-4294967295"); // RFC 2132 9.2: a 32-bit unsigned lease time
  }
  // The URL is never echoed: it may hold a password (the error points at a character instead).
  const databaseUrl = spec.flag === "database-url" ? parseDatabaseUrl(value) : undefined;
  if (databaseUrl && !databaseUrl.ok) throw new WispError("invalid_argument", `${from}: ${databaseUrl.error}`, { field: spec.flag });
}

function readConfigFile(path: string, known: Map<string, OptionSpec>): [Flag, string[]][] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new WispError("invalid_argument", `config file ${path}: ${(e as Error).message}`, { field: "config" });
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new WispError("invalid_argument", `config file ${path}: ${(e as Error).message}`, { field: "config" });
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new WispError("invalid_argument", `config file ${path}: expected a mapping of options`, { field: "config" });
  }
  const byCamel = new Map([...known.keys()].map((f) => [camel(f), f]));
  const out: [Flag, string[]][] = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const flag = byCamel.get(key) ?? (known.has(key) ? key : undefined);
    if (!flag || flag === "config") {
      throw new WispError("invalid_argument", `config file ${path}: unknown option "${key}" (see wispd --help)`, { field: key });
    }
    const scalar = (v: unknown) => typeof v === "string" || typeof v === "number";
    if (known.get(flag)!.repeatable) {
      // A list, or one name (a comma-separated string, as in the environment).
      const items = Array.isArray(value) ? value : scalar(value) ? String(value).split(",").map((x) => x.trim()).filter((x) => x !== "") : undefined;
      if (items === undefined || !items.every(scalar)) {
        throw new WispError("invalid_argument", `config file ${path}: ${key}: expected a list of strings`, { field: key });
      }
      out.push([flag as Flag, items.map(String)]);
      continue;
    }
    if (!scalar(value)) {
      throw new WispError("invalid_argument", `config file ${path}: ${key}: expected a string or number`, { field: key });
    }
    out.push([flag as Flag, [String(value)]]);
  }
  return out;
}
