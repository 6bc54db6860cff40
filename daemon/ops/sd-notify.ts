/**
 * sd_notify(3) for wispd under systemd (Type=notify): READY=1 once the store is open and every
 * listener is bound, STOPPING=1 on shutdown, WATCHDOG=1 every half WatchdogSec. Without
 * $NOTIFY_SOCKET (not started by systemd) every call is a no-op.
 */
import type { Logger } from "../lib/log.ts";
import { sendUnixDatagram } from "../net/libc.ts";
import type { Result } from "../lib/result.ts";

/** What wispd tells its service manager. */
export interface Notifier {
  /** True when $NOTIFY_SOCKET is set. */
  readonly enabled: boolean;
  /** Sends `READY=1` with a STATUS line. */
  ready(status: string): void;
  /** Sends `STOPPING=1`. */
  stopping(): void;
  /** Starts WATCHDOG=1 pings when $WATCHDOG_USEC asks for them (and $WATCHDOG_PID is us); returns a stop function. */
  startWatchdog(): () => void;
}

/** The environment sd_notify reads: NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID. */
export type NotifyEnv = Record<string, string | undefined>;

/** A notifier over $NOTIFY_SOCKET; `send` is replaceable for tests. */
export function createNotifier(env: NotifyEnv, log: Logger, send: (path: string, data: Uint8Array) => Result<void> = sendUnixDatagram): Notifier {
  const socket = env.NOTIFY_SOCKET || undefined;
  const notify = (state: string) => {
    if (!socket) return;
    const r = send(socket, new TextEncoder().encode(state));
    if (!r.ok) log.warn({ path: socket, error: r.error, state: state.split("\n")[0] }, "sd_notify failed");
  };
  return {
    enabled: socket !== undefined,
    ready: (status) => notify(`READY=1\nSTATUS=${status.replaceAll("\n", " ")}\nMAINPID=${process.pid}`),
    stopping: () => notify("STOPPING=1\nSTATUS=stopping"),
    startWatchdog() {
      const usec = Number(env.WATCHDOG_USEC);
      const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
      if (!socket || !Number.isFinite(usec) || usec <= 0 || !forUs) return () => {};
      // sd_watchdog_enabled(3): ping at half the interval so one late tick is not fatal.
      const timer = setInterval(() => notify("WATCHDOG=1"), Math.max(1, Math.floor(usec / 2000)));
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
