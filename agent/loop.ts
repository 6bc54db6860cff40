/**
 * The agent's loop: poll GetAction with back-off, report RUNNING, run the action, report how it
 * ended; reports are retried until the server acknowledges them. The last action and its state
 * are remembered (in memory and in the state file) so a success is never run twice, also across
 * an agent restart; an action the server serves again after it was RUNNING is run again
 * (Tinkerbell's semantics: the agent restarted mid-action). Each run's output is shipped to wispd
 * and flushed before the final report; a reboot action is reported SUCCESS right before its
 * container starts; when the agent stops mid-action, the action is reported FAILED.
 */
import { status } from "@grpc/grpc-js";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { Backoff } from "./backoff.ts";
import { isRebootAction, REBOOT_MESSAGE } from "./reboot.ts";
import { AGENT_STOPPED, type Action, type RunHooks, type RunResult } from "./runner.ts";
import { statusRequest, type Reply, type WorkflowClient } from "./workflow-client.ts";

/** The last action this agent finished, and whether the server has its result. */
export interface LastAction {
  workflowId: string;
  actionId: string;
  state: RunResult["state"];
  message: string;
  startedAt: number;
  stoppedAt: number;
  reported: boolean;
  /** Which run of the action this was (1, then 2 for its first retry, ...); absent in older state files: 1. */
  attempt?: number;
}

/** Where LastAction survives a restart. */
export interface StateStore {
  load(): LastAction | undefined;
  save(last: LastAction): void;
}

/** A small JSON file, replaced atomically; unreadable means none. */
export function fileStateStore(path: string, log: Logger): StateStore {
  return {
    load() {
      try {
        return JSON.parse(readFileSync(path, "utf8")) as LastAction;
      } catch {
        return undefined;
      }
    },
    save(last) {
      try {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(`${path}.tmp`, JSON.stringify(last));
        renameSync(`${path}.tmp`, path);
      } catch (e) {
        log.warn({ err: e, path }, "state file not written");
      }
    },
  };
}

/** Wait before an action's second run (its first retry); doubled for each later one, up to RETRY_MAX_MS. */
export const RETRY_START_MS = 1_000;
/** Longest wait before a retry. */
export const RETRY_MAX_MS = 30_000;

/** The pause before run `attempt` of an action (none before the first). */
export const retryDelayMs = (attempt: number): number => (attempt <= 1 ? 0 : Math.min(RETRY_MAX_MS, RETRY_START_MS * 2 ** (attempt - 2)));

/** How long the final report is still retried once the agent was told to stop (the OS is going down). */
export const STOP_REPORT_MS = 5_000;

// Codes after which a report will never be accepted: retrying cannot help.
const REFUSED = new Set<status>([status.FAILED_PRECONDITION, status.INVALID_ARGUMENT, status.NOT_FOUND]);

/** Everything the loop uses, injected. */
export interface LoopDeps {
  workerId: string;
  client: WorkflowClient;
  run(action: Action, hooks: RunHooks): Promise<RunResult>;
  /** Ships one action attempt's output lines (wispd's log service); absent: not shipped. */
  openLog?(action: Action, attempt: number): ActionLog;
  /** Default STOP_REPORT_MS. */
  stopReportMs?: number;
  state: StateStore;
  logger: Logger;
  /** Ends the loop when aborted (SIGTERM). */
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The pause before run `attempt` of an action; default retryDelayMs. */
  retryDelayMs?: (attempt: number) => number;
}

/** Where the output of one action attempt goes (agent/log-shipper.ts's LogShipper). */
export interface ActionLog {
  push(stream: "stdout" | "stderr", line: string): void;
  /** Delivers what was pushed (bounded in time); never rejects. */
  close(): Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });

/** Go's duration text for ms, as tink-agent sends execution_duration ("12.5s"). */
export const goDuration = (ms: number): string => `${Math.round(ms) / 1000}s`;
const timestamp = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** Runs until `signal` aborts. */
export async function runLoop(deps: LoopDeps): Promise<void> {
  const { client, logger: log, signal } = deps;
  const sleep = deps.sleep ?? abortableSleep;
  const poll = new Backoff();
  let last = deps.state.load();
  if (last) log.info({ workflowId: last.workflowId, actionId: last.actionId, state: last.state, reported: last.reported }, "last action remembered");

  const remember = (l: LastAction) => {
    last = l;
    deps.state.save(l);
  };

  /** Sends a report until acknowledged; false if the server refuses it for good (or the agent stops). */
  async function report(action: Action & Record<string, unknown>, state: string, extra: Record<string, unknown>, until = signal): Promise<boolean> {
    const fields = { workflowId: action.workflowId, actionId: action.actionId, state };
    const retry = new Backoff();
    while (!until.aborted) {
      const r: Reply = await client.reportActionStatus(statusRequest(action, state, extra));
      if (r.code === status.OK) {
        log.info(fields, "action status reported");
        return true;
      }
      if (REFUSED.has(r.code)) {
        log.warn({ ...fields, code: status[r.code], reason: r.details }, "action report refused");
        return false;
      }
      const ms = retry.next();
      log.warn({ ...fields, code: status[r.code], reason: r.details, retryInMs: ms }, "action report failed, retrying");
      await sleep(ms, until);
    }
    return false;
  }

  const resultExtra = (l: LastAction) => ({
    executionStart: timestamp(l.startedAt),
    executionStop: timestamp(l.stoppedAt),
    executionDuration: goDuration(l.stoppedAt - l.startedAt),
    message: { message: l.message },
  });

  while (!signal.aborted) {
    const r = await client.getAction(deps.workerId);
    if (r.code !== status.OK) {
      const ms = poll.next();
      // Nothing for this agent (NOT_FOUND) or not runnable yet (FAILED_PRECONDITION) is the normal idle state.
      if (r.code === status.NOT_FOUND || r.code === status.FAILED_PRECONDITION) log.debug({ code: status[r.code], reason: r.details, retryInMs: ms }, "no action");
      else log.warn({ code: status[r.code], reason: r.details, retryInMs: ms }, "get action failed");
      await sleep(ms, signal);
      continue;
    }
    poll.reset();
    const action = r.value as Action & Record<string, unknown>;
    const fields = { workflowId: action.workflowId, actionId: action.actionId, action: action.name };

    const same = last && last.workflowId === action.workflowId && last.actionId === action.actionId;
    // A result the server may not have (the agent stopped before the acknowledgement): send it, do not run again.
    // A success is never run twice, even if the server serves it again.
    if (same && (!last!.reported || last!.state === "SUCCESS")) {
      log.info({ ...fields, state: last!.state }, "action already run, reporting its result");
      const acked = await report(action, last!.state, resultExtra(last!));
      if (!signal.aborted) remember({ ...last!, reported: true });
      if (!acked) await sleep(poll.next(), signal);
      continue;
    }

    // The server's word when it sends one; else: served again after its FAILED or TIMEOUT was
    // acknowledged, this is the server's retry, the next attempt.
    const attempt = r.attempt ?? (same ? (last!.attempt ?? 1) + 1 : 1);
    const reboot = isRebootAction(action);
    log.info({ ...fields, image: action.image, attempt, reboot }, "action received");
    // A retry after a failure waits a little longer each time (a registry or disk that is not ready yet).
    const pause = (deps.retryDelayMs ?? retryDelayMs)(attempt);
    if (pause > 0) {
      log.info({ ...fields, attempt, retryInMs: pause }, "action retry waiting");
      await sleep(pause, signal);
      if (signal.aborted) break;
    }
    const startedAt = Date.now();
    if (!(await report(action, "RUNNING", { executionStart: timestamp(startedAt) }))) {
      await sleep(poll.next(), signal);
      continue;
    }
    const ended = (state: RunResult["state"], message: string): LastAction => ({ workflowId: action.workflowId, actionId: action.actionId, state, message, startedAt, stoppedAt: Date.now(), reported: false, attempt });
    const output = deps.openLog?.(action, attempt);
    let rebootReported = false;
    const hooks: RunHooks = { signal, attempt, onOutput: output && ((stream, line) => output.push(stream, line)) };
    if (reboot) {
      // Reported before the start, so the acknowledgement arrives before the machine goes down.
      hooks.beforeRebootStart = async () => {
        const done = ended("SUCCESS", REBOOT_MESSAGE);
        if (!(await report(action, "SUCCESS", resultExtra(done)))) {
          throw new Error(signal.aborted ? `${AGENT_STOPPED} before the reboot action started` : "reboot action not started: its SUCCESS report was refused");
        }
        remember({ ...done, reported: true });
        rebootReported = true;
      };
    }
    const result = await deps.run(action, hooks);
    await output?.close();
    log.info({ ...fields, containerId: result.containerId, state: result.state, exitCode: result.exitCode, message: rebootReported ? result.message : undefined }, "action finished");
    // SUCCESS is reported already; a quick failure of the reboot container cannot be reported any more.
    if (rebootReported) continue;
    const done = ended(result.state, result.message);
    remember(done);
    // Told to stop (the OS is going down): a few more seconds for the report, not the usual patience.
    const acked = await report(action, result.state, resultExtra(done), signal.aborted ? AbortSignal.timeout(deps.stopReportMs ?? STOP_REPORT_MS) : signal);
    // Stopped before an acknowledgement: the state file keeps it unreported, for the next start.
    if (acked || !signal.aborted) remember({ ...done, reported: true });
  }
}
