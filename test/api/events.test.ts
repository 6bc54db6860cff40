/**
 * GET /api/v1/events in process: the token check of the API, change events with ids, replay
 * after Last-Event-ID, `reset` when the entries are gone, heartbeats, and a reader that does not
 * read being cut off instead of buffered without bound.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { eventRoutes } from "../../daemon/api/events.ts";
import { checkBearer } from "../../daemon/api/token.ts";
import { createChangeFeed, type ChangeFeed } from "../../daemon/core/changes.ts";
import { createLogger } from "../../daemon/lib/log.ts";

const TOKEN = "t0ken";

/** The events route behind the same bearer check as the API, on a real Bun server (port 0). */
function serve(feed: ChangeFeed, opts: { heartbeatMs?: number; maxBacklogBytes?: number } = {}) {
  const app = new Elysia()
    .onBeforeHandle(({ request, set }) => {
      if (!checkBearer(request.headers.get("authorization"), TOKEN)) {
        set.status = 401;
        return { code: "unauthorized" };
      }
    })
    .use(eventRoutes({ feed, logger: createLogger("fatal"), ...opts }))
    .listen({ hostname: "127.0.0.1", port: 0 });
  return { app, url: `http://127.0.0.1:${app.server!.port}/api/v1/events` };
}

interface Frame {
  event: string;
  id?: string;
  data?: unknown;
  comment?: string;
}

/** Reads frames from an SSE body as they come. */
function frames(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(timeoutMs = 10_000): Promise<Frame | undefined> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const at = buffer.indexOf("\n\n");
        if (at >= 0) {
          const text = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const f: Frame = { event: "message" };
          for (const line of text.split("\n")) {
            if (line.startsWith(":")) f.comment = line.slice(1).trim();
            else if (line.startsWith("event: ")) f.event = line.slice(7);
            else if (line.startsWith("id: ")) f.id = line.slice(4);
            else if (line.startsWith("data: ")) f.data = JSON.parse(line.slice(6));
            else if (line.startsWith("retry: ")) f.event = "retry";
          }
          return f;
        }
        const left = end - Date.now();
        if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms; buffered: ${JSON.stringify(buffer)}`);
        const chunk = await Promise.race([reader.read(), Bun.sleep(left).then(() => "timeout" as const)]);
        if (chunk === "timeout") continue;
        if (chunk.done) return undefined;
        buffer += chunk.value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

const open = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

describe("GET /api/v1/events", () => {
  const stops: (() => unknown)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  test("needs the token; streams each change with its id after retry and ready", async () => {
    const feed = createChangeFeed();
    const { app, url } = serve(feed);
    stops.push(() => app.stop(true));
    expect((await fetch(url)).status).toBe(401);

    const res = await open(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const f = frames(res);
    stops.push(() => f.cancel());
    expect(await f.next()).toMatchObject({ event: "retry" });
    expect(await f.next()).toMatchObject({ event: "ready", data: { lastSeq: 0 } });
    feed.emit({ kind: "Workflow", namespace: "default", name: "wf", op: "state", state: "RUNNING" });
    expect(await f.next()).toMatchObject({ event: "change", id: "1", data: { seq: 1, kind: "Workflow", name: "wf", state: "RUNNING" } });
    expect(feed.subscribers).toBe(1);
    await f.cancel();
    // The server lets go of a reader that left.
    const end = Date.now() + 10_000;
    while (feed.subscribers > 0 && Date.now() < end) await Bun.sleep(10);
    expect(feed.subscribers).toBe(0);
  });

  test("Last-Event-ID replays what was missed; an id the feed no longer has gets reset", async () => {
    const feed = createChangeFeed({ history: 2 });
    const { app, url } = serve(feed);
    stops.push(() => app.stop(true));
    for (const name of ["a", "b", "c"]) feed.emit({ kind: "Template", namespace: "default", name, op: "created" });

    const again = frames(await open(url, { "last-event-id": "2" }));
    stops.push(() => again.cancel());
    expect(await again.next()).toMatchObject({ event: "retry" });
    expect(await again.next()).toMatchObject({ event: "change", id: "3", data: { name: "c" } });
    expect(await again.next()).toMatchObject({ event: "ready", data: { lastSeq: 3 } });

    const late = frames(await open(`${url}?since=0`));
    stops.push(() => late.cancel());
    expect(await late.next()).toMatchObject({ event: "retry" });
    expect(await late.next()).toMatchObject({ event: "reset", id: "3", data: { lastSeq: 3 } });
    expect(await late.next()).toMatchObject({ event: "ready" });

    expect((await open(`${url}?since=x`)).ok).toBe(false);
  });

  test("a quiet stream gets heartbeats; a reader that stops reading is cut off, not buffered without bound", async () => {
    const feed = createChangeFeed();
    const { app, url } = serve(feed, { heartbeatMs: 50, maxBacklogBytes: 64 * 1024 });
    stops.push(() => app.stop(true));
    const f = frames(await open(url));
    stops.push(() => f.cancel());
    await f.next();
    await f.next();
    expect(await f.next()).toMatchObject({ comment: "keep-alive" });

    // A reader that never reads: the server's queue grows until the bound, then the stream ends.
    // The first reader keeps reading all along (a reader left idle here would be a second stuck
    // one, and which of the two hit the bound first would be a race), and must survive.
    const seen: string[] = [];
    const reading = (async () => {
      for (;;) {
        const frame = await f.next(30_000).catch(() => undefined);
        if (!frame) return;
        const name = (frame.data as { name?: string } | undefined)?.name;
        if (name) seen.push(name);
      }
    })();
    const stuck = await open(url);
    expect(stuck.status).toBe(200);
    const big = "x".repeat(4096);
    const end = Date.now() + 20_000;
    while (feed.subscribers > 1 && Date.now() < end) {
      feed.emit({ kind: "Template", namespace: "default", name: big, op: "created" });
      await Bun.sleep(1);
    }
    expect(feed.subscribers).toBe(1);
    feed.emit({ kind: "Template", namespace: "default", name: "after", op: "created" });
    const until = Date.now() + 10_000;
    while (!seen.includes("after") && Date.now() < until) await Bun.sleep(10);
    expect(seen).toContain("after");
    await stuck.body?.cancel();
    await f.cancel();
    await reading;
  });
});
