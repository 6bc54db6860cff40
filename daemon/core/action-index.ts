/**
 * GetAction from memory: each agent's last answer (its current action, or why there is none) is
 * kept until a change to one of its workflows is notified on `wisp_workflow` (a trigger on
 * workflows, workflow_tasks and workflow_actions, migration 0003_workflow_notify, names the
 * workers of every changed row, from this process or any other wispd on the same PostgreSQL).
 * Idle agents polling every few seconds then cost no store read. Reports still go through the
 * core's transaction; the reporting agent's entry is dropped as soon as its report is applied.
 */
import { WispError } from "../lib/errors.ts";
import type { Store, StoreLogger } from "../store/open.ts";
import { normalizeWorker } from "./render.ts";
import type { ActionAssignment, Core } from "./types.ts";

/** The NOTIFY channel of workflow changes; payload `{"op", "workers": [...]}` or `{"op": "TRUNCATE"}`. */
export const WORKFLOW_CHANNEL = "wisp_workflow";
/** More remembered agents than this (agent ids are the caller's input): forget them all and start again. */
export const MAX_ENTRIES = 50_000;

/** The core's answer for one agent id: an assignment, or the domain error GetAction throws. */
type Answer = { ok: true; value: ActionAssignment } | { ok: false; error: WispError };

interface Entry {
  worker: string;
  answer: Answer;
}

/** GetAction and ReportActionStatus for the workflow service, with GetAction answered from memory. */
export interface ActionIndex extends Pick<Core, "getAction" | "reportAction"> {
  /** Agents whose answer is remembered. */
  readonly size: number;
  /** Answers served from memory and read from the store, since start. */
  readonly stats: { hits: number; misses: number };
  /**
   * `core` with this index's getAction/reportAction, and every other write forgetting all
   * answers once it is done (the timeout sweep only when it changed a workflow): in this
   * process a change is seen at once, not when its notification arrives.
   */
  bind(core: Core): Core;
  /** Forgets the answers of `workers` (normalised), or every answer. */
  invalidate(workers?: readonly string[]): void;
  /** Stops listening; later calls read the store every time. */
  close(): Promise<void>;
}

/** Options of createActionIndex. */
export interface ActionIndexOptions {
  logger?: StoreLogger;
  maxEntries?: number;
}

// Only these outcomes are a workflow's state; anything else (a store failure) is never remembered.
const REMEMBERED = new Set(["not_found", "invalid_state"]);

/** Wraps `core`'s getAction/reportAction with the index; listens on `store` until close(). */
export async function createActionIndex(store: Store, core: Pick<Core, "getAction" | "reportAction">, opts: ActionIndexOptions = {}): Promise<ActionIndex> {
  const maxEntries = opts.maxEntries ?? MAX_ENTRIES;
  const entries = new Map<string, Entry>();
  const byWorker = new Map<string, Set<string>>();
  // A store read that started before an invalidation of its worker (or of everything) must not
  // be remembered: it may have seen the rows before the change that was just notified. The clock
  // ticks on every invalidation; each worker keeps the tick of its last one. Per worker, so that
  // in a storm one agent's report does not void every other agent's read in flight (with a
  // single generation nothing was remembered while 3,000 agents were reporting).
  let clock = 0;
  let allForgottenAt = 0;
  const invalidatedAt = new Map<string, number>();
  // Reads in flight per agent id: an agent that calls again before its answer came (a retry
  // after its deadline) shares the read instead of queueing another one behind the store.
  const reading = new Map<string, Promise<Answer>>();
  const reporting = new Map<string, Promise<void>>();
  let closed = false;
  const stats = { hits: 0, misses: 0 };

  function forgetAll(): void {
    allForgottenAt = ++clock;
    invalidatedAt.clear();
    entries.clear();
    byWorker.clear();
    reading.clear();
  }

  function invalidate(workers?: readonly string[]): void {
    if (!workers) return forgetAll();
    const tick = ++clock;
    for (const w of workers) {
      if (invalidatedAt.size >= maxEntries) return forgetAll();
      invalidatedAt.set(w, tick);
      const ids = byWorker.get(w);
      if (!ids) continue;
      for (const id of ids) {
        entries.delete(id);
        reading.delete(id);
      }
      byWorker.delete(w);
    }
  }

  /** True when nothing of `worker` was invalidated since tick `since`. */
  const unchangedSince = (worker: string, since: number): boolean => allForgottenAt <= since && (invalidatedAt.get(worker) ?? 0) <= since;

  /** Reads the agent's answer from the store; remembers it unless its worker changed meanwhile. */
  async function read(agentId: string, worker: string): Promise<Answer> {
    const since = clock;
    let answer: Answer;
    try {
      answer = { ok: true, value: await core.getAction(agentId) };
    } catch (e) {
      if (!(e instanceof WispError) || !REMEMBERED.has(e.code)) throw e;
      answer = { ok: false, error: e };
    }
    if (!closed && unchangedSince(worker, since)) remember(agentId, worker, answer);
    return answer;
  }

  function remember(agentId: string, worker: string, answer: Answer): void {
    if (entries.size >= maxEntries) forgetAll();
    entries.set(agentId, { worker, answer });
    let ids = byWorker.get(worker);
    if (!ids) byWorker.set(worker, (ids = new Set()));
    ids.add(agentId);
  }

  const onNotify = (payload: string): void => {
    const workers = parseWorkers(payload);
    if (workers === undefined) opts.logger?.debug({ payload }, "workflow change without workers, forgetting every action");
    invalidate(workers);
  };
  // Notifications sent while the listening connection was down are lost: forget everything.
  const unlisten = await store.listen(WORKFLOW_CHANNEL, onNotify, forgetAll);

  const afterWrite =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } finally {
        forgetAll();
      }
    };

  const index: ActionIndex = {
    get size() {
      return entries.size;
    },
    stats,
    invalidate,
    bind: (c) => ({
      ...c,
      getAction: index.getAction,
      reportAction: index.reportAction,
      apply: afterWrite(c.apply),
      create: afterWrite(c.create),
      update: afterWrite(c.update),
      delete: afterWrite(c.delete),
      // The sweep runs every few seconds and mostly changes nothing: forgetting each time would
      // empty the index as often as idle agents poll (seen in bench/grpc: no hits at all).
      sweepTimeouts: async (now) => {
        const changed = await c.sweepTimeouts(now);
        if (changed > 0) forgetAll();
        return changed;
      },
      rerunWorkflow: afterWrite(c.rerunWorkflow),
      cancelWorkflow: afterWrite(c.cancelWorkflow),
    }),
    async getAction(agentId) {
      const hit = closed ? undefined : entries.get(agentId);
      if (hit) {
        stats.hits++;
        if (hit.answer.ok) return hit.answer.value;
        throw hit.answer.error;
      }
      stats.misses++;
      let pending = closed ? undefined : reading.get(agentId);
      if (!pending) {
        const p = read(agentId, normalizeWorker(agentId));
        pending = p;
        if (!closed) {
          reading.set(agentId, p);
          void p.then(
            () => reading.get(agentId) === p && reading.delete(agentId),
            () => reading.get(agentId) === p && reading.delete(agentId),
          );
        }
      }
      const answer = await pending;
      if (answer.ok) return answer.value;
      throw answer.error;
    },
    async reportAction(report) {
      // The same report again while the first is still in flight (the agent's deadline passed
      // while the store was busy): it waits for the first instead of queueing a repeat.
      const key = JSON.stringify(report);
      const inFlight = reporting.get(key);
      if (inFlight) return inFlight;
      const p = reportOnce(report);
      reporting.set(key, p);
      try {
        return await p;
      } finally {
        reporting.delete(key);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      forgetAll();
      await unlisten();
    },
  };

  async function reportOnce(report: Parameters<Core["reportAction"]>[0]): Promise<void> {
    try {
      await core.reportAction(report);
    } finally {
      // The reporter polls right after the acknowledgement, before the notification may arrive.
      invalidate([normalizeWorker(report.agentId)]);
    }
  }
  return index;
}

/** The workers a notification names; undefined means "any" (TRUNCATE, or a payload not understood). */
export function parseWorkers(payload: string): string[] | undefined {
  try {
    const value = JSON.parse(payload) as { workers?: unknown };
    if (Array.isArray(value?.workers) && value.workers.every((w) => typeof w === "string")) return value.workers as string[];
  } catch {}
  return undefined;
}
