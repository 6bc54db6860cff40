/**
 * The console's only way to the server: the REST API under /api/v1 with the operator's bearer
 * token (kept in this tab's sessionStorage: gone when the tab closes, never sent to another
 * origin), and the change feed (/api/v1/events) read with fetch so it carries the same header.
 */
import type { FeedEntry } from "./types.ts";

const TOKEN_KEY = "wisp.apiToken";

/** The token of this tab. */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: `{code, message, field?}` and its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: { message?: string; source?: string; field?: string }[],
  ) {
    super(message);
  }
}

// Called when the server refuses the token (it changed, or wispd restarted with another).
let onUnauthorized: () => void = () => {};
/** Sets what to do when the server refuses the token (the shell signs out). */
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

function headers(extra?: Record<string, string>, token = session.token()): Record<string, string> {
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

async function failure(res: Response): Promise<ApiError> {
  let body: { code?: string; message?: string; field?: string; details?: ApiError["details"] } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new ApiError(res.status, body.code ?? "http_error", body.message ?? `${res.status} ${res.statusText}`, body.field, body.details);
}

/** A request to /api/v1; JSON in and out. Throws ApiError. */
export async function api<T>(path: string, opts: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: opts.method ?? "GET",
    headers: headers(opts.body !== undefined ? { "content-type": "application/json" } : undefined, opts.token ?? session.token()),
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 401 && !opts.token) onUnauthorized();
    throw err;
  }
  return (await res.json()) as T;
}

/** A JSON-lines answer (logs); a 404 is returned as an ApiError too. */
export async function apiLines<T>(path: string): Promise<{ items: T[]; headers: Headers }> {
  const res = await fetch(`/api/v1${path}`, { headers: headers() });
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 401) onUnauthorized();
    throw err;
  }
  const text = await res.text();
  const items = text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
  return { items, headers: res.headers };
}

/** `ns/name` in a URL, each part encoded. */
export const objectPath = (kind: string, namespace: string, name: string) =>
  `/namespaces/${encodeURIComponent(namespace)}/${kind}/${encodeURIComponent(name)}`;

/** What the feed reader tells the console. */
export interface FeedHandlers {
  change(entry: FeedEntry): void;
  /** Changes were missed (wispd restarted, or the console was away long): read everything again. */
  reset(): void;
  connected(on: boolean): void;
}

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 10_000;

/** Reads /api/v1/events until stopped, reconnecting with Last-Event-ID; returns the stop function. */
export function watchFeed(handlers: FeedHandlers): () => void {
  const abort = new AbortController();
  let lastId: string | undefined;
  let delay = RECONNECT_MIN_MS;
  const dispatch = (event: string, data: string, id: string | undefined) => {
    if (id !== undefined) lastId = id;
    if (event === "change") handlers.change(JSON.parse(data) as FeedEntry);
    else if (event === "reset") handlers.reset();
    else if (event === "ready") {
      delay = RECONNECT_MIN_MS;
      handlers.connected(true);
    }
  };
  const readOnce = async () => {
    const res = await fetch("/api/v1/events", {
      headers: headers(lastId !== undefined ? { "last-event-id": lastId } : undefined),
      signal: abort.signal,
    });
    if (res.status === 401) {
      onUnauthorized();
      return false;
    }
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        let data = "";
        let id: string | undefined;
        for (const line of frame.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data += data ? `\n${val}` : val;
          else if (field === "id") id = val;
        }
        if (data || event !== "message") dispatch(event, data, id);
      }
    }
  };
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        if (!(await readOnce())) return;
      } catch {
        // Network gone or wispd restarting: try again below.
      }
      if (abort.signal.aborted) return;
      handlers.connected(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  })();
  return () => abort.abort();
}
