/**
 * The job runner: takes Pending Jobs from the store, runs their steps in order against the
 * Machine's BMC (one job per Machine at a time, a few Machines at once), each attempt bounded
 * by the step's timeout and retried as the step allows, and records every step's state.
 */
import { claimJob, finishJob as finishJobRow, heartbeatJobs, patchStep, requeueStaleJobs, type ClaimedJob, type WorkflowChanged } from "../core/bmc-jobs.ts";
import { machineTarget } from "../core/bmc-machines.ts";
import type { CoreContext } from "../core/objects.ts";
import type { Logger } from "../lib/log.ts";
import { describeTask, runTask } from "./job-steps.ts";
import type { BmcDriver, BmcError, OpenBmc } from "./types.ts";

/** How often the runner looks for new Jobs when nobody woke it. */
export const JOB_POLL_INTERVAL_MS = 1_000;
/** Jobs (on different Machines) run at once. */
export const JOB_CONCURRENCY = 4;
/** A Running job not beaten for this long has lost its runner (a stopped or dead wispd). */
export const JOB_STALE_AFTER_MS = 60_000;
/** How long stop() waits for running steps before leaving them to the next start. */
export const STOP_WAIT_MS = 5_000;
/** Pause between attempts of a failed step. */
export const STEP_RETRY_DELAY_MS = 2_000;

export interface JobRunnerOptions {
  ctx: CoreContext;
  openBmc: OpenBmc;
  logger: Logger;
  pollIntervalMs?: number;
  concurrency?: number;
  retryDelayMs?: number;
  /** A Running job whose runner has not beaten for this long is run again from its step (default 60 s). */
  staleAfterMs?: number;
  /** Told (after the commit) when a job's end changed the workflow that made it. */
  onWorkflowChange?: (change: WorkflowChanged) => void;
}

export interface JobRunner {
  /** Look for Pending jobs now (after a create). */
  wake(): void;
  /** Stops taking jobs and waits for those running to end. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `p` settles or after `ms`, whichever is first; the timer does not outlive it. */
export async function waitAtMost(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

/** One attempt, ended by its timeout: the driver call may hang on a BMC that stopped answering. */
async function attempt(open: OpenBmc, target: Parameters<OpenBmc>[0], task: ClaimedJob["steps"][number]["task"], timeoutMs: number): Promise<{ ok: true; message: string } | { ok: false; error: BmcError }> {
  let driver: BmcDriver | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<{ ok: false; error: BmcError }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: { code: "timeout", message: `no answer within ${timeoutMs / 1000}s` } }), timeoutMs);
  });
  const work = (async () => {
    const opened = await open(target);
    if (!opened.ok) return { ok: false as const, error: opened.error };
    driver = opened.value;
    const r = await runTask(driver, task);
    return r.ok ? { ok: true as const, message: r.value } : { ok: false as const, error: r.error };
  })();
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
    // Close whenever the driver opens, also after a timeout (the call may still finish later).
    void work.finally(() => driver?.close().catch(() => {}));
  }
}

/** Starts the runner; Running jobs a stopped wispd left behind are run again from their step once stale. */
export async function startJobRunner(opts: JobRunnerOptions): Promise<JobRunner> {
  const { ctx, logger } = opts;
  const interval = opts.pollIntervalMs ?? JOB_POLL_INTERVAL_MS;
  const concurrency = opts.concurrency ?? JOB_CONCURRENCY;
  const retryDelay = opts.retryDelayMs ?? STEP_RETRY_DELAY_MS;
  const staleAfter = opts.staleAfterMs ?? JOB_STALE_AFTER_MS;
  const busy = new Set<string>();
  const runningIds = new Set<string>();
  const running = new Set<Promise<void>>();
  let stopped = false;
  let scanning = false;
  let again = false;

  const finishJob = async (...args: Parameters<typeof finishJobRow>): Promise<void> => {
    const changed = await finishJobRow(...args);
    if (changed) opts.onWorkflowChange?.(changed);
  };

  const runJob = async ({ job, steps, machine }: ClaimedJob): Promise<void> => {
    const jobId = `${job.namespace}/${job.name}`;
    const log = logger.child({ job: jobId, machine: `${job.machineNamespace}/${job.machineName}` });
    log.info({ steps: steps.length }, "bmc job started");
    if (!machine) return finishJob(ctx, job.id, "Failed", `Machine ${job.machineNamespace}/${job.machineName} not found`);
    for (const step of steps) {
      if (step.state === "Completed") continue;
      const what = describeTask(step.task);
      let last = "";
      for (let n = step.attempt + 1; n <= step.retries + 1; n++) {
        if (stopped) return;
        await patchStep(ctx, step.id, { state: "Running", attempt: n, startedAt: ctx.now(), finishedAt: null });
        // The Secret is read for every attempt: a corrected password applies to the next one.
        const target = await machineTarget(ctx, machine, step.timeout * 1000);
        const r = target.ok ? await attempt(opts.openBmc, target.value, step.task, step.timeout * 1000) : { ok: false as const, error: { code: "auth" as const, message: target.error } };
        // Stopped meanwhile: the step is left Running, to be run again once its heartbeat is stale.
        if (stopped) return;
        if (r.ok) {
          await patchStep(ctx, step.id, { state: "Completed", finishedAt: ctx.now(), message: r.message });
          log.info({ step: step.position, action: what, attempt: n }, "bmc step completed");
          last = "";
          break;
        }
        // The drivers' messages start with the provider and the BMC already; a bare one gets the provider.
        const p = r.error.provider;
        const reason = p && !r.error.message.startsWith(p) ? `${p}: ${r.error.message}` : r.error.message;
        last = `${what}: ${reason} (attempt ${n} of ${step.retries + 1})`;
        log.warn({ step: step.position, action: what, attempt: n, code: r.error.code, reason: r.error.message }, "bmc step failed");
        const final = n > step.retries;
        await patchStep(ctx, step.id, { state: final ? "Failed" : "Pending", finishedAt: ctx.now(), message: last });
        if (!final) await sleep(retryDelay);
      }
      if (last) {
        await finishJob(ctx, job.id, "Failed", `step ${step.position} ${last}`);
        log.warn({ reason: last }, "bmc job failed");
        return;
      }
    }
    await finishJob(ctx, job.id, "Completed", `${steps.length} step${steps.length === 1 ? "" : "s"} completed`);
    log.info("bmc job completed");
  };

  const scan = async (): Promise<void> => {
    if (scanning) {
      again = true;
      return;
    }
    scanning = true;
    try {
      await heartbeatJobs(ctx, [...runningIds]);
      const resumed = await requeueStaleJobs(ctx, new Date(ctx.now().getTime() - staleAfter));
      if (resumed) logger.info({ count: resumed }, "bmc jobs resumed");
      do {
        again = false;
        while (!stopped && running.size < concurrency) {
          const claimed = await claimJob(ctx, busy);
          if (!claimed) break;
          const key = `${claimed.job.machineNamespace}/${claimed.job.machineName}`;
          busy.add(key);
          runningIds.add(claimed.job.id);
          const p: Promise<void> = runJob(claimed)
            .catch((e) => logger.error({ err: e, job: `${claimed.job.namespace}/${claimed.job.name}` }, "bmc job crashed"))
            .finally(() => {
              busy.delete(key);
              runningIds.delete(claimed.job.id);
              running.delete(p);
              if (!stopped) void scan();
            });
          running.add(p);
        }
      } while (again && !stopped);
    } catch (e) {
      logger.error({ err: e }, "bmc job scan failed");
    } finally {
      scanning = false;
    }
  };

  const timer = setInterval(() => void scan(), interval);
  void scan();
  return {
    wake: () => void scan(),
    async stop() {
      stopped = true;
      clearInterval(timer);
      // A step may wait for a slow BMC up to its timeout; a job cut short stays Running and is
      // run again from its step once its heartbeat is stale (requeueStaleJobs).
      await waitAtMost(Promise.allSettled([...running]), STOP_WAIT_MS);
    },
  };
}
