/**
 * The registry's text against a strict exposition-format 0.0.4 parser (test/support/prometheus.ts),
 * and the parser against texts a scraper must refuse, so a pass means something.
 */
import { describe, expect, test } from "bun:test";
import { COLLECT_TIMEOUT_MS, createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { registerProcessMetrics } from "../../daemon/ops/process-metrics.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus.ts";

describe("exposition format 0.0.4", () => {
  test("every kind, odd label values, process metrics and a collector parse strictly and read back", async () => {
    const r = createMetricsRegistry();
    const stop = registerProcessMetrics(r);
    try {
      r.counter("wisp_x_total", "help with \\ and\nnewline", ["v"]).labels('a"b\\c\nd').inc(2);
      r.gauge("wisp_g", "g", ["a", "b"]).labels("1", "").set(-3.5);
      const h = r.histogram("wisp_h_seconds", "h", ["k"], [0.1, 1]);
      h.labels("x").observe(0.05);
      h.labels("x").observe(5);
      h.labels("y").observe(1);
      const states = r.gauge("wisp_workflows", "by state", ["state"]);
      let calls = 0;
      r.collector("states", async () => {
        calls++;
        states.labels("RUNNING").set(4);
      });
      const text = await r.scrape();
      expect(calls).toBe(1);
      const f = parsePrometheusText(text);
      expect(f.get("wisp_x_total")).toMatchObject({ type: "counter", help: "help with \\ and\nnewline" });
      expect(sampleValue(f, "wisp_x_total", { v: 'a"b\\c\nd' })).toBe(2);
      expect(sampleValue(f, "wisp_g", { a: "1", b: "" })).toBe(-3.5);
      expect(sampleValue(f, "wisp_h_seconds_bucket", { k: "x", le: "0.1" })).toBe(1);
      expect(sampleValue(f, "wisp_h_seconds_bucket", { k: "x", le: "1" })).toBe(1);
      expect(sampleValue(f, "wisp_h_seconds_bucket", { k: "x", le: "+Inf" })).toBe(2);
      expect(sampleValue(f, "wisp_h_seconds_sum", { k: "x" })).toBe(5.05);
      expect(sampleValue(f, "wisp_workflows", { state: "RUNNING" })).toBe(4);
      expect(f.get("process_cpu_seconds_total")!.type).toBe("counter");
      expect(sampleValue(f, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
      expect(sampleValue(f, "process_open_fds")).toBeGreaterThan(2);
      const start = sampleValue(f, "process_start_time_seconds")!;
      expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThan(120);
    } finally {
      stop();
    }
  });

  test("a failing collector keeps the last values and is counted; the scrape goes on", async () => {
    const r = createMetricsRegistry();
    const g = r.gauge("wisp_g", "g").labels();
    g.set(7);
    r.collector("broken", () => {
      throw new Error("store down");
    });
    const f = parsePrometheusText(await r.scrape());
    expect(sampleValue(f, "wisp_g")).toBe(7);
    expect(sampleValue(f, "wisp_metrics_collect_errors_total", { collector: "broken" })).toBe(1);
    expect(COLLECT_TIMEOUT_MS).toBeGreaterThan(0);
  });

  const refused: [string, string, RegExp][] = [
    ["no newline at the end", "a 1", /does not end with a newline/],
    ["a bad escape", 'a{l="x\\t"} 1\n', /bad escape/],
    ["TYPE after samples", "a 1\n# TYPE a gauge\n", /after its samples/],
    ["TYPE twice", "# TYPE a gauge\n# TYPE a gauge\na 1\n", /second TYPE/],
    ["samples split", "# TYPE a gauge\na{x=\"1\"} 1\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n", /not together/],
    ["a series twice", "a 1\na 2\n", /appears twice/],
    ["a negative counter", "# TYPE a_total counter\na_total -1\n", /counter a_total is -1/],
    ["no +Inf bucket", '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no le="\+Inf" bucket/],
    ["non-cumulative buckets", '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ["+Inf not _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', /is not _count/],
    ["no _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\n', /_count missing/],
    ["a value that is no float", "a 1,5\n", /not a float/],
    ["two spaces", "a  1\n", /single space/],
  ];
  for (const [what, text, error] of refused) {
    test(`the parser refuses ${what}`, () => {
      expect(() => parsePrometheusText(text)).toThrow(error);
    });
  }
});
