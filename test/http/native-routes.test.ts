/**
 * Routes on Bun.serve's own router (daemon/http/native-routes.ts): they count and time requests
 * as Elysia's hooks do for every other route, log the debug line, and turn a throw into the API's
 * 500; tried through a real Bun.serve on a free loopback port.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { nativeRoute, pathOf, type NativeHandler, type NativeRoutes } from "../../daemon/http/native-routes.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { httpMetrics } from "../../daemon/ops/http-metrics.ts";

describe("native routes", () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const metrics = createMetricsRegistry();
  const deps = { http: httpMetrics(metrics), logger };
  let server: ReturnType<typeof Bun.serve>;
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  beforeAll(() => {
    const route = (pattern: string, handle: NativeHandler) => {
      const h = nativeRoute(pattern, handle, deps);
      return { GET: h, HEAD: h };
    };
    const routes: NativeRoutes = {
      "/ipxe/script/:mac/auto.ipxe": route("/ipxe/script/:mac/auto.ipxe", (req, srv) => new Response(`${req.params?.mac} from ${srv.requestIP(req)?.address}`)),
      "/ipxe/script/auto.ipxe": route("/ipxe/script/auto.ipxe", async () => new Response("later", { status: 404 })),
      "/ipxe/script/throws/auto.ipxe": route("/ipxe/script/throws/auto.ipxe", () => {
        throw new Error("handler bug");
      }),
      "/ipxe/script/rejects/auto.ipxe": route("/ipxe/script/rejects/auto.ipxe", async () => {
        throw new Error("async handler bug");
      }),
    };
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, routes, fetch: () => new Response("fallback", { status: 418 }) });
  });
  afterAll(() => server?.stop(true));

  test("a response, synchronous or not, is counted by route group and status, timed, and logged at debug", async () => {
    const r = await fetch(url("/ipxe/script/52%3A54%3A00%3A00%3A00%3A01/auto.ipxe?x=1"));
    expect([r.status, await r.text()]).toEqual([200, "52:54:00:00:00:01 from 127.0.0.1"]);
    const later = await fetch(url("/ipxe/script/auto.ipxe"));
    expect([later.status, await later.text()]).toEqual([404, "later"]);
    expect(metrics.value("wisp_http_requests_total", { group: "boot", code: "200" })).toBe(1);
    expect(metrics.value("wisp_http_requests_total", { group: "boot", code: "404" })).toBe(1);
    expect(metrics.render()).toContain('wisp_http_request_duration_seconds_count{group="boot",class="2xx"} 1\n');
    expect(lines.filter((l) => l.msg === "http request").map((l) => [l.method, l.path, l.status])).toEqual([
      ["GET", "/ipxe/script/52%3A54%3A00%3A00%3A00%3A01/auto.ipxe", 200],
      ["GET", "/ipxe/script/auto.ipxe", 404],
    ]);
  });

  test("a throw or a rejection is the API's 500, logged with the path and counted", async () => {
    for (const path of ["/ipxe/script/throws/auto.ipxe", "/ipxe/script/rejects/auto.ipxe"]) {
      const r = await fetch(url(path));
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ code: "internal", message: "internal error; see the wispd log" });
      expect(lines.find((l) => l.msg === "request failed" && l.path === path)).toMatchObject({ level: 50, err: { message: expect.stringContaining("handler bug") } });
    }
    expect(metrics.value("wisp_http_requests_total", { group: "boot", code: "500" })).toBe(2);
  });

  test("HEAD gets GET's headers and no body; other methods fall through to the rest of the server", async () => {
    const head = await fetch(url("/ipxe/script/aa/auto.ipxe"), { method: "HEAD" });
    expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, String("aa from 127.0.0.1".length), ""]);
    expect((await fetch(url("/ipxe/script/aa/auto.ipxe"), { method: "POST" })).status).toBe(418);
  });
});

test("pathOf: the path of a request URL without its query", () => {
  expect(pathOf("http://127.0.0.1:8080/ipxe/script/auto.ipxe")).toBe("/ipxe/script/auto.ipxe");
  expect(pathOf("http://[::1]:8080/a/b?c=/d")).toBe("/a/b");
  expect(pathOf("http://host")).toBe("/");
  expect(pathOf("http://host/")).toBe("/");
});
