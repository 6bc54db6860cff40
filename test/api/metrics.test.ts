import { describe, expect, test } from "bun:test";
import { createApi } from "../../daemon/api/server.ts";
import type { Core } from "../../daemon/core/types.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { silentLogger } from "../../daemon/lib/log.ts";

describe("GET /metrics", () => {
  test("serves the registry in the Prometheus text format without a token", async () => {
    const metrics = createMetricsRegistry();
    metrics.counter("wisp_dhcp_drops_total", "drops", ["iface", "reason"]).labels("eth1", "unknown-mac").inc(3);
    // /metrics reads only the registry; the core is never touched.
    const app = createApi({ core: {} as Core, token: "secret", logger: silentLogger(), version: "0.0.0", metrics });
    const res = await app.handle(new Request("http://wisp/metrics"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toContain('wisp_dhcp_drops_total{iface="eth1",reason="unknown-mac"} 3\n');
  });

  test("is not in the OpenAPI document, like the health endpoints", async () => {
    const app = createApi({ core: {} as Core, token: "secret", logger: silentLogger(), version: "0.0.0" });
    const doc = (await (await app.handle(new Request("http://wisp/api/v1/openapi.json"))).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain("/metrics");
    expect((await app.handle(new Request("http://wisp/metrics"))).status).toBe(200);
  });
});
