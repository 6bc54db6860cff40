/**
 * What a netbooting machine fetches over HTTP, on the API's port and without a token (a booting
 * machine has none): iPXE binaries (`/ipxe/binary/[<mac>/]<file>`), the iPXE script
 * (`/ipxe/script/[<mac>/]auto.ipxe`) and boot artifacts (`/artifacts/<path>`). File names are
 * resolved by the TFTP server's file source, so both protocols serve the same files with the
 * same confinement; bodies go out with sendfile.
 */
import { stat } from "node:fs/promises";
import { Elysia } from "elysia";
import { BINARY_PATH, SCRIPT_NAME, SCRIPT_PATH } from "../dhcp/boot.ts";
import type { DhcpHost, HardwareLookup } from "../dhcp/types.ts";
import { hostFields, machineFields, preparedLine, type Logger, type MachineFields, type PreparedLine } from "../lib/log.ts";
import type { Counter, Family, MetricsRegistry } from "../lib/metrics.ts";
import { httpMetrics } from "../ops/http-metrics.ts";
import { err, ok, type Result } from "../lib/result.ts";
import type { Hardware } from "../manifest/types.ts";
import { normalizeMac } from "../manifest/values.ts";
import { createFileSource, type FileSource } from "../tftp/files.ts";
import type { FileProblem } from "../tftp/policy.ts";
import { clientAddress, type Cidr, type ClientAddress } from "./client-address.ts";
import { contentTypeOf, fileResponse, type FileReply } from "./file-response.ts";
import { ARTIFACTS_PATH, ipxeScript, scriptMachine, type ScriptSettings } from "./ipxe-script.ts";
import { nativeRoute, type NativeRoutes, type PeerSource } from "./native-routes.ts";
import { createScriptCache, rendered, SCRIPT_CONTENT_TYPE, type RenderedScript } from "./script-cache.ts";

/** What the boot routes need from the process. */
export interface BootRoutesOptions {
  lookup: HardwareLookup;
  /** The stored Hardware behind an index entry (for `osie` and the facility); undefined when gone. */
  hardware(namespace: string, name: string): Promise<Pick<Hardware, "spec"> | undefined>;
  /** Read per request: the port is known only once the server listens; undefined without a public address. */
  settings(): ScriptSettings | undefined;
  /** `--ipxe-dir`: iPXE binaries by bare name. */
  ipxeDir?: string;
  /** `--artifacts-dir`: Hook's kernel and initrd, images; also searched for binaries not in ipxeDir. */
  artifactsDir?: string;
  /** `--trusted-proxies`: peers whose X-Forwarded-For is believed. */
  trustedProxies: readonly Cidr[];
  logger: Logger;
  metrics: MetricsRegistry;
  /**
   * Calls its listener whenever the hardware index changes (the index's onChange). Given, rendered
   * scripts are kept per host until then (see script-cache.ts); without it each request renders.
   */
  hardwareChanges?: (listener: () => void) => () => void;
}

/** The `route` label of the boot metrics. */
export type BootRoute = "script" | "binary" | "artifact";

/** Why a file path is refused before or during resolution; counted in wisp_http_boot_refusals_total. */
export const PATH_REFUSALS = {
  "bad-encoding": "the path's percent-encoding does not decode",
  "dot-segment": "a `.` or `..` segment (also percent-encoded)",
  absolute: "an absolute path (a leading / after the prefix)",
  "control-character": "a NUL or other control character",
  "outside-root": "the path (through a symlink) leads out of its directory",
  "not-a-bare-name": "an iPXE binary name with a / in it",
} as const satisfies Record<string, string>;

/** One of PATH_REFUSALS. */
export type PathRefusal = keyof typeof PATH_REFUSALS;

interface Metrics {
  requests: Family<Counter>;
  bytes: Family<Counter>;
  refusals: Family<Counter>;
  scriptCache: Family<Counter>;
}

function bootMetrics(registry: MetricsRegistry): Metrics {
  return {
    requests: registry.counter("wisp_http_boot_requests_total", "Boot HTTP requests (iPXE script, iPXE binaries, artifacts), by route and status", ["route", "status"]),
    bytes: registry.counter("wisp_http_boot_response_bytes_total", "Body bytes of boot HTTP responses handed to the socket, by route", ["route"]),
    refusals: registry.counter("wisp_http_boot_refusals_total", "Boot file paths refused (traversal, encoding, symlinks out), by route and reason", ["route", "reason"]),
    scriptCache: registry.counter("wisp_http_ipxe_script_cache_total", "iPXE scripts answered from the rendered-script cache (hit) or rendered (miss); kept until the hardware index changes", ["result"]),
  };
}

const TEXT = SCRIPT_CONTENT_TYPE;
const PEER_KEYS = ["peer", "via"] as const;
const textResponse = (status: number, body: string): Response => new Response(body.endsWith("\n") ? body : body + "\n", { status, headers: { "content-type": TEXT } });

/**
 * Decodes a path from the URL (the router leaves percent-escapes in place) and refuses what
 * could leave the directory before the file source even looks: its real-path check is the
 * second line, and the one that catches symlinks.
 */
export function checkBootPath(raw: string): Result<string, PathRefusal> {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return err("bad-encoding");
  }
  if (/[\x00-\x1f\x7f]/.test(path)) return err("control-character");
  if (path.startsWith("/")) return err("absolute");
  if (path.split("/").some((s) => s === "." || s === "..")) return err("dot-segment");
  return ok(path);
}

const PROBLEM_STATUS: Record<FileProblem, number> = { "not-found": 404, "not-a-file": 404, "outside-root": 404, unreadable: 403, "too-large": 500 };

/**
 * The boot routes as an Elysia plugin, and the iPXE script's two paths again as Bun.serve routes
 * (`serveRoutes`, see native-routes.ts): the same answers, lines and counters without Elysia's
 * per-request lifecycle. The listener passes them to Bun (Elysia's `serve.routes`).
 */
export function bootRoutes(opts: BootRoutesOptions) {
  const { lookup, logger, trustedProxies } = opts;
  const metrics = bootMetrics(opts.metrics);
  const binaries = createFileSource({ ipxeDir: opts.ipxeDir, artifactsDir: opts.artifactsDir });
  const artifacts = createFileSource({ artifactsDir: opts.artifactsDir });

  // Each route's counters by status, looked up once: a script request counts without building label strings.
  const requestsBy: Record<BootRoute, Counter[]> = { script: [], binary: [], artifact: [] };
  const bytesBy: Partial<Record<BootRoute, Counter>> = {};
  const count = (route: BootRoute, status: number, bytes: number): void => {
    (requestsBy[route][status] ??= metrics.requests.labels(route, String(status))).inc();
    if (bytes > 0) (bytesBy[route] ??= metrics.bytes.labels(route)).inc(bytes);
  };
  // ops: file lines carry the machine at the peer's address (the hardware index), as scripts do.
  const machineAt = (addr: ClientAddress): MachineFields => hostFields(addr.ip !== undefined ? lookup.byIp(addr.ip) : undefined);
  const refused = (route: BootRoute, reason: PathRefusal, status: number, path: string, addr: ClientAddress): Response => {
    metrics.refusals.labels(route, reason).inc();
    logger.warn({ ...machineAt(addr), path, peer: addr.text, reason }, "boot path refused");
    count(route, status, 0);
    return textResponse(status, `refused: ${PATH_REFUSALS[reason]}`);
  };
  // Without a trusted proxy the header is never believed: it is not even read (Bun builds the headers object on first use).
  const client = (request: Request, server: PeerSource | null): ClientAddress =>
    clientAddress(server?.requestIP(request)?.address, trustedProxies.length === 0 ? null : request.headers.get("x-forwarded-for"), trustedProxies);

  async function serveFile(route: BootRoute, source: FileSource, name: string, request: Request, addr: ClientAddress): Promise<Response> {
    const peer = addr.text;
    const opened = await source.open(name, "octet");
    if (!opened.ok) {
      const status = PROBLEM_STATUS[opened.error];
      if (opened.error === "outside-root") return refused(route, "outside-root", status, name, addr);
      logger.debug({ ...machineAt(addr), path: name, peer, problem: opened.error }, "boot file not served");
      count(route, status, 0);
      return textResponse(status, status === 404 ? `not found: ${name}` : `cannot read ${name}`);
    }
    const real = opened.value.file;
    await opened.value.close();
    const st = await stat(real).catch(() => undefined);
    if (st === undefined) {
      count(route, 404, 0);
      return textResponse(404, `not found: ${name}`);
    }
    const reply: FileReply = fileResponse(request.method, request.headers, { path: real, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }, contentTypeOf(name));
    count(route, reply.status, reply.bytes);
    logger.debug({ ...machineAt(addr), path: name, file: real, peer, status: reply.status, bytes: reply.bytes }, route === "binary" ? "ipxe binary served" : "artifact served");
    return reply.response;
  }

  const cache = opts.hardwareChanges && createScriptCache(opts.hardwareChanges);
  const lineLoggers = new WeakMap<RenderedScript, PreparedLine<"peer" | "via">>();
  const [cacheHit, cacheMiss] = [metrics.scriptCache.labels("hit"), metrics.scriptCache.labels("miss")];

  /** Answers a script request: at once from the cache, or once the Hardware is read (a miss). */
  function script(request: Request, addr: ClientAddress, macParam: string | undefined): Response | Promise<Response> {
    const head = request.method === "HEAD";
    let mac: string | undefined;
    if (macParam !== undefined) {
      mac = macOf(macParam);
      if (mac === undefined) return plainScript(400, `not a MAC address: ${JSON.stringify(safeDecode(macParam))}\n`, head);
    }
    const settings = opts.settings();
    if (settings === undefined) {
      logger.error({ ...machineFields({ mac }), peer: addr.text }, "ipxe script needs --public-ip");
      return plainScript(503, "wispd has no address to give booting machines: set --public-ip\n", head);
    }
    const host = mac !== undefined ? lookup.byMac(mac) : addr.ip !== undefined ? lookup.byIp(addr.ip) : undefined;
    // An unknown machine's refusal names the client: only the generic script (auto-proxy) is kept.
    const cacheable = cache !== undefined && (host !== undefined || settings.mode === "auto-proxy");
    const kept = cacheable ? cache.get(host, settings) : undefined;
    if (cacheable) (kept === undefined ? cacheMiss : cacheHit).inc();
    if (kept !== undefined) return answer(kept, host, addr, mac, head);
    return render(host, addr, mac, settings, cacheable, head).then((r) => (r instanceof Response ? r : answer(r, host, addr, mac, head)));
  }

  const plainScript = (status: number, body: string, head: boolean): Response => {
    count("script", status, head ? 0 : Buffer.byteLength(body));
    return new Response(body, { status, headers: { "content-type": TEXT } });
  };

  /** Renders the script (reading the Hardware behind `host`) and keeps it when it may be kept. */
  async function render(host: DhcpHost | undefined, addr: ClientAddress, mac: string | undefined, settings: ScriptSettings, cacheable: boolean, head: boolean): Promise<RenderedScript | Response> {
    const generation = cache?.generation ?? 0;
    let hardware: Pick<Hardware, "spec"> | undefined;
    if (host !== undefined) {
      try {
        hardware = await opts.hardware(host.namespace, host.hardwareName);
      } catch (e) {
        logger.error({ err: e, mac: host.mac, peer: addr.text }, "ipxe script: hardware read failed");
        return plainScript(503, "the store cannot be read; try again\n", head);
      }
    }
    const outcome = ipxeScript(host && scriptMachine(host, hardware), { mac, address: addr.text }, settings);
    return cacheable ? cache!.put(host, generation, outcome) : rendered(outcome);
  }

  /** Logs and counts a rendered script, and answers with it. */
  function answer(r: RenderedScript, host: DhcpHost | undefined, addr: ClientAddress, mac: string | undefined, head: boolean): Response {
    const outcome = r.outcome;
    if (host !== undefined) {
      // The host's fields are serialised once per rendered script (a child logger), the peer per line.
      let line = lineLoggers.get(r);
      if (line === undefined) {
        const fixed = outcome.kind === "refused" ? { reason: outcome.reason, message: outcome.message } : { source: outcome.source };
        const child = logger.child({ mac: host.mac, hardware: `${host.namespace}/${host.hardwareName}`, ...fixed });
        lineLoggers.set(r, (line = preparedLine(child, "info", outcome.kind === "refused" ? "ipxe script refused" : "ipxe script served", PEER_KEYS)));
      }
      line({ peer: addr.text, via: addr.source });
    } else {
      const fields = { mac, peer: addr.text, via: addr.source };
      if (outcome.kind === "refused") logger.info({ ...fields, reason: outcome.reason, message: outcome.message }, "ipxe script refused");
      else logger.info({ ...fields, source: outcome.source }, "ipxe script served");
    }
    count("script", r.status, head ? 0 : r.body.length);
    return new Response(r.blob, r.init);
  }

  // `<file>` or `<mac>/<file>`: one wildcard, as the router cannot hold both `:file` and `:mac/:file`.
  function binary(request: Request, addr: ClientAddress, rest: string): Promise<Response> | Response {
    const parts = rest.split("/");
    if (parts.length > 2) return refused("binary", "not-a-bare-name", 400, rest, addr);
    const [macParam, fileParam] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
    const checked = checkBootPath(fileParam);
    if (!checked.ok) return refused("binary", checked.error, 400, fileParam, addr);
    if (checked.value === "") {
      count("binary", 404, 0);
      return textResponse(404, "no file named");
    }
    if (checked.value.includes("/")) return refused("binary", "not-a-bare-name", 400, checked.value, addr);
    if (macParam !== undefined && normalizeMac(safeDecode(macParam)) === undefined) {
      count("binary", 400, 0);
      return textResponse(400, `not a MAC address: ${JSON.stringify(safeDecode(macParam))}`);
    }
    return serveFile("binary", binaries, checked.value, request, addr);
  }

  const scriptByAddress = `${SCRIPT_PATH}/${SCRIPT_NAME}`;
  const scriptByMac = `${SCRIPT_PATH}/:mac/${SCRIPT_NAME}`;
  const native = { http: httpMetrics(opts.metrics), logger };
  const byAddress = nativeRoute(scriptByAddress, (request, server) => script(request, client(request, server), undefined), native);
  const byMac = nativeRoute(scriptByMac, (request, server) => script(request, client(request, server), request.params?.mac), native);
  const serveRoutes: NativeRoutes = { [scriptByAddress]: { GET: byAddress, HEAD: byAddress }, [scriptByMac]: { GET: byMac, HEAD: byMac } };

  const plugin = new Elysia({ name: "wisp-boot" })
    .get(scriptByAddress, ({ request, server }) => script(request, client(request, server), undefined))
    .get(scriptByMac, ({ request, server, params }) => script(request, client(request, server), params.mac))
    .get(`${BINARY_PATH}/*`, ({ request, server, params }) => binary(request, client(request, server), params["*"]))
    .get(`${ARTIFACTS_PATH}/*`, ({ request, server, params }) => {
      const addr = client(request, server);
      const checked = checkBootPath(params["*"]);
      if (!checked.ok) return refused("artifact", checked.error, 400, params["*"], addr);
      if (checked.value === "") {
        count("artifact", 404, 0);
        return textResponse(404, "no file named");
      }
      return serveFile("artifact", artifacts, checked.value, request, addr);
    });
  return { plugin, serveRoutes };
}

// Paths carry the MAC in the index's own form almost always: that form needs no regular expressions.
const CANONICAL_MAC = /^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/;
function macOf(param: string): string | undefined {
  return CANONICAL_MAC.test(param) ? param : normalizeMac(safeDecode(param));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
