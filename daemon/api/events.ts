/**
 * `GET /api/v1/events`: the change feed as server-sent events (text/event-stream), behind the API
 * token like every /api route. Each committed change is one `change` event whose `id` is its
 * place in this wispd's feed; a reader that reconnects with `Last-Event-ID` (or `?since=`) gets
 * what it missed, or a `reset` event when that is no longer kept (wispd restarted, or it was away
 * too long) and must read everything again. A reader that falls behind is cut off rather than
 * buffered without bound; it reconnects and catches up the same way.
 */
import { Elysia, t } from "elysia";
import type { ChangeFeed, FeedEntry } from "../core/changes.ts";
import type { Logger } from "../lib/log.ts";

/** A comment line this often keeps proxies and idle timers from closing a quiet stream. */
export const EVENTS_HEARTBEAT_MS = 15_000;
/** Bytes queued for one reader before it is cut off (it reconnects and is told to reset). */
export const EVENTS_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** What the browser waits before reconnecting (the SSE `retry` field). */
const RETRY_MS = 2_000;

const encoder = new TextEncoder();
/** Bytes the stream holds before it reports back-pressure. */
const QUEUE_HIGH_WATER = 64 * 1024;

function frame(event: string, data: unknown, id?: number): Uint8Array {
  return encoder.encode(`${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Options of the events route. */
export interface EventRoutesOptions {
  feed: ChangeFeed;
  logger: Logger;
  heartbeatMs?: number;
  maxBacklogBytes?: number;
}

/** The events route, mounted under /api/v1. */
export function eventRoutes(opts: EventRoutesOptions) {
  const heartbeatMs = opts.heartbeatMs ?? EVENTS_HEARTBEAT_MS;
  const maxBacklog = opts.maxBacklogBytes ?? EVENTS_MAX_BACKLOG_BYTES;
  const { feed, logger } = opts;
  return new Elysia({ prefix: "/api/v1" }).get(
    "/events",
    ({ request, query, server }) => {
      // A stream stays open for hours; Bun's idle timeout must not end it between heartbeats.
      server?.timeout(request, 0);
      const header = request.headers.get("last-event-id");
      const from = header !== null && /^\d+$/.test(header) ? Number(header) : query.since;
      let stop = () => {};
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          let closed = false;
          let unsubscribe = () => {};
          const heartbeat = setInterval(() => send(encoder.encode(": keep-alive\n\n")), heartbeatMs);
          stop = () => {
            if (closed) return;
            closed = true;
            clearInterval(heartbeat);
            unsubscribe();
          };
          const send = (bytes: Uint8Array) => {
            if (closed) return;
            // Byte-length queuing: desiredSize is the high-water mark less the bytes not yet taken.
            const queued = Math.max(0, QUEUE_HIGH_WATER - (controller.desiredSize ?? 0));
            try {
              if (queued + bytes.length <= maxBacklog) return controller.enqueue(bytes);
              logger.warn({ queued }, "events reader too slow, disconnected");
              stop();
              controller.close();
            } catch {
              // The reader went away between two changes: let go of it.
              stop();
            }
          };
          unsubscribe = feed.subscribe((entry: FeedEntry) => send(frame("change", entry, entry.seq)));
          send(encoder.encode(`retry: ${RETRY_MS}\n\n`));
          const missed = from === undefined ? [] : feed.since(from);
          if (missed === undefined) send(frame("reset", { lastSeq: feed.lastSeq }, feed.lastSeq));
          else for (const entry of missed) send(frame("change", entry, entry.seq));
          send(frame("ready", { lastSeq: feed.lastSeq }));
          request.signal.addEventListener("abort", () => stop());
        },
        cancel() {
          stop();
        },
      }, new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_HIGH_WATER }));
      return new Response(body, {
        headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
      });
    },
    {
      query: t.Object({ since: t.Optional(t.Numeric({ minimum: 0, description: "replay changes after this id (as Last-Event-ID)" })) }),
      detail: {
        summary: "Committed changes as server-sent events (change, reset, ready)",
        responses: {
          200: {
            description: "text/event-stream: `change` events (id, data: seq, at, kind, namespace, name, op, state?, events?, actionId?, lines?)",
            content: { "text/event-stream": { schema: { type: "string" as const } } },
          },
        },
      },
    },
  );
}
