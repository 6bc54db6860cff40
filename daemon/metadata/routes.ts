/**
 * The metadata service a machine reads once installed, on the API's port and without a token:
 * the EC2 tree at `/2009-04-04/` and `/latest/`, the NoCloud-net seed at `/nocloud/`, hegel's
 * `GET /metadata`, and the same trees under `/tootles/instanceID/<id>/`. The machine is the
 * request's client address (client-address.ts: X-Forwarded-For only from --trusted-proxies),
 * looked up in the shared in-memory hardware index; the instance id only selects among the
 * Hardware that address belongs to, so no path reaches another machine's data. Bodies are
 * never logged.
 */
import { Elysia } from "elysia";
import { clientAddress, type Cidr, type ClientAddress } from "../http/client-address.ts";
import { machineFields, type Logger, type MachineFields } from "../lib/log.ts";
import { formatIpv4 } from "../wire/address.ts";
import type { Counter, Family, MetricsRegistry } from "../lib/metrics.ts";
import type { HardwareSpec } from "../manifest/types.ts";
import { pathOf, type PeerSource } from "../http/native-routes.ts";
import { machineMetadata, resolvePath, type MachineMetadata, type MetadataDir } from "./tree.ts";

/** EC2 API versions served; `latest` is the same tree. */
export const EC2_VERSIONS = ["2009-04-04", "latest"] as const;
/** The NoCloud-net seed: `ds=nocloud-net;s=http://<wispd>:<port>/nocloud/`. */
export const NOCLOUD_PATH = "/nocloud";
/** hegel's instance JSON, read by disk-partitioning actions (rootio). */
export const METADATA_JSON_PATH = "/metadata";
/** Tinkerbell tootles' prefix: `/tootles/instanceID/<id>/2009-04-04/...` (and `latest/`, `nocloud/` here). */
export const INSTANCE_ID_PATH = "/tootles/instanceID";

/** A Hardware the metadata service may serve: name and stored spec. */
export interface MetadataSource {
  namespace: string;
  name: string;
  spec: HardwareSpec;
}

/** The lookup the service needs: the in-memory hardware index answers it. */
export interface MetadataLookup {
  /** Every Hardware claiming `ip` (interface or `metadata.instance.ips` address). */
  hardwareByIp(ip: number): readonly MetadataSource[];
}

/** What the metadata routes need from the process. */
export interface MetadataRoutesOptions {
  lookup: MetadataLookup;
  /** `--trusted-proxies`: peers whose X-Forwarded-For is believed. */
  trustedProxies: readonly Cidr[];
  logger: Logger;
  metrics: MetricsRegistry;
}

/** The `route` label of wisp_metadata_requests_total. */
export type MetadataRoute = "ec2" | "nocloud" | "metadata" | "instance-id";

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";

/** Which Hardware answers a request, or the refusal. */
type Identity = { ok: true; source: MetadataSource } | { ok: false; status: number; message: string; reason: string };

/** Picks the machine behind `addr`; with `instanceId`, the one of its Hardware with that id. Pure. */
export function identify(lookup: MetadataLookup, addr: ClientAddress, instanceId: string | undefined, idOf: (s: MetadataSource) => string): Identity {
  if (addr.ip === undefined) return { ok: false, status: 404, reason: "no-ipv4-address", message: `no Hardware for ${addr.text}: not an IPv4 address` };
  const candidates = lookup.hardwareByIp(addr.ip);
  if (candidates.length === 0) {
    return { ok: false, status: 404, reason: "unknown-address", message: `no Hardware has address ${addr.text} (interfaces[].dhcp.ip.address or metadata.instance.ips)` };
  }
  if (instanceId !== undefined) {
    const match = candidates.find((c) => idOf(c) === instanceId);
    // Same answer whether the id exists elsewhere or not: the path is no oracle for other machines.
    if (match === undefined) return { ok: false, status: 404, reason: "instance-id-mismatch", message: `no Hardware with address ${addr.text} has instance id ${JSON.stringify(instanceId)}` };
    return { ok: true, source: match };
  }
  if (candidates.length > 1) {
    return {
      ok: false,
      status: 409,
      reason: "ambiguous-address",
      message: `address ${addr.text} belongs to ${candidates.length} Hardware; fix the addresses, or ask under ${INSTANCE_ID_PATH}/<instance id>/`,
    };
  }
  return { ok: true, source: candidates[0]! };
}

/** The metadata routes as an Elysia plugin. */
export function metadataRoutes(opts: MetadataRoutesOptions) {
  const { lookup, logger, trustedProxies } = opts;
  const requests: Family<Counter> = opts.metrics.counter("wisp_metadata_requests_total", "Metadata requests (EC2 tree, NoCloud seed, /metadata, by instance id), by route and status", [
    "route",
    "status",
  ]);
  // One prepared tree per Hardware version: the index replaces the spec object when it changes.
  const prepared = new WeakMap<HardwareSpec, MachineMetadata>();
  const metadataOf = (source: MetadataSource): MachineMetadata => {
    let md = prepared.get(source.spec);
    if (md === undefined) prepared.set(source.spec, (md = machineMetadata(source.spec)));
    return md;
  };
  const idOf = (source: MetadataSource): string => metadataOf(source).instanceId;

  const reply = (route: MetadataRoute, status: number, body: Uint8Array | string, contentType = TEXT): Response => {
    requests.labels(route, String(status)).inc();
    return new Response(body, { status, headers: { "content-type": contentType } });
  };

  type Tree = "ec2" | "nocloud" | "json";
  const serve = (route: MetadataRoute, tree: Tree, path: string, request: Request, server: Server, instanceId?: string): Response => {
    const addr = clientAddress(server?.requestIP(request)?.address, request.headers.get("x-forwarded-for"), trustedProxies);
    const who = identify(lookup, addr, instanceId, idOf);
    // Log fields are built only for a line that is written: a served leaf logs at debug.
    const fieldsOf = () => ({ peer: addr.text, via: addr.source, path: pathOf(request.url) });
    if (!who.ok) {
      const fields = fieldsOf();
      const log = who.reason === "ambiguous-address" ? logger.warn.bind(logger) : logger.info.bind(logger);
      log({ ...fields, reason: who.reason, ...(who.reason === "ambiguous-address" ? { hardware: lookup.hardwareByIp(addr.ip!).map((h) => `${h.namespace}/${h.name}`) } : {}) }, "metadata refused");
      return reply(route, who.status, who.message + "\n");
    }
    const md = metadataOf(who.source);
    const debug = logger.isLevelEnabled("debug");
    // ops: the machine's fields (its MAC: the interface at the peer's address, else its first).
    const machine = () => ({ ...sourceFields(who.source, addr.ip), ...fieldsOf(), hardware: `${who.source.namespace}/${who.source.name}` });
    if (tree === "json") {
      if (debug) logger.debug({ ...machine(), status: 200 }, "metadata served");
      return reply(route, 200, md.json, JSON_TYPE);
    }
    const root: MetadataDir = tree === "ec2" ? md.ec2 : md.nocloud;
    const found = resolvePath(root, path);
    if (found.kind === "not-found") {
      if (debug) logger.debug({ ...machine(), status: 404 }, "metadata path not found");
      return reply(route, 404, `not found: ${pathOf(request.url)}\n`);
    }
    if (debug) logger.debug({ ...machine(), status: 200, kind: found.kind, bytes: found.body.length }, "metadata served");
    return reply(route, 200, found.body);
  };

  // `/tootles/instanceID/<id>/<tree>/<path>`: the tree is the first segment of the rest.
  const byInstanceId = (id: string, rest: string, request: Request, server: Server): Response => {
    const slash = rest.indexOf("/");
    const head = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? "" : rest.slice(slash + 1);
    if ((EC2_VERSIONS as readonly string[]).includes(head)) return serve("instance-id", "ec2", path, request, server, id);
    if (`/${head}` === NOCLOUD_PATH) return serve("instance-id", "nocloud", path, request, server, id);
    if (`/${head}` === METADATA_JSON_PATH && (path === "" || path === "/")) return serve("instance-id", "json", "", request, server, id);
    return reply("instance-id", 404, `not found: ${new URL(request.url).pathname}\n`);
  };

  const [v2009, latest] = EC2_VERSIONS;
  return new Elysia({ name: "wisp-metadata" })
    .get(`/${v2009}`, ({ request, server }) => serve("ec2", "ec2", "", request, server))
    .get(`/${v2009}/*`, ({ request, server, params }) => serve("ec2", "ec2", params["*"], request, server))
    .get(`/${latest}`, ({ request, server }) => serve("ec2", "ec2", "", request, server))
    .get(`/${latest}/*`, ({ request, server, params }) => serve("ec2", "ec2", params["*"], request, server))
    .get(NOCLOUD_PATH, ({ request, server }) => serve("nocloud", "nocloud", "", request, server))
    .get(`${NOCLOUD_PATH}/*`, ({ request, server, params }) => serve("nocloud", "nocloud", params["*"], request, server))
    .get(METADATA_JSON_PATH, ({ request, server }) => serve("metadata", "json", "", request, server))
    .get(`${INSTANCE_ID_PATH}/:id/*`, ({ request, server, params }) => byInstanceId(params.id, params["*"], request, server));
}

type Server = PeerSource | null;

/** ops: the log fields of the Hardware being served: its MAC at `ip` (else its first) and name. */
function sourceFields(source: MetadataSource, ip: number | undefined): MachineFields {
  const interfaces = source.spec.interfaces ?? [];
  const at = ip === undefined ? undefined : formatIpv4(ip);
  const mac = (interfaces.find((i) => at !== undefined && i.dhcp?.ip?.address === at) ?? interfaces.find((i) => i.dhcp?.mac))?.dhcp?.mac;
  return machineFields({ mac, hardware: `${source.namespace}/${source.name}` });
}
