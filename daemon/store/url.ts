/**
 * `--database-url`: libpq's connection URI (postgresql://[user[:password]@][host][:port][,...][/db][?k=v&...],
 * PostgreSQL docs "Connection URIs"), parsed here rather than by the URL class, which refuses
 * forms psql takes (an empty host after a user, several hosts), and turned into postgres.js
 * options. A host that is an absolute path, written percent-encoded in the host or as `?host=`,
 * is a unix socket directory, as in libpq; postgres.js reads neither, so the socket file
 * `<dir>/.s.PGSQL.<port>` goes in its `path` option. No error message carries the password.
 * Stricter than libpq in one place: a raw '@' after the host part is refused (it is most often a
 * password's '/' or '?' left unencoded, which would otherwise put part of it in the host).
 */
import { join } from "node:path";
import { err, ok, type Result } from "../lib/result.ts";

/** One server of the URL; `host` undefined: postgres.js's default (PGHOST, else localhost). */
export interface DatabaseHost {
  host?: string;
  port?: number;
}

/** A parsed connection URI; components are percent-decoded. */
export interface DatabaseUrl {
  /** At least one entry; a host starting with "/" is a unix socket directory. */
  hosts: DatabaseHost[];
  user?: string;
  password?: string;
  database?: string;
  /** The other query parameters (sslmode, connect_timeout, application_name, ...) as written, for postgres.js. */
  params: string;
}

/** What postgres.js is given: a URL carrying only the other parameters, and the options it reads first. */
export interface PostgresConnection {
  url: string;
  options: { host?: string[]; port?: number | number[]; path?: string; user?: string; pass?: string; database?: string };
  /** Where it connects (a socket file, or host:port, comma-separated); never the password. */
  location: string;
}

/** libpq's (and postgres.js's) port when neither the URL nor PGPORT gives one. */
export const DEFAULT_POSTGRES_PORT = 5432;
/** Bytes of a unix socket path the kernel takes (sun_path less the NUL). */
const SUN_PATH_MAX = 107;
const SCHEMES = ["postgresql://", "postgres://"];
/** Query parameters that name what the URL's parts name; the query wins, as in libpq. */
const CONNECTION_KEYS = new Set(["host", "port", "user", "password", "dbname"]);

/** Parses a libpq connection URI; the error names the part that is wrong, never its password. */
export function parseDatabaseUrl(text: string): Result<DatabaseUrl> {
  const scheme = SCHEMES.find((s) => text.startsWith(s));
  if (!scheme) return err("expected a postgres:// URL (or postgresql://), like postgresql://user@host:5432/db or postgresql:///db?host=/var/run/postgresql");
  let rest = text.slice(scheme.length);
  let user: string | undefined;
  let password: string | undefined;
  // The user part ends at the last '@' before the first '/' or '?' (libpq looks up to the '/'
  // only, but then "?password=a@b" would make "b" the host, and the log shows the host).
  const authority = rest.search(/[/?]/);
  const atSign = rest.slice(0, authority < 0 ? undefined : authority).lastIndexOf("@");
  if (atSign >= 0) {
    const userinfo = rest.slice(0, atSign);
    rest = rest.slice(atSign + 1);
    const colon = userinfo.indexOf(":");
    const u = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), "the user", scheme.length);
    if (!u.ok) return u;
    if (u.value !== "") user = u.value;
    if (colon >= 0) {
      const p = decode(userinfo.slice(colon + 1), "the password", scheme.length + colon + 1);
      if (!p.ok) return p;
      password = p.value;
    }
  }
  const end = rest.search(/[/?]/);
  // A raw '@' further on is most likely a password's, cut short by a raw '/' or '?' in it.
  const stray = end < 0 ? -1 : rest.indexOf("@", end);
  if (stray >= 0) return err(`a raw "@" ${at(text.length - rest.length + stray)}, after the host: write it as %40 (and a "/" or "?" in a password as %2F or %3F)`);
  const hostspec = end < 0 ? rest : rest.slice(0, end);
  const hosts = parseHostspec(hostspec, text.length - rest.length);
  if (!hosts.ok) return hosts;
  rest = end < 0 ? "" : rest.slice(end);
  let database: string | undefined;
  if (rest.startsWith("/")) {
    const q = rest.indexOf("?");
    const d = decode(q < 0 ? rest.slice(1) : rest.slice(1, q), "the database name", text.length - rest.length + 1);
    if (!d.ok) return d;
    if (d.value !== "") database = d.value;
    rest = q < 0 ? "" : rest.slice(q);
  }
  const url: DatabaseUrl = { hosts: hosts.value, user, password, database, params: "" };
  if (rest.startsWith("?")) {
    const applied = applyQuery(url, rest.slice(1), text.length - rest.length + 1);
    if (!applied.ok) return applied;
  }
  const sockets = url.hosts.filter((h) => h.host?.startsWith("/"));
  if (sockets.length > 0 && url.hosts.length > 1) return err("a unix socket directory cannot be one of several hosts (postgres.js takes one socket)");
  return ok(url);
}

/** Where in the URL a part starts, 1-based: errors point there instead of quoting (a mistyped URL may put its password anywhere). */
const at = (offset: number): string => `at character ${offset + 1}`;

/** `host[:port]` entries separated by commas (an IPv6 address in brackets); `offset` is where `spec` starts in the URL. */
function parseHostspec(spec: string, offset: number): Result<DatabaseHost[]> {
  const entries = spec.split(",");
  const hosts: DatabaseHost[] = [];
  for (const entry of entries) {
    let hostText = entry;
    let portText: string | undefined;
    let portOffset = offset;
    if (entry.startsWith("[")) {
      const close = entry.indexOf("]");
      if (close < 0) return err(`the host ${at(offset)}: an IPv6 address needs its closing "]"`);
      hostText = entry.slice(1, close);
      const after = entry.slice(close + 1);
      if (after !== "" && !after.startsWith(":")) return err(`the host ${at(offset)}: expected ":port" after "]"`);
      if (after !== "") [portText, portOffset] = [after.slice(1), offset + close + 2];
    } else {
      const colon = entry.indexOf(":");
      if (colon >= 0) [hostText, portText, portOffset] = [entry.slice(0, colon), entry.slice(colon + 1), offset + colon + 1];
    }
    const host = decode(hostText, "the host", entry.startsWith("[") ? offset + 1 : offset);
    if (!host.ok) return host;
    const checked = checkHost(host.value, entries.length > 1, `the host ${at(offset)}`);
    if (!checked.ok) return checked;
    const port = portText === undefined || portText === "" ? ok(undefined) : parsePort(portText, `the port ${at(portOffset)}`);
    if (!port.ok) return port;
    hosts.push({ host: checked.value, port: port.value });
    offset += entry.length + 1;
  }
  return ok(hosts);
}

/** A host name, an address, or an absolute socket directory; "" is the default host (alone only). */
function checkHost(host: string, several: boolean, what: string): Result<string | undefined> {
  if (host === "") return several ? err(`${what}: empty in a list of hosts`) : ok(undefined);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(host)) return err(`${what}: white space or control characters`);
  if (host.includes("/") && !host.startsWith("/")) return err(`${what}: a socket directory must be an absolute path`);
  return ok(host);
}

function parsePort(text: string, what: string): Result<number> {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) return err(`${what}: expected a number 1-65535`);
  return ok(Number(text));
}

/** Takes host, port, user, password and dbname out of the query (they win over the URL's parts, as in libpq); keeps the rest as written. */
function applyQuery(url: DatabaseUrl, query: string, offset: number): Result<void> {
  const kept: string[] = [];
  for (const pair of query.split("&")) {
    const here = offset;
    offset += pair.length + 1;
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) return err(`the query parameter ${at(here)}: expected key=value`);
    const key = decode(pair.slice(0, eq), "a query parameter's name", here);
    if (!key.ok) return key;
    if (key.value === "hostaddr") return err(`the query parameter hostaddr ${at(here)}: not supported (give the address as the host)`);
    if (!CONNECTION_KEYS.has(key.value)) {
      kept.push(pair);
      continue;
    }
    const what = `the query parameter ${key.value} ${at(here)}`;
    const value = decode(pair.slice(eq + 1), what, here + eq + 1);
    if (!value.ok) return value;
    const v = value.value;
    if (key.value === "user") url.user = v === "" ? undefined : v;
    if (key.value === "password") url.password = v;
    if (key.value === "dbname") url.database = v === "" ? undefined : v;
    if (key.value === "host") {
      const names = v.split(",");
      const hosts: DatabaseHost[] = [];
      for (const name of names) {
        const host = checkHost(name, names.length > 1, what);
        if (!host.ok) return host;
        hosts.push({ host: host.value });
      }
      // Ports written in the URL's host part stay when they pair up (one for all, or one each).
      const ports = url.hosts.map((h) => h.port);
      url.hosts = hosts.map((h, i) => ({ ...h, port: ports.length === hosts.length ? ports[i] : ports.length === 1 ? ports[0] : undefined }));
    }
    if (key.value === "port") {
      const ports: number[] = [];
      for (const t of v.split(",")) {
        const port = parsePort(t, what);
        if (!port.ok) return port;
        ports.push(port.value);
      }
      if (ports.length !== 1 && ports.length !== url.hosts.length) return err(`${what}: ${ports.length} ports for ${url.hosts.length} hosts (give one, or one per host)`);
      url.hosts = url.hosts.map((h, i) => ({ ...h, port: ports.length === 1 ? ports[0] : ports[i] }));
    }
  }
  url.params = kept.join("&");
  return ok(undefined);
}

/** Percent-decodes as libpq does: "%" takes two hex digits, "%00" is refused, "+" stays "+". */
function decode(text: string, what: string, offset: number): Result<string> {
  const bad = /%(?![0-9A-Fa-f]{2})|%00/.exec(text);
  if (bad) return err(`${what}: invalid percent-encoding ${at(offset + bad.index)} (expected "%" and two hex digits, not %00)`);
  try {
    return ok(decodeURIComponent(text));
  } catch {
    return err(`${what} ${at(offset)}: its percent-encoding is not UTF-8`);
  }
}

/**
 * postgres.js's options for a parsed URL. `env` supplies PGPORT, PGHOST as postgres.js reads
 * them: the port of a socket without one, the location of the default host.
 */
export function postgresConnection(url: DatabaseUrl, env: Record<string, string | undefined>): Result<PostgresConnection> {
  const defaultPort = /^\d{1,5}$/.test(env.PGPORT ?? "") ? Number(env.PGPORT) : DEFAULT_POSTGRES_PORT;
  const options: PostgresConnection["options"] = {};
  if (url.user !== undefined) options.user = url.user;
  if (url.password !== undefined) options.pass = url.password;
  if (url.database !== undefined) options.database = url.database;
  let location: string;
  const first = url.hosts[0]!;
  if (first.host === undefined) {
    // postgres.js's own default: PGHOST (a directory there is a socket too), else localhost.
    const port = first.port ?? defaultPort;
    if (first.port !== undefined) options.port = first.port;
    const host = env.PGHOST || "localhost";
    location = host.includes("/") ? join(host, `.s.PGSQL.${port}`) : `${host}:${port}`;
  } else if (first.host.startsWith("/")) {
    const path = join(first.host, `.s.PGSQL.${first.port ?? defaultPort}`);
    if (Buffer.byteLength(path) > SUN_PATH_MAX) return err(`the socket path ${path} is longer than the ${SUN_PATH_MAX} bytes a unix socket address holds`);
    options.path = path;
    location = path;
  } else {
    // Arrays: postgres.js splits a host string at ':' (an IPv6 address) and ','.
    options.host = url.hosts.map((h) => h.host!);
    options.port = url.hosts.map((h) => h.port ?? defaultPort);
    location = url.hosts.map((h, i) => `${h.host!.includes(":") ? `[${h.host}]` : h.host}:${(options.port as number[])[i]}`).join(",");
  }
  return ok({ url: `postgres:///${url.params === "" ? "" : `?${url.params}`}`, options, location });
}
