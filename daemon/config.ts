/**
 * wispd configuration: one table of options, read from flags, `WISP_*` environment variables
 * and an optional YAML/JSON config file (in that order of precedence). Only main.ts calls this.
 */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { WispError } from "./lib/errors.ts";

/** Default HTTP port (API, boot artifacts, metadata), as Tinkerbell's smee uses. */
export const DEFAULT_HTTP_PORT = 7080;
/** Default port of the agents' workflow service (Tinkerbell's tink-server). */
export const DEFAULT_GRPC_PORT = 42113;
/** Default data directory for the embedded store, the API token and artifacts. */
export const DEFAULT_DATA_DIR = "./var";

type OptionType = "string" | "port" | "level";

interface OptionSpec {
  /** Flag without dashes; the env name is WISP_ + upper snake case; the config key is camelCase. */
  flag: string;
  type: OptionType;
  default?: string | number;
  help: string;
}

/** Every wispd option; `--help` is printed from this table. */
export const OPTIONS = [
  { flag: "config", type: "string", help: "YAML or JSON file with any of these options (camelCase keys)" },
  { flag: "data-dir", type: "string", default: DEFAULT_DATA_DIR, help: "directory for the embedded store (PGlite), the API token and artifacts" },
  { flag: "database-url", type: "string", help: "postgres://user:pass@host:port/db to use PostgreSQL instead of the embedded store" },
  { flag: "listen-address", type: "string", default: "0.0.0.0", help: "address the HTTP and gRPC listeners bind" },
  { flag: "http-port", type: "port", default: DEFAULT_HTTP_PORT, help: "HTTP port: REST API under /api/v1, /healthz, /readyz (0 = any free port)" },
  { flag: "grpc-port", type: "port", default: DEFAULT_GRPC_PORT, help: "port of the agents' workflow service (gRPC; served once the agent service lands)" },
  { flag: "public-ip", type: "string", help: "address put in DHCP and iPXE replies (default: first non-loopback IPv4 address)" },
  { flag: "api-token", type: "string", help: "bearer token for the API (default: generated once into <data-dir>/api-token, mode 0600)" },
  { flag: "log-level", type: "level", default: "info", help: "trace, debug, info, warn, error or fatal" },
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
  publicIp?: string;
  apiToken?: string;
  logLevel: string;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

const envName = (flag: string): string => "WISP_" + flag.toUpperCase().replaceAll("-", "_");
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The `--help` text: usage, every option with its env name and default. */
export function helpText(): string {
  const lines = [
    "usage: wispd [options]",
    "",
    "Wisp provisioning daemon: REST API, store and workflow engine (DHCP, TFTP, boot HTTP,",
    "metadata and the agent service are added as they land; see README).",
    "",
    "options (flag, environment variable, default):",
  ];
  for (const o of OPTIONS) {
    const def = "default" in o ? ` (default ${o.default})` : "";
    lines.push(`  --${o.flag} <${o.type === "port" ? "port" : "value"}>`.padEnd(30) + `${envName(o.flag)}`);
    lines.push(`      ${o.help}${def}`);
  }
  lines.push("  -h, --help                  this text", "  --version                   print the version");
  return lines.join("\n");
}

/** Parses argv (without node/script), env and the config file into a Config; throws WispError naming the option. */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): Config {
  const raw = new Map<Flag, { value: string; from: string }>();
  const known = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.flag, o]));

  for (const o of OPTIONS) {
    const v = env[envName(o.flag)];
    if (v !== undefined && v !== "") raw.set(o.flag, { value: v, from: envName(o.flag) });
  }
  const fromFlags = new Map<Flag, { value: string; from: string }>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new WispError("invalid_argument", `unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new WispError("invalid_argument", `unknown option --${name} (see --help)`, { field: name });
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new WispError("invalid_argument", `option --${name} needs a value`, { field: name });
    fromFlags.set(name as Flag, { value, from: `--${name}` });
  }

  const configFile = fromFlags.get("config")?.value ?? raw.get("config")?.value;
  if (configFile) {
    for (const [flag, value] of readConfigFile(configFile, known)) {
      if (!raw.has(flag)) raw.set(flag, { value, from: `${configFile}: ${camel(flag)}` });
    }
  }
  for (const [k, v] of fromFlags) raw.set(k, v);

  const get = (flag: Flag): string | undefined => {
    const spec = known.get(flag)!;
    const entry = raw.get(flag);
    if (!entry) return spec.default === undefined ? undefined : String(spec.default);
    checkValue(spec, entry.value, entry.from);
    return entry.value;
  };
  return {
    configFile,
    dataDir: get("data-dir")!,
    databaseUrl: get("database-url"),
    listenAddress: get("listen-address")!,
    httpPort: Number(get("http-port")),
    grpcPort: Number(get("grpc-port")),
    publicIp: get("public-ip"),
    apiToken: get("api-token"),
    logLevel: get("log-level")!,
  };
}

function checkValue(spec: OptionSpec, value: string, from: string): void {
  if (spec.type === "port") {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) {
      throw new WispError("invalid_argument", `${from}: expected a port number 0-65535, got "${value}"`, { field: spec.flag });
    }
  }
  if (spec.type === "level" && !LEVELS.includes(value)) {
    throw new WispError("invalid_argument", `${from}: expected one of ${LEVELS.join(", ")}, got "${value}"`, { field: spec.flag });
  }
  if (spec.flag === "database-url" && !/^postgres(ql)?:\/\//.test(value)) {
    throw new WispError("invalid_argument", `${from}: expected a postgres:// URL`, { field: spec.flag });
  }
}

function readConfigFile(path: string, known: Map<string, OptionSpec>): [Flag, string][] {
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
  const out: [Flag, string][] = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const flag = byCamel.get(key) ?? (known.has(key) ? key : undefined);
    if (!flag || flag === "config") {
      throw new WispError("invalid_argument", `config file ${path}: unknown option "${key}" (see wispd --help)`, { field: key });
    }
    if (typeof value !== "string" && typeof value !== "number") {
      throw new WispError("invalid_argument", `config file ${path}: ${key}: expected a string or number`, { field: key });
    }
    out.push([flag as Flag, String(value)]);
  }
  return out;
}
