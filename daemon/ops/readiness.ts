/**
 * Readiness: what GET /readyz and systemd's READY=1 wait for. Each listener registers a check
 * when wispd starts and marks it bound once it listens; the store is asked with a bounded query.
 */

/** How long the store's readiness query may take before the store counts as not reachable. */
export const STORE_CHECK_TIMEOUT_MS = 2_000;

/** One part that must be up: a listener, or the store. */
export interface ReadinessCheck {
  /** The part is up; `detail` (e.g. "127.0.0.1:69") is shown in /readyz. */
  ready(detail?: string): void;
  /** The part is down, and why. */
  notReady(reason: string): void;
}

/** What /readyz answers. */
export interface ReadinessReport {
  ready: boolean;
  /** Part name -> "ok", "ok <detail>" or why it is not ready. */
  checks: Record<string, string>;
}

/** The registry of parts; `report()` asks the store each time. */
export interface Readiness {
  /** Registers a part that starts not ready ("starting"); the same name gives the same check. */
  check(name: string): ReadinessCheck;
  /** Every part's state, the store asked with a query bounded by STORE_CHECK_TIMEOUT_MS. */
  report(): Promise<ReadinessReport>;
}

interface State {
  ok: boolean;
  text: string;
}

/** A registry whose store check is `ping` (e.g. Core.ping: `select 1`). */
export function createReadiness(ping: () => Promise<void>, timeoutMs = STORE_CHECK_TIMEOUT_MS): Readiness {
  const parts = new Map<string, State>();
  return {
    check(name) {
      if (!parts.has(name)) parts.set(name, { ok: false, text: "starting" });
      return {
        ready: (detail) => parts.set(name, { ok: true, text: detail ? `ok ${detail}` : "ok" }),
        notReady: (reason) => parts.set(name, { ok: false, text: reason }),
      };
    },
    async report() {
      const store = await pingWithin(ping, timeoutMs);
      const checks: Record<string, string> = { store: store ?? "ok" };
      let ready = store === undefined;
      for (const [name, state] of parts) {
        checks[name] = state.text;
        ready &&= state.ok;
      }
      return { ready, checks };
    },
  };
}

/** Undefined when `ping` answered in time, else why not. */
async function pingWithin(ping: () => Promise<void>, timeoutMs: number): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([ping().then(() => undefined, (e: Error) => `unreachable: ${e.message}`), late]);
  } finally {
    clearTimeout(timer);
  }
}
