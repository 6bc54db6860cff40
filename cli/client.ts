/** The CLI's HTTP client for wispd's REST API: finds the token, turns API errors into one line. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Default API address, matching wispd's default HTTP port. */
export const DEFAULT_SERVER = "http://127.0.0.1:7080";
/** Where the CLI looks for wispd's generated token when none is given, in order. */
export const TOKEN_SEARCH_DIRS = ["./var", "/var/lib/wisp"];

/** An error the CLI prints as one line and turns into exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Finds the API token: flag, WISP_TOKEN, then `api-token` in WISP_DATA_DIR or the search dirs. */
export function findToken(flag: string | undefined, env: Record<string, string | undefined>): string | undefined {
  if (flag) return flag;
  if (env.WISP_TOKEN) return env.WISP_TOKEN;
  const dirs = [env.WISP_DATA_DIR, ...TOKEN_SEARCH_DIRS].filter((d): d is string => !!d);
  for (const dir of dirs) {
    const path = join(resolve(dir), "api-token");
    if (existsSync(path)) {
      try {
        return readFileSync(path, "utf8").trim();
      } catch {
        // Not readable by this user: try the next place, and say so if none works.
      }
    }
  }
  return undefined;
}

/** A thin JSON client bound to one server and token. */
export class ApiClient {
  constructor(
    readonly server: string,
    readonly token: string | undefined,
  ) {}

  /** Sends a request; returns the parsed JSON body or throws CliError with the server's message. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const { res, text } = await this.send(method, path, body);
    if (!res.ok) throw this.failure(method, path, res, text);
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw new CliError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
  }

  /** GETs a JSON-lines body (the log routes): its rows and the response headers. */
  async jsonLines<T>(path: string): Promise<{ rows: T[]; headers: Headers }> {
    const { res, text } = await this.send("GET", path);
    if (!res.ok) throw this.failure("GET", path, res, text);
    const rows: T[] = [];
    for (const row of text.split("\n")) {
      if (row === "") continue;
      try {
        rows.push(JSON.parse(row) as T);
      } catch {
        throw new CliError(`GET ${path}: not JSON lines: ${row.slice(0, 200)}`);
      }
    }
    return { rows, headers: res.headers };
  }

  private async send(method: string, path: string, body?: unknown): Promise<{ res: Response; text: string }> {
    try {
      const res = await fetch(this.server.replace(/\/+$/, "") + path, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { res, text: await res.text() };
    } catch (e) {
      throw new CliError(`cannot reach wispd at ${this.server}: ${(e as Error).message}`);
    }
  }

  /** The one line for an error response: the API's message, or the status. */
  private failure(method: string, path: string, res: Response, text: string): CliError {
    if (res.status === 401 && !this.token) {
      return new CliError("unauthorized: no API token found; pass --token, set WISP_TOKEN, or run where wispd's data directory is readable");
    }
    let message: string | undefined;
    try {
      message = (JSON.parse(text) as { message?: string }).message;
    } catch {
      // Not an API error body: say the status.
    }
    return new CliError(message ?? `${method} ${path}: HTTP ${res.status}`);
  }
}
