/**
 * /healthz and /readyz over the readiness registry: a listener not yet bound or stopping, and a
 * store that fails or does not answer in time, each make /readyz 503 naming that part.
 */
import { describe, expect, test } from "bun:test";
import { createApi } from "../../daemon/api/server.ts";
import type { Core } from "../../daemon/core/types.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { routeGroup, statusClass } from "../../daemon/ops/http-metrics.ts";
import { createReadiness } from "../../daemon/ops/readiness.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus.ts";

const app = (ping: () => Promise<void>, timeoutMs?: number) => {
  const readiness = createReadiness(ping, timeoutMs);
  const metrics = createMetricsRegistry();
  const api = createApi({ core: {} as Core, token: "secret", logger: silentLogger(), version: "0.0.0", metrics, readiness });
  return { readiness, metrics, get: async (path: string) => api.handle(new Request(`http://wisp${path}`)) };
};

describe("readiness", () => {
  test("not ready until every registered listener is bound; then ready; stopping is not ready again", async () => {
    const a = app(async () => {});
    const http = a.readiness.check("http");
    const tftp = a.readiness.check("tftp");
    let res = await a.get("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", checks: { store: "ok", http: "starting", tftp: "starting" } });
    http.ready("127.0.0.1:7080");
    tftp.ready("0.0.0.0:69");
    res = await a.get("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", checks: { store: "ok", http: "ok 127.0.0.1:7080", tftp: "ok 0.0.0.0:69" } });
    tftp.notReady("stopping");
    res = await a.get("/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.tftp).toBe("stopping");
    // Alive throughout.
    expect((await a.get("/healthz")).status).toBe(200);
  });

  test("a store that fails, or does not answer within the bound, is named", async () => {
    const failing = app(async () => {
      throw new Error("connection refused");
    });
    let res = await failing.get("/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.store).toBe("unreachable: connection refused");

    const hanging = app(() => new Promise<void>(() => {}), 50);
    res = await hanging.get("/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.store).toBe("no answer within 50 ms");
  });

  test("HTTP requests are counted and timed by route group and status class", async () => {
    const a = app(async () => {});
    await a.get("/healthz");
    await a.get("/api/v1/hardware"); // 401: no token
    await a.get("/no/such/path");
    // Elysia runs the after-response hook once the response is handed over: wait for the three (bounded).
    const deadline = performance.now() + 5_000;
    let f = parsePrometheusText(a.metrics.render());
    while ((sampleValue(f, "wisp_http_requests_total", { group: "unmatched" }) ?? 0) < 1 && performance.now() < deadline) {
      await Bun.sleep(5);
      f = parsePrometheusText(a.metrics.render());
    }
    expect(sampleValue(f, "wisp_http_requests_total", { group: "ops", code: "200" })).toBe(1);
    expect(sampleValue(f, "wisp_http_requests_total", { group: "api", code: "401" })).toBe(1);
    expect(sampleValue(f, "wisp_http_requests_total", { group: "unmatched", code: "404" })).toBe(1);
    expect(sampleValue(f, "wisp_http_request_duration_seconds_count", { group: "api", class: "4xx" })).toBe(1);
  });

  test("route groups come from the matched route", () => {
    expect(routeGroup("/ipxe/script/:mac/auto.ipxe")).toBe("boot");
    expect(routeGroup("/ipxe/binary/*")).toBe("boot");
    expect(routeGroup("/artifacts/*")).toBe("artifacts");
    expect(routeGroup("/2009-04-04/*")).toBe("metadata");
    expect(routeGroup("/latest")).toBe("metadata");
    expect(routeGroup("/nocloud/*")).toBe("metadata");
    expect(routeGroup("/metadata")).toBe("metadata");
    expect(routeGroup("/tootles/instanceID/*")).toBe("metadata");
    expect(routeGroup("/api/v1/namespaces/:ns/hardware")).toBe("api");
    expect(routeGroup("/metrics")).toBe("ops");
    expect(routeGroup("/")).toBe("console");
    expect(routeGroup(undefined)).toBe("unmatched");
    expect(statusClass(204)).toBe("2xx");
    expect(statusClass(503)).toBe("5xx");
  });
});
