/**
 * The iPXE script a netbooting machine runs: Hook's kernel and initrd with the kernel arguments
 * Hook reads (COMPAT section 3), the Hardware's own script (`netboot.ipxe.contents`) or a chain
 * to its URL (`netboot.ipxe.url`), a generic script for machines Wisp does not know
 * (auto-proxy), or a refusal with its reason. Pure: what we know in, script text out.
 *
 * iPXE reads a script line by line, splits each line at white space (no quoting), treats a
 * token starting with `#` as the start of a comment and `&&`, `||`, `;` as separators, and
 * stops the script at the first command that fails unless `||` follows it. Every value taken
 * from a Hardware is checked against those rules before it goes into a line.
 */
import type { DhcpHost, DhcpMode } from "../dhcp/types.ts";
import type { Hardware, OSIEConfig } from "../manifest/types.ts";
import { normalizeMac } from "../manifest/values.ts";

/** URL path under which wispd serves boot artifacts (Hook's kernel and initrd) from `--artifacts-dir`. */
export const ARTIFACTS_PATH = "/artifacts";
/** Times a failed download (or DHCP) is tried again before the script gives up. */
export const SCRIPT_RETRIES = 5;
/** Seconds between two tries. */
export const SCRIPT_RETRY_DELAY_SECONDS = 2;

/** Hook's name for a Hardware `arch` (it ships x86_64 and aarch64 builds only). */
export const HOOK_ARCHES = {
  x86_64: "x86_64",
  amd64: "x86_64",
  x86: "x86_64", // a 32-bit iPXE (undionly.kpxe) on a 64-bit machine; Hook has no 32-bit build
  i386: "x86_64",
  i686: "x86_64",
  aarch64: "aarch64",
  arm64: "aarch64",
} as const satisfies Record<string, string>;

/** Hook architecture. */
export type HookArch = (typeof HOOK_ARCHES)[keyof typeof HOOK_ARCHES];

/**
 * Kernel consoles by architecture; the last one is /dev/console. x86 servers put their serial
 * console (and BMC serial-over-LAN) on the first 8250 port; arm64 ones on a PL011 (ttyAMA0) or
 * an 8250, so both are named there. A Hardware's `osie.kernelParams` come later and win.
 */
export const HOOK_CONSOLES = {
  x86_64: ["console=tty0", "console=ttyS0,115200"],
  aarch64: ["console=tty0", "console=ttyAMA0,115200", "console=ttyS0,115200"],
} as const satisfies Record<HookArch, readonly string[]>;

// iPXE's ${buildarch} (https://ipxe.org/cfg/buildarch) -> Hook arch, for scripts that must find
// out at boot time. A 32-bit iPXE build does not mean a 32-bit machine.
const BUILDARCH_TO_HOOK = [
  ["i386", "x86_64"],
  ["x86_64", "x86_64"],
  ["arm32", "aarch64"],
  ["arm64", "aarch64"],
] as const;

/** What the script needs to know about this installation. */
export interface ScriptSettings {
  /** `--public-ip`: where the machine reaches wispd (HTTP, gRPC, syslog). */
  publicIp: string;
  /** The HTTP port wispd listens on (`--http-port`, resolved). */
  httpPort: number;
  /** `--grpc-port`: the agents' workflow service. */
  grpcPort: number;
  /** `--dhcp-mode`: in `auto-proxy`, machines Wisp does not know get the generic script. */
  mode: DhcpMode;
  /** Our iPXE user class (DHCP option 77); see DEFAULT_WISP_USER_CLASS. */
  userClass: string;
  retries?: number;
  retryDelaySeconds?: number;
  /** wispd's agent token (`--agent-auth token`): wisp-agent reads it from `wisp_agent_token`. */
  agentToken?: string;
  /** `--hook-registry` and its credentials: `docker_registry`, `registry_username`, `registry_password`. */
  registry?: HookRegistry;
}

/** The registry the Hook pulls action images from (its engine trusts it over plain HTTP too). */
export interface HookRegistry {
  /** `host[:port]`, no scheme. */
  host: string;
  username?: string;
  password?: string;
}

/** One Hardware interface as the script sees it. */
export interface ScriptMachine {
  /** Lower-case colon form. */
  mac: string;
  namespace: string;
  hardwareName: string;
  allowPXE: boolean;
  arch?: string;
  vlanId?: string;
  agentId?: string;
  /** Hardware `metadata.facility.facility_code`. */
  facility?: string;
  ipxe?: { url?: string; contents?: string };
  osie?: OSIEConfig;
}

/** Who asked, for the messages of refusals. */
export interface ScriptClient {
  /** The MAC in the URL path, if any. */
  mac?: string;
  /** The client address the machine was looked up by (after X-Forwarded-For). */
  address?: string;
}

/** Why no script is served, with the HTTP status and what it means. */
export const SCRIPT_REFUSALS = {
  "unknown-machine": { status: 404, meaning: "no Hardware has this MAC (or address), and --dhcp-mode is not auto-proxy" },
  "pxe-not-allowed": { status: 404, meaning: "the Hardware interface has netboot.allowPXE false" },
  "unsafe-value": { status: 500, meaning: "a Hardware value would break the script's line (white space, a leading #, &&, ||, ;)" },
  "bad-chain-url": { status: 500, meaning: "netboot.ipxe.url is not an http or https URL" },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** One of SCRIPT_REFUSALS. */
export type ScriptRefusal = keyof typeof SCRIPT_REFUSALS;

/** Where the script came from: Hook, the Hardware's contents or URL, or the generic one. */
export type ScriptSource = "hook" | "contents" | "chain" | "generic";

/** The script, or a refusal whose body is a script that says why (iPXE itself shows only the status). */
export type ScriptOutcome =
  | { kind: "script"; source: ScriptSource; text: string }
  | { kind: "refused"; reason: ScriptRefusal; status: number; message: string; text: string };

/** `http://<publicIp>:<httpPort>/artifacts`: where Hook's kernel and initrd are fetched from by default. */
export function defaultArtifactsUrl(settings: Pick<ScriptSettings, "publicIp" | "httpPort">): string {
  return `http://${settings.publicIp}:${settings.httpPort}${ARTIFACTS_PATH}`;
}

/** The Hook architecture for a Hardware `arch`, or undefined (found out at boot from ${buildarch}). */
export function hookArch(arch: string | undefined): HookArch | undefined {
  return arch === undefined ? undefined : (HOOK_ARCHES as Record<string, HookArch>)[arch.trim().toLowerCase()];
}

/** The script for `machine` (undefined: Wisp knows no Hardware for this client). */
export function ipxeScript(machine: ScriptMachine | undefined, client: ScriptClient, settings: ScriptSettings): ScriptOutcome {
  if (machine === undefined) {
    if (settings.mode === "auto-proxy") return { kind: "script", source: "generic", text: hookScript(undefined, settings) };
    const who = client.mac !== undefined ? `MAC ${client.mac}` : `address ${client.address ?? "unknown"}`;
    return refuse("unknown-machine", `no Hardware has ${who}`);
  }
  const name = `${machine.namespace}/${machine.hardwareName} (${machine.mac})`;
  if (!machine.allowPXE) return refuse("pxe-not-allowed", `netboot.allowPXE is false for ${name}`);
  const contents = machine.ipxe?.contents;
  if (contents) return { kind: "script", source: "contents", text: withMagic(contents) };
  const url = machine.ipxe?.url;
  if (url) {
    if (!/^https?:\/\/[^/\s]/i.test(url)) return refuse("bad-chain-url", `netboot.ipxe.url of ${name} is not an http(s) URL`);
    if (!safeToken(url)) return refuse("unsafe-value", `netboot.ipxe.url of ${name} cannot go into an iPXE line`);
    return { kind: "script", source: "chain", text: chainScript(machine, url, settings) };
  }
  const unsafe = unsafeField(machine);
  if (unsafe !== undefined) return refuse("unsafe-value", `${unsafe} of ${name} cannot go into an iPXE line`);
  return { kind: "script", source: "hook", text: hookScript(machine, settings) };
}

/** The ScriptMachine of a host, with `osie` (of its interface) and the facility from the stored Hardware. */
export function scriptMachine(host: DhcpHost, hardware: Pick<Hardware, "spec"> | undefined): ScriptMachine {
  const machine: ScriptMachine = { mac: host.mac, namespace: host.namespace, hardwareName: host.hardwareName, allowPXE: host.allowPXE };
  if (host.arch !== undefined) machine.arch = host.arch;
  if (host.vlanId !== undefined) machine.vlanId = host.vlanId;
  if (host.agentId !== undefined) machine.agentId = host.agentId;
  if (host.ipxe?.url || host.ipxe?.contents) machine.ipxe = { url: host.ipxe.url, contents: host.ipxe.contents };
  const spec = hardware?.spec;
  const facility = spec?.metadata?.facility?.facility_code;
  if (facility) machine.facility = facility;
  const iface = spec?.interfaces?.find((i) => i.dhcp?.mac !== undefined && normalizeMac(i.dhcp.mac) === host.mac);
  if (iface?.netboot?.osie) machine.osie = iface.netboot.osie;
  return machine;
}

/** Kernel arguments for Hook (COMPAT section 3), without the kernel URL; `${...}` are iPXE settings. */
export function hookKernelArgs(machine: ScriptMachine | undefined, settings: ScriptSettings, arch: HookArch | undefined): string[] {
  const mac = machine?.mac ?? "${netX/mac}";
  const args = [
    `worker_id=${machine?.agentId ?? mac}`,
    `hw_addr=${mac}`,
    `grpc_authority=${settings.publicIp}:${settings.grpcPort}`,
    "tinkerbell_tls=false",
    "tinkerbell_insecure_tls=false",
    `syslog_host=${settings.publicIp}`,
  ];
  if (settings.registry) {
    args.push(`docker_registry=${settings.registry.host}`);
    if (settings.registry.username !== undefined) args.push(`registry_username=${settings.registry.username}`);
    if (settings.registry.password !== undefined) args.push(`registry_password=${settings.registry.password}`);
  }
  if (settings.agentToken !== undefined) args.push(`wisp_agent_token=${settings.agentToken}`);
  if (machine?.facility) args.push(`facility=${machine.facility}`);
  if (machine?.vlanId) args.push(`vlan_id=${machine.vlanId}`);
  args.push(arch === undefined ? "${consoles}" : HOOK_CONSOLES[arch].join(" "));
  for (const p of machine?.osie?.kernelParams ?? []) if (p !== "") args.push(p);
  return args;
}

function refuse(reason: ScriptRefusal, message: string): ScriptOutcome {
  const text = ["#!ipxe", `# Wisp: ${echoText(message)}`, `echo Wisp: ${echoText(message)}`, "exit 1", ""].join("\n");
  return { kind: "refused", reason, status: SCRIPT_REFUSALS[reason].status, message, text };
}

// iPXE only runs an image as a script when it starts with "#!ipxe" (or the older "#!gpxe").
function withMagic(contents: string): string {
  return /^#!(ipxe|gpxe)\b/.test(contents) ? contents : `#!ipxe\n${contents}`;
}

// A value is one token: no white space or control characters (a line break would start a new
// command), no leading '#' (a comment to the end of the line, retries included), not a separator.
function safeToken(value: string): boolean {
  return value !== "" && !/[\x00-\x20\x7f]/.test(value) && !value.startsWith("#") && value !== "&&" && value !== "||" && value !== ";";
}

function unsafeField(m: ScriptMachine): string | undefined {
  const fields: [string, string | undefined][] = [
    ["agentID", m.agentId],
    ["vlan_id", m.vlanId],
    ["facility_code", m.facility],
    ["osie.baseURL", m.osie?.baseURL],
    ["osie.kernel", m.osie?.kernel],
    ["osie.initrd", m.osie?.initrd],
  ];
  for (const [field, value] of fields) if (value !== undefined && value !== "" && !safeToken(value)) return field;
  const params = m.osie?.kernelParams ?? [];
  for (let i = 0; i < params.length; i++) if (params[i] !== "" && !safeToken(params[i]!)) return `osie.kernelParams[${i}]`;
  return undefined;
}

// iPXE expands ${...} everywhere, echo included; names are DNS labels, but say so for sure.
const echoText = (text: string): string => text.replace(/[^\x21-\x7e ]|\$\{/g, "?");

/**
 * `<command> && goto <next> || iseq ${idx} ${retries} && goto <failed> || inc idx && sleep ... && goto <label>`:
 * a bounded retry loop in one iPXE line (goto ends the line; a failure with `||` after it does not end the script).
 */
function retried(label: string, command: string, next: string, failed: string): string[] {
  return [
    "set idx:int32 0",
    `:${label}`,
    `${command} && goto ${next} || iseq \${idx} \${retries} && goto ${failed} || inc idx && echo Wisp: ${label} failed, trying again in \${retry-delay} s && sleep \${retry-delay} && goto ${label}`,
  ];
}

// `echo` is given as is: the generic script names ${netX/mac}, which iPXE expands.
function preamble(settings: ScriptSettings, title: string, echo: string): string[] {
  return [
    "#!ipxe",
    `# Wisp: ${echoText(title)}`,
    `echo Wisp: ${echo}`,
    // Any DHCP this iPXE does from here on (below, or after a failed boot) sends our class, so
    // Wisp's DHCP answers with the script URL again, never with an iPXE binary: no chainload loop.
    `set user-class ${settings.userClass}`,
    `set retries:int32 ${settings.retries ?? SCRIPT_RETRIES}`,
    `set retry-delay:int32 ${settings.retryDelaySeconds ?? SCRIPT_RETRY_DELAY_SECONDS}`,
    "",
    // iPXE fetched this script, so its link is normally up; only a script run some other way
    // (embedded, from a menu) needs the network first.
    "isset ${netX/ip} && goto net-ready ||",
    ...retried("dhcp", "dhcp", "net-ready", "dhcp-failed"),
    ":net-ready",
  ];
}

function failure(label: string, what: string): string[] {
  return [`:${label}`, `echo Wisp: giving up: ${what}`, "imgfree", "exit 1"];
}

// Hook for a known machine, or (machine undefined) the generic one for auto-proxy.
function hookScript(machine: ScriptMachine | undefined, settings: ScriptSettings): string {
  const arch = machine === undefined ? undefined : hookArch(machine.arch);
  const osie = machine?.osie ?? {};
  const base = (osie.baseURL || defaultArtifactsUrl(settings)).replace(/\/+$/, "");
  const kernel = artifactUrl(osie.kernel || "vmlinuz-${arch}");
  const initrd = artifactUrl(osie.initrd || "initramfs-${arch}");
  const title = machine === undefined ? "generic Hook boot (a machine without Hardware)" : `Hook boot for ${machine.namespace}/${machine.hardwareName} (${machine.mac})`;
  const echo = machine === undefined ? "generic Hook boot for ${netX/mac}" : echoText(title);
  const args = hookKernelArgs(machine, settings, arch);
  const lines = [...preamble(settings, title, echo), "", ...archLines(arch), `set base-url ${base}`, ""];
  // EFI-stub kernels find the initrd by the name iPXE gives it: the last segment of its URL.
  lines.push(...retried("kernel", `kernel ${kernel} initrd=${basename(initrd)} ${args.join(" ")}`, "initrd-start", "kernel-failed"));
  lines.push(":initrd-start", ...retried("initrd", `initrd ${initrd}`, "boot-start", "initrd-failed"));
  lines.push(":boot-start", ...retried("boot", "boot", "boot-failed", "boot-failed"), "");
  lines.push(...failure("dhcp-failed", "no DHCP answer"), "");
  lines.push(...failure("kernel-failed", `could not load the kernel ${kernel}`), "");
  lines.push(...failure("initrd-failed", `could not load the initrd ${initrd}`), "");
  lines.push(...failure("boot-failed", "the kernel did not boot"), "");
  return lines.join("\n");
}

function artifactUrl(name: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(name) ? name : `\${base-url}/${name.replace(/^\/+/, "")}`;
}

const basename = (url: string): string => url.slice(url.lastIndexOf("/") + 1);

function archLines(arch: HookArch | undefined): string[] {
  if (arch !== undefined) return [`set arch ${arch}`];
  // Hardware without a known arch (or a machine Wisp does not know): ask the running iPXE.
  const lines = ["set arch x86_64"];
  for (const [build, hook] of BUILDARCH_TO_HOOK) lines.push(`iseq \${buildarch} ${build} && set arch ${hook} ||`);
  lines.push(`set consoles ${HOOK_CONSOLES.x86_64.join(" ")}`);
  lines.push(`iseq \${arch} aarch64 && set consoles ${HOOK_CONSOLES.aarch64.join(" ")} ||`);
  return lines;
}

function chainScript(machine: ScriptMachine, url: string, settings: ScriptSettings): string {
  const title = `chain to netboot.ipxe.url for ${machine.namespace}/${machine.hardwareName} (${machine.mac})`;
  const lines = [...preamble(settings, title, echoText(title)), ""];
  // A chained script that returns (rather than booting) ends this one with its success.
  lines.push(...retried("chain", `chain --autofree ${url}`, "chain-done", "chain-failed"), ":chain-done", "exit 0", "");
  lines.push(...failure("dhcp-failed", "no DHCP answer"), "");
  lines.push(...failure("chain-failed", `could not chain to ${url}`), "");
  return lines.join("\n");
}
