/**
 * HTTP for the Redfish driver: one request with the caller's deadline, auth (a session from the
 * SessionService, or basic), and every failure turned into a BmcError that names the BMC and the
 * step. Nothing here puts the password or the session token in a message.
 */
import { ok, type Result } from "../lib/result.ts";
import { bmcErr, DEFAULT_TIMEOUT_MS, redact } from "./errors.ts";
import type { BmcError, BmcTarget } from "./types.ts";

/** Redfish's well-known HTTPS port. */
export const REDFISH_DEFAULT_PORT = 443;
/** DSP0266 13.3.4: where a client creates a session when the service root names no other. */
const DEFAULT_SESSIONS_PATH = "/redfish/v1/SessionService/Sessions";

/** A JSON object as Redfish returns it. */
export type RedfishDoc = Record<string, unknown>;

/** A 2xx answer: status, headers and the JSON body. */
export interface RedfishReply {
  status: number;
  headers: Headers;
  /** The parsed JSON body; empty for 204 or a body that is not a JSON object. */
  body: RedfishDoc;
}

/** A Redfish client bound to one BMC. */
export interface RedfishHttp {
  /** "host:port", for messages. */
  readonly where: string;
  /** Sends one authenticated request (logging in first when needed); non-2xx is an error. */
  request(method: string, path: string, step: string, signal: AbortSignal, body?: unknown): Promise<Result<RedfishReply, BmcError>>;
  /** Deletes the session, if one was made (best effort, bounded by `signal`). */
  logout(signal: AbortSignal): Promise<void>;
}

/** Network error codes that mean "nothing answered at that address" (Bun's fetch sets `code`). */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ConnectionRefused", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "ECONNRESET", "ConnectionClosed", "FailedToOpenSocket", "EAI_AGAIN"]);

/** A Redfish error body's most useful sentence (DSP0266 9.6), or "". */
function redfishMessage(body: RedfishDoc): string {
  const e = body.error as RedfishDoc | undefined;
  if (!e || typeof e !== "object") return "";
  const info = Array.isArray(e["@Message.ExtendedInfo"]) ? (e["@Message.ExtendedInfo"][0] as RedfishDoc | undefined) : undefined;
  const text = info?.Message ?? e.message ?? e.code;
  return typeof text === "string" ? text : "";
}

/** Makes the client; it opens no connection until the first request. */
export function redfishHttp(target: BmcTarget): RedfishHttp {
  const opts = target.options?.redfish ?? {};
  const where = `${target.host}:${opts.port ?? REDFISH_DEFAULT_PORT}`;
  const hostPart = target.host.includes(":") && !target.host.startsWith("[") ? `[${target.host}]` : target.host;
  const base = `https://${hostPart}:${opts.port ?? REDFISH_DEFAULT_PORT}`;
  const basic = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString("base64")}`;
  let useBasic = opts.useBasicAuth === true;
  let session: { token: string; location: string } | undefined;

  const fail = (code: BmcError["code"], step: string, why: string) =>
    bmcErr("redfish", code, redact(`redfish ${where}: ${step}: ${why}`, target.password));

  /** One HTTP exchange, no auth logic. */
  const send = async (method: string, path: string, step: string, signal: AbortSignal, headers: Record<string, string>, body?: unknown): Promise<Result<RedfishReply, BmcError>> => {
    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(path, base), {
        method,
        headers: { Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        redirect: "manual",
        tls: { rejectUnauthorized: target.insecureTls === false },
      });
      text = await res.text();
    } catch (e) {
      const name = (e as Error)?.name;
      const code = String((e as { code?: unknown })?.code ?? "");
      if (name === "TimeoutError" || name === "AbortError" || signal.aborted) {
        return fail("timeout", step, `no answer within ${target.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
      }
      if (UNREACHABLE_CODES.has(code)) return fail("unreachable", step, `cannot connect (${code})`);
      if (/TLS|CERT|SSL|EPROTO/i.test(code)) return fail("protocol", step, `TLS failed (${code})${target.insecureTls === false ? "; the certificate is not trusted" : ""}`);
      return fail("unreachable", step, code || (e as Error)?.message || String(e));
    }
    let parsed: RedfishDoc = {};
    if (text.length > 0) {
      try {
        const v = JSON.parse(text) as unknown;
        if (v !== null && typeof v === "object" && !Array.isArray(v)) parsed = v as RedfishDoc;
      } catch {
        if (res.ok) return fail("protocol", step, `${method} ${path} answered ${res.status} with a body that is not JSON`);
      }
    }
    if (res.ok) return ok({ status: res.status, headers: res.headers, body: parsed });
    const said = redfishMessage(parsed);
    const detail = `${method} ${path} answered ${res.status}${said ? `: ${said}` : ""}`;
    if (res.status === 401 || res.status === 403) return fail("auth", step, `${detail} (check username and password)`);
    if (res.status === 404 || res.status === 405 || res.status === 501) return fail("unsupported", step, detail);
    return fail("refused", step, detail);
  };

  /** POSTs a session (DSP0266 13.3.4); falls back to basic auth when the service has none. */
  const createSession = async (signal: AbortSignal): Promise<Result<void, BmcError>> => {
    const root = await send("GET", "/redfish/v1/", "read service root", signal, {});
    if (!root.ok) return root;
    const links = root.value.body.Links as RedfishDoc | undefined;
    const named = (links?.Sessions as RedfishDoc | undefined)?.["@odata.id"];
    const sessionsPath = typeof named === "string" ? named : DEFAULT_SESSIONS_PATH;
    const made = await send("POST", sessionsPath, "create session", signal, {}, { UserName: target.username, Password: target.password });
    if (!made.ok) {
      if (made.error.code === "unsupported") {
        useBasic = true;
        return ok(undefined);
      }
      return made;
    }
    const token = made.value.headers.get("x-auth-token");
    if (!token) return fail("protocol", "create session", "no X-Auth-Token in the answer");
    const id = made.value.body["@odata.id"];
    session = { token, location: made.value.headers.get("location") ?? (typeof id === "string" ? id : "") };
    return ok(undefined);
  };

  // Calls made together share one login: each would otherwise open a session, and BMCs allow few.
  let pendingLogin: Promise<Result<void, BmcError>> | undefined;
  const login = (signal: AbortSignal): Promise<Result<void, BmcError>> => {
    pendingLogin ??= createSession(signal).finally(() => (pendingLogin = undefined));
    return pendingLogin;
  };

  /** The auth headers now, or undefined when there is no session (a close() ran meanwhile). */
  const auth = (): Record<string, string> | undefined =>
    useBasic ? { Authorization: basic } : session ? { "X-Auth-Token": session.token } : undefined;

  const request: RedfishHttp["request"] = async (method, path, step, signal, body) => {
    if (!useBasic && !session) {
      const logged = await login(signal);
      if (!logged.ok) return logged;
    }
    const headers = auth();
    if (!headers) return fail("auth", step, "no session (the driver was closed)");
    const first = await send(method, path, step, signal, headers, body);
    // A session the BMC has expired: log in again once (or use the one a parallel call just made).
    if (!first.ok && first.error.code === "auth" && !useBasic && "X-Auth-Token" in headers) {
      if (session?.token === headers["X-Auth-Token"]) session = undefined;
      if (!session) {
        const again = await login(signal);
        if (!again.ok) return again;
      }
      const retry = auth();
      if (!retry) return fail("auth", step, "no session (the driver was closed)");
      return send(method, path, step, signal, retry, body);
    }
    return first;
  };

  const logout: RedfishHttp["logout"] = async (signal) => {
    const s = session;
    session = undefined;
    if (!s?.location) return;
    await send("DELETE", s.location, "delete session", signal, { "X-Auth-Token": s.token });
  };

  return { where, request, logout };
}
