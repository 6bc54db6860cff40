/**
 * The change feed: what the core committed, announced in process after each transaction, for
 * live views (the web console's `/api/v1/events`). A change names the object and what happened;
 * readers fetch the object through the API when they need more. Emitting never queries: the hot
 * gRPC path pays a few object allocations per report.
 */
import type { Store, StoreLogger } from "../store/open.ts";
import { HARDWARE_CHANNEL } from "./hardware-index.ts";
import type { EventInput } from "./workflows.ts";

/** What happened to the object. */
export type ChangeOp = "created" | "configured" | "deleted" | "state" | "lines";

/** One recorded state change carried by a workflow change: what the transaction recorded in the workflow's events. */
export type ChangeEvent = EventInput;

/** A committed change of one object. `ActionLogs`: new output lines of a workflow's action. */
export interface Change {
  kind: "Hardware" | "Template" | "Workflow" | "ActionLogs";
  namespace: string;
  name: string;
  op: ChangeOp;
  /** Workflow: its state after the change, when the emitter knew it. */
  state?: string;
  /** Workflow `state`: the events the transaction recorded. */
  events?: ChangeEvent[];
  /** ActionLogs: the action and how many new lines were stored. */
  actionId?: string;
  lines?: number;
  /** Set when another wispd on the same PostgreSQL made the change (core/change-bridge.ts); such entries carry no `events`. */
  origin?: string;
}

/** A change with its place in this process's feed (the SSE `id`). */
export interface FeedEntry extends Change {
  seq: number;
  at: string;
}

/** Changes kept for readers that reconnect with `Last-Event-ID`. */
export const DEFAULT_FEED_HISTORY = 1024;

/** The in-process feed. */
export interface ChangeFeed {
  /** Announces a committed change to every subscriber (synchronously; a throwing one is logged and kept). */
  emit(change: Change): void;
  /** Calls `listener` with every later change; returns a function that stops it. */
  subscribe(listener: (entry: FeedEntry) => void): () => void;
  /** Entries after `seq`, oldest first; undefined when some of them are no longer kept (or `seq` is from another process). */
  since(seq: number): FeedEntry[] | undefined;
  /** The seq of the latest entry (0 before the first). */
  readonly lastSeq: number;
  readonly subscribers: number;
}

/** A feed keeping the last `history` entries. */
export function createChangeFeed(opts: { history?: number; logger?: StoreLogger; now?: () => Date } = {}): ChangeFeed {
  const history = opts.history ?? DEFAULT_FEED_HISTORY;
  const now = opts.now ?? (() => new Date());
  const listeners = new Set<(entry: FeedEntry) => void>();
  const ring: FeedEntry[] = [];
  let seq = 0;
  return {
    emit(change) {
      const entry: FeedEntry = { seq: ++seq, at: now().toISOString(), ...change };
      ring.push(entry);
      if (ring.length > history) ring.shift();
      for (const listener of listeners) {
        try {
          listener(entry);
        } catch (e) {
          opts.logger?.warn({ err: e }, "change listener failed");
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    since(after) {
      if (after > seq || after < 0) return undefined;
      if (after === seq) return [];
      const first = ring[0];
      if (!first || first.seq > after + 1) return undefined;
      return ring.slice(after + 1 - first.seq);
    },
    get lastSeq() {
      return seq;
    },
    get subscribers() {
      return listeners.size;
    },
  };
}

const HARDWARE_OPS: Record<string, ChangeOp> = { INSERT: "created", UPDATE: "configured", DELETE: "deleted" };

/**
 * Feeds Hardware changes from the store's `wisp_hardware` notifications (a trigger sends one for
 * every change, from this wispd or any other on the same PostgreSQL), so the console sees every
 * Hardware change, the allowPXE toggle of a finished workflow included. Returns the stop function.
 */
export async function feedHardwareNotifications(store: Store, feed: ChangeFeed, logger?: StoreLogger): Promise<() => Promise<void>> {
  return store.listen(HARDWARE_CHANNEL, (payload) => {
    let note: { op?: string; namespace?: string; name?: string };
    try {
      note = JSON.parse(payload) as typeof note;
    } catch {
      logger?.warn({ payload }, "hardware notification unreadable");
      return;
    }
    const op = note.op ? HARDWARE_OPS[note.op] : undefined;
    if (op && note.namespace && note.name) feed.emit({ kind: "Hardware", namespace: note.namespace, name: note.name, op });
  });
}
