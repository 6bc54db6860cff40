/**
 * Several wispd on one PostgreSQL: each publishes its own feed's changes on the `wisp_changes`
 * channel and feeds the others' into its feed, so a console connected to any of them sees every
 * workflow change. Publishing is batched off the request path (one NOTIFY per 50 ms of changes),
 * so an agent's report still pays no query for it. Bridged entries carry `origin` (the publishing
 * wispd) and no `events` (a reader refetches the object; per-process counters that read events
 * count each change once, where it happened). Hardware is left out: its trigger notifies already.
 */
import { sql } from "drizzle-orm";
import type { Store, StoreLogger } from "../store/open.ts";
import type { Change, ChangeFeed } from "./changes.ts";

/** The NOTIFY channel; payload `{"origin", "changes": [Change without events, ...]}`. */
export const CHANGES_CHANNEL = "wisp_changes";
/** Changes are gathered this long, then published in as few notifications as fit. */
export const PUBLISH_DELAY_MS = 50;
/** PostgreSQL refuses NOTIFY payloads from 8000 bytes on. */
const MAX_PAYLOAD_BYTES = 7_900;

const KINDS = new Set(["Template", "Workflow", "ActionLogs"]);
const OPS = new Set(["created", "configured", "deleted", "state", "lines"]);

/** The change as published: what names the object and what happened, nothing that can grow. */
function slim(c: Change): Change {
  return {
    kind: c.kind,
    namespace: c.namespace,
    name: c.name,
    op: c.op,
    ...(c.state !== undefined ? { state: c.state } : {}),
    ...(c.actionId !== undefined ? { actionId: c.actionId } : {}),
    ...(c.lines !== undefined ? { lines: c.lines } : {}),
  };
}

/** Packs changes into payloads under the size limit (a change alone over it is dropped: names are bounded, so it cannot happen in practice). */
export function changePayloads(origin: string, changes: Change[]): string[] {
  const out: string[] = [];
  let batch: string[] = [];
  const head = `{"origin":${JSON.stringify(origin)},"changes":[`;
  let size = head.length + 2;
  for (const c of changes) {
    const text = JSON.stringify(slim(c));
    if (head.length + 2 + text.length > MAX_PAYLOAD_BYTES) continue;
    if (size + text.length + 1 > MAX_PAYLOAD_BYTES) {
      out.push(`${head}${batch.join(",")}]}`);
      batch = [];
      size = head.length + 2;
    }
    batch.push(text);
    size += text.length + 1;
  }
  if (batch.length) out.push(`${head}${batch.join(",")}]}`);
  return out;
}

/** The changes of another wispd in a payload; anything malformed is left out. */
export function readPayload(payload: string, self: string): Change[] {
  let note: { origin?: unknown; changes?: unknown };
  try {
    note = JSON.parse(payload) as typeof note;
  } catch {
    return [];
  }
  if (typeof note.origin !== "string" || note.origin === self || !Array.isArray(note.changes)) return [];
  const origin = note.origin;
  return note.changes.flatMap((c: Record<string, unknown>) =>
    c && KINDS.has(c.kind as string) && OPS.has(c.op as string) && typeof c.namespace === "string" && typeof c.name === "string"
      ? [{ ...slim(c as unknown as Change), origin }]
      : [],
  );
}

/** Bridges `feed` over the store's NOTIFY (PostgreSQL only; an embedded store has one wispd). Returns the stop function. */
export async function bridgeChanges(store: Store, feed: ChangeFeed, opts: { logger?: StoreLogger; origin?: string } = {}): Promise<() => Promise<void>> {
  if (store.driver !== "postgres") return async () => {};
  const origin = opts.origin ?? crypto.randomUUID();
  let queue: Change[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let publishing: Promise<void> = Promise.resolve();
  const publish = () => {
    timer = undefined;
    const batch = queue;
    queue = [];
    publishing = publishing.then(async () => {
      for (const payload of changePayloads(origin, batch)) {
        try {
          await store.db.execute(sql`select pg_notify(${CHANGES_CHANNEL}, ${payload})`);
        } catch (e) {
          opts.logger?.warn({ err: e }, "change publish failed");
        }
      }
    });
  };
  const unsubscribe = feed.subscribe((entry) => {
    if (entry.origin !== undefined || !KINDS.has(entry.kind)) return;
    queue.push(entry);
    timer ??= setTimeout(publish, PUBLISH_DELAY_MS);
  });
  const unlisten = await store.listen(CHANGES_CHANNEL, (payload) => {
    for (const change of readPayload(payload, origin)) feed.emit(change);
  });
  return async () => {
    unsubscribe();
    if (timer) {
      clearTimeout(timer);
      publish();
    }
    await publishing;
    await unlisten();
  };
}
