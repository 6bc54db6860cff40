/**
 * A small Redfish service for driver tests: HTTPS (a self-signed certificate `openssl` makes per
 * emulator), the resources of test/fixtures/redfish (DMTF "public-rackmount1" shapes) with the
 * state it keeps overlaid: power, boot override, the virtual CD, sessions. It enforces basic and
 * session auth as a BMC does, and can be told to be slow (every answer after `delayMs`) or to
 * refuse (503 to everything but the service root). `onReset` lets a test start or stop a VM.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { whenProcessGone, shellQuote } from "./cleanup.ts";

const FIXTURES = join(import.meta.dir, "..", "fixtures", "redfish");
const ROOT = "/redfish/v1";
const SYSTEM = `${ROOT}/Systems/1`;
const CD = `${ROOT}/Managers/1/VirtualMedia/CD1`;
const SESSIONS = `${ROOT}/SessionService/Sessions`;
/** Bound on openssl making the key and certificate. */
const CERT_TIMEOUT_MS = 30_000;

/** The ComputerSystem's PowerState as the emulator keeps it. */
export type RedfishPower = "On" | "Off";

/** The boot override properties the emulator keeps. */
export interface RedfishBoot {
  BootSourceOverrideEnabled: string;
  BootSourceOverrideTarget: string;
  BootSourceOverrideMode: string;
}

/** What the emulated machine is doing now, and what was asked of it. */
export interface RedfishState {
  power: RedfishPower;
  boot: RedfishBoot;
  media: { inserted: boolean; image: string | null };
  /** Every accepted ResetType, in order. */
  resets: string[];
  /** Open session tokens. */
  sessions: Map<string, string>;
  /** Every request as "METHOD path" (no headers: they carry credentials). */
  requests: string[];
}

/** Credentials, initial state, what the system allows, and a hook on reset. */
export interface RedfishEmulatorOptions {
  username?: string;
  password?: string;
  /** Initial power state (default Off). */
  power?: RedfishPower;
  /** Replaces the system's ResetType@Redfish.AllowableValues. */
  resetTypes?: string[];
  /** Replaces the system's BootSourceOverrideMode@Redfish.AllowableValues (e.g. ["UEFI"] for a UEFI-only machine). */
  bootModes?: string[];
  /** Called after each accepted reset with the type and the new power state. */
  onReset?: (resetType: string, power: RedfishPower) => void | Promise<void>;
}

/** A running emulator: where it listens, its state, its fault knobs, and stop(). */
export interface RedfishEmulator extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly state: RedfishState;
  /** Every answer waits this long first (0: none). */
  delayMs: number;
  /** When true, every request but GET of the service root gets 503. */
  refuse: boolean;
  stop(): Promise<void>;
}

/** Makes a self-signed certificate for 127.0.0.1 in a fresh directory; returns its paths. */
export async function makeCertificate(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), "wisp-redfish-"));
  whenProcessGone(`rm -rf ${shellQuote(dir)}`);
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const proc = Bun.spawn(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=wisp-redfish-emulator", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
    { stdout: "ignore", stderr: "pipe", timeout: CERT_TIMEOUT_MS },
  );
  const code = await proc.exited;
  if (code !== 0) throw new Error(`openssl req failed (${code}): ${await new Response(proc.stderr).text()}`);
  return { dir, cert, key };
}

/** The fixture at a Redfish path, parsed afresh (callers may change it). */
function fixture(path: string): Record<string, unknown> | undefined {
  const rel = path.slice(ROOT.length).replace(/^\/+|\/+$/g, "");
  try {
    return JSON.parse(readFileSync(join(FIXTURES, "v1", rel, "index.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A Redfish error body (DSP0266 9.6: `error` with a MessageId). */
function redfishError(status: number, messageId: string, message: string): Response {
  return Response.json({ error: { code: messageId, message, "@Message.ExtendedInfo": [{ MessageId: messageId, Message: message }] } }, { status });
}

/** Starts the emulator on 127.0.0.1, port 0. */
export async function startRedfishEmulator(opts: RedfishEmulatorOptions = {}): Promise<RedfishEmulator> {
  const username = opts.username ?? "admin";
  const password = opts.password ?? "redfish-secret";
  const certs = await makeCertificate();
  const systemFixture = fixture(SYSTEM)!;
  const sysActions = systemFixture.Actions as Record<string, Record<string, unknown>>;
  const resetTypes = opts.resetTypes ?? (sysActions["#ComputerSystem.Reset"]!["ResetType@Redfish.AllowableValues"] as string[]);
  const bootFixture = systemFixture.Boot as Record<string, unknown>;
  if (opts.bootModes) bootFixture["BootSourceOverrideMode@Redfish.AllowableValues"] = opts.bootModes;
  const allowedTargets = bootFixture["BootSourceOverrideTarget@Redfish.AllowableValues"] as string[];
  const allowedModes = bootFixture["BootSourceOverrideMode@Redfish.AllowableValues"] as string[];
  const state: RedfishState = {
    power: opts.power ?? "Off",
    boot: { BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None", BootSourceOverrideMode: "UEFI" },
    media: { inserted: false, image: null },
    resets: [],
    sessions: new Map(),
    requests: [],
  };
  let nextSession = 1;

  const authorized = (req: Request): boolean => {
    const token = req.headers.get("x-auth-token");
    if (token !== null) return [...state.sessions.values()].includes(token);
    const basic = req.headers.get("authorization");
    if (basic?.startsWith("Basic ")) return Buffer.from(basic.slice(6), "base64").toString() === `${username}:${password}`;
    return false;
  };

  const body = async (req: Request): Promise<Record<string, unknown> | undefined> => {
    try {
      const v = (await req.json()) as unknown;
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };

  const get = (path: string): Response => {
    if (path === SESSIONS) {
      return Response.json({
        "@odata.type": "#SessionCollection.SessionCollection",
        "@odata.id": SESSIONS,
        Name: "Session Collection",
        "Members@odata.count": state.sessions.size,
        Members: [...state.sessions.keys()].map((id) => ({ "@odata.id": `${SESSIONS}/${id}` })),
      });
    }
    const doc = fixture(path);
    if (!doc) return redfishError(404, "Base.1.8.ResourceMissingAtURI", `no resource at ${path}`);
    if (path === SYSTEM) {
      doc.PowerState = state.power;
      doc.Boot = { ...bootFixture, ...state.boot };
      if (opts.resetTypes) sysActions["#ComputerSystem.Reset"]!["ResetType@Redfish.AllowableValues"] = resetTypes;
      doc.Actions = sysActions;
    }
    if (path === CD) {
      doc.Inserted = state.media.inserted;
      doc.Image = state.media.image;
      doc.ImageName = state.media.image?.split("/").pop() ?? null;
      doc.ConnectedVia = state.media.inserted ? "URI" : "NotConnected";
    }
    return Response.json(doc);
  };

  const reset = async (req: Request): Promise<Response> => {
    const resetType = (await body(req))?.ResetType;
    if (typeof resetType !== "string") return redfishError(400, "Base.1.8.PropertyMissing", "ResetType is required");
    if (!resetTypes.includes(resetType)) return redfishError(400, "Base.1.8.ActionParameterNotSupported", `ResetType ${resetType} is not supported`);
    if (resetType === "ForceOff" || resetType === "GracefulShutdown") state.power = "Off";
    else if (resetType !== "Nmi") state.power = "On";
    state.resets.push(resetType);
    await opts.onReset?.(resetType, state.power);
    return new Response(null, { status: 204 });
  };

  const patchBoot = async (req: Request): Promise<Response> => {
    const boot = (await body(req))?.Boot as Record<string, unknown> | undefined;
    if (!boot || typeof boot !== "object") return redfishError(400, "Base.1.8.PropertyMissing", "Boot is required");
    const next = { ...state.boot };
    for (const [key, value] of Object.entries(boot)) {
      const allowed = key === "BootSourceOverrideTarget" ? allowedTargets
        : key === "BootSourceOverrideMode" ? allowedModes
        : key === "BootSourceOverrideEnabled" ? ["Disabled", "Once", "Continuous"] : undefined;
      if (!allowed) return redfishError(400, "Base.1.8.PropertyUnknown", `Boot.${key} is not known`);
      if (typeof value !== "string" || !allowed.includes(value)) return redfishError(400, "Base.1.8.PropertyValueNotInList", `Boot.${key}: ${String(value)}`);
      next[key as keyof RedfishBoot] = value;
    }
    state.boot = next;
    return get(SYSTEM);
  };

  const insertMedia = async (req: Request): Promise<Response> => {
    const image = (await body(req))?.Image;
    if (typeof image !== "string" || !/^https?:\/\//.test(image)) return redfishError(400, "Base.1.8.ActionParameterMissing", "Image must be an http(s) URL");
    // As many BMCs do: a second insert without an eject is a conflict.
    if (state.media.inserted) return redfishError(409, "Base.1.8.ResourceInUse", "media already inserted");
    state.media = { inserted: true, image };
    return new Response(null, { status: 204 });
  };

  const route = async (req: Request, path: string): Promise<Response> => {
    if (req.method === "GET" && (path === ROOT || path === `${ROOT}/`)) return get(ROOT);
    if (emulator.refuse) return redfishError(503, "Base.1.8.ServiceTemporarilyUnavailable", "service refuses requests");
    if (req.method === "POST" && path === SESSIONS) {
      const b = await body(req);
      if (b?.UserName !== username || b?.Password !== password) return redfishError(401, "Base.1.8.NoValidSession", "invalid credentials");
      const id = String(nextSession++);
      const token = crypto.randomUUID();
      state.sessions.set(id, token);
      return Response.json(
        { "@odata.type": "#Session.v1_6_0.Session", "@odata.id": `${SESSIONS}/${id}`, Id: id, Name: "User Session", UserName: username },
        { status: 201, headers: { "X-Auth-Token": token, Location: `${SESSIONS}/${id}` } },
      );
    }
    if (!authorized(req)) return redfishError(401, "Base.1.8.NoValidSession", "authentication required");
    if (req.method === "GET") return get(path.replace(/\/+$/, ""));
    if (req.method === "DELETE" && path.startsWith(`${SESSIONS}/`)) {
      const id = path.slice(SESSIONS.length + 1);
      if (!state.sessions.delete(id)) return redfishError(404, "Base.1.8.ResourceMissingAtURI", `no session ${id}`);
      return new Response(null, { status: 204 });
    }
    if (req.method === "POST" && path === `${SYSTEM}/Actions/ComputerSystem.Reset`) return reset(req);
    if (req.method === "PATCH" && path === SYSTEM) return patchBoot(req);
    if (req.method === "POST" && path === `${CD}/Actions/VirtualMedia.InsertMedia`) return insertMedia(req);
    if (req.method === "POST" && path === `${CD}/Actions/VirtualMedia.EjectMedia`) {
      state.media = { inserted: false, image: null };
      return new Response(null, { status: 204 });
    }
    return redfishError(405, "Base.1.8.OperationNotAllowed", `${req.method} ${path}`);
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(certs.cert, "utf8"), key: readFileSync(certs.key, "utf8") },
    async fetch(req) {
      const path = new URL(req.url).pathname;
      state.requests.push(`${req.method} ${path}`);
      if (emulator.delayMs > 0) await Bun.sleep(emulator.delayMs);
      return route(req, path);
    },
  });
  const port = server.port!;

  const stop = async (): Promise<void> => {
    await server.stop(true);
    rmSync(certs.dir, { recursive: true, force: true });
  };
  const emulator: RedfishEmulator = {
    host: "127.0.0.1",
    port,
    url: `https://127.0.0.1:${port}`,
    username,
    password,
    state,
    delayMs: 0,
    refuse: false,
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return emulator;
}
