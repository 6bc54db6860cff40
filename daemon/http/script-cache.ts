/**
 * iPXE scripts as rendered, kept per hardware-index host until the index changes or the settings
 * do: a boot storm asks for the same few scripts thousands of times, and rendering one (string
 * building and value checks) cost more than the rest of the request. Only outcomes that depend on
 * the host and the settings alone are kept; a refusal naming the client's MAC or address is not.
 */
import type { DhcpHost } from "../dhcp/types.ts";
import type { ScriptOutcome, ScriptSettings } from "./ipxe-script.ts";

/** An outcome with its body encoded once. */
export interface RenderedScript {
  outcome: ScriptOutcome;
  status: number;
  body: Uint8Array;
  /** The body as a Blob and the status and headers, built once: a Response over them shares the bytes and copies the headers (a Uint8Array body and a headers object cost a copy and a parse per response). */
  blob: Blob;
  init: { status: number; headers: Headers };
}

/** Rendered scripts by host (and the generic one), dropped together on every change. */
export interface ScriptCache {
  /** Bumped by every invalidation: a script rendered from an older generation is not kept. */
  readonly generation: number;
  /** The script kept for `host` (undefined: the generic one) under these settings. */
  get(host: DhcpHost | undefined, settings: ScriptSettings): RenderedScript | undefined;
  /** Keeps `outcome` unless the cache was invalidated since `generation` was read. */
  put(host: DhcpHost | undefined, generation: number, outcome: ScriptOutcome): RenderedScript;
  /** Drops every script (the hardware index changed). */
  invalidate(): void;
  /** Scripts kept now (the generic one included). */
  readonly size: number;
}

const encoder = new TextEncoder();

/** The iPXE script's Content-Type. */
export const SCRIPT_CONTENT_TYPE = "text/plain; charset=utf-8";

/** Renders the outcome's body and status once. */
export function rendered(outcome: ScriptOutcome): RenderedScript {
  const body = encoder.encode(outcome.text);
  const status = outcome.kind === "script" ? 200 : outcome.status;
  return { outcome, status, body, blob: new Blob([body]), init: { status, headers: new Headers({ "content-type": SCRIPT_CONTENT_TYPE }) } };
}

/**
 * A cache that `subscribe` invalidates (the hardware index's onChange). Settings are compared
 * field by field on each lookup (the HTTP port and the agent token are learnt after start).
 */
export function createScriptCache(subscribe: (listener: () => void) => () => void): ScriptCache & { close(): void } {
  let byHost = new WeakMap<DhcpHost, RenderedScript>();
  let generic: RenderedScript | undefined;
  let kept = 0;
  let generation = 0;
  let settings: ScriptSettings | undefined;
  const invalidate = (): void => {
    byHost = new WeakMap();
    generic = undefined;
    kept = 0;
    generation++;
  };
  const unsubscribe = subscribe(invalidate);
  return {
    get generation() {
      return generation;
    },
    get size() {
      return kept;
    },
    get(host, now) {
      if (settings === undefined || !sameSettings(settings, now)) {
        if (settings !== undefined) invalidate();
        settings = now;
        return undefined;
      }
      return host === undefined ? generic : byHost.get(host);
    },
    put(host, at, outcome) {
      const r = rendered(outcome);
      if (at !== generation) return r;
      if (host === undefined) generic = r;
      else byHost.set(host, r);
      kept++;
      return r;
    },
    invalidate,
    close: unsubscribe,
  };
}

/** Whether two settings render the same scripts. */
export function sameSettings(a: ScriptSettings, b: ScriptSettings): boolean {
  return (
    a.publicIp === b.publicIp &&
    a.httpPort === b.httpPort &&
    a.grpcPort === b.grpcPort &&
    a.mode === b.mode &&
    a.userClass === b.userClass &&
    a.retries === b.retries &&
    a.retryDelaySeconds === b.retryDelaySeconds &&
    a.agentToken === b.agentToken &&
    a.registry?.host === b.registry?.host &&
    a.registry?.username === b.registry?.username &&
    a.registry?.password === b.registry?.password
  );
}
