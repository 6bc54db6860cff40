/**
 * The power-state poller: reads every Machine's power state each interval, a few BMCs at a
 * time, and records it (or why it could not) for `wisp get machine` and the Machine's status.
 * A BMC that keeps failing is asked less and less often, so dead BMCs do not hold up the rest.
 */
import { listMachineRows, machineTarget, recordPoll } from "../core/bmc-machines.ts";
import type { CoreContext } from "../core/objects.ts";
import type { Logger } from "../lib/log.ts";
import { waitAtMost } from "./jobs.ts";
import type { OpenBmc } from "./types.ts";

/** BMCs polled at once. */
export const POLL_CONCURRENCY = 8;
/** Longest wait between polls of a failing BMC. */
export const MAX_POLL_BACKOFF_MS = 10 * 60_000;
/** How long stop() waits for a round in progress. */
export const STOP_WAIT_MS = 5_000;
/** Bound of one poll (open, read, close). */
export const POLL_TIMEOUT_MS = 20_000;

export interface PollerOptions {
  ctx: CoreContext;
  openBmc: OpenBmc;
  logger: Logger;
  intervalMs: number;
  concurrency?: number;
  timeoutMs?: number;
}

export interface Poller {
  /** Polls every Machine that is due now; resolves when done (tests call it directly). */
  pollDue(): Promise<void>;
  stop(): Promise<void>;
}

/** When a Machine that failed `failures` times in a row is next due, after `intervalMs`. */
export function backoffMs(intervalMs: number, failures: number): number {
  return Math.min(intervalMs * 2 ** Math.min(failures, 20), Math.max(intervalMs, MAX_POLL_BACKOFF_MS));
}

/** Starts polling every `intervalMs`. */
export function startPoller(opts: PollerOptions): Poller {
  const { ctx, logger, intervalMs } = opts;
  const concurrency = opts.concurrency ?? POLL_CONCURRENCY;
  const timeoutMs = opts.timeoutMs ?? POLL_TIMEOUT_MS;
  let stopped = false;
  let round: Promise<void> | undefined;

  const pollOne = async (row: Awaited<ReturnType<typeof listMachineRows>>[number]): Promise<void> => {
    const machine = `${row.namespace}/${row.name}`;
    const target = await machineTarget(ctx, row, timeoutMs);
    if (!target.ok) {
      await recordPoll(ctx, row.id, { error: target.error });
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<{ error: string }>((r) => (timer = setTimeout(() => r({ error: `no answer within ${timeoutMs / 1000}s` }), timeoutMs)));
    const read = (async () => {
      const opened = await opts.openBmc(target.value);
      if (!opened.ok) return { error: opened.error.message };
      try {
        const state = await opened.value.powerState();
        return state.ok ? { powerState: state.value, provider: opened.value.provider } : { error: `${opened.value.provider}: ${state.error.message}` };
      } finally {
        await opened.value.close().catch(() => {});
      }
    })();
    const outcome = await Promise.race([read, timeout]).finally(() => clearTimeout(timer));
    if ("error" in outcome && row.failures === 0) logger.warn({ machine, reason: outcome.error }, "bmc poll failed");
    if (!("error" in outcome) && row.failures > 0) logger.info({ machine, powerState: outcome.powerState }, "bmc reachable again");
    await recordPoll(ctx, row.id, outcome);
  };

  const runRound = async (): Promise<void> => {
    const now = ctx.now().getTime();
    const due = (await listMachineRows(ctx)).filter((m) => !m.polledAt || m.polledAt.getTime() + backoffMs(intervalMs, m.failures) <= now + 500);
    let next = 0;
    const worker = async () => {
      while (!stopped && next < due.length) {
        const row = due[next++]!;
        await pollOne(row).catch((e) => logger.error({ err: e, machine: `${row.namespace}/${row.name}` }, "bmc poll crashed"));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
  };

  // One round at a time: a caller during a round shares it.
  const pollDue = (): Promise<void> =>
    (round ??= runRound()
      .catch((e) => logger.error({ err: e }, "bmc poll round failed"))
      .finally(() => (round = undefined)));
  const tick = () => {
    if (!stopped) void pollDue();
  };
  // A round's start is checked often; each Machine is due only every intervalMs (or its back-off).
  const timer = setInterval(tick, Math.min(intervalMs, 5_000));
  tick();
  return {
    pollDue,
    async stop() {
      stopped = true;
      clearInterval(timer);
      // A poll of a silent BMC takes up to its timeout: its result is not worth holding shutdown.
      await waitAtMost(round, STOP_WAIT_MS);
    },
  };
}
