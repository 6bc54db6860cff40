import { describe, expect, test } from "bun:test";
import { createMetricsRegistry, METRICS_CONTENT_TYPE } from "../../daemon/lib/metrics.ts";

describe("metrics registry", () => {
  test("counters with labels render in the text format 0.0.4", () => {
    const r = createMetricsRegistry();
    const requests = r.counter("wisp_dhcp_requests_total", "DHCP packets received", ["iface", "type"]);
    requests.labels("eth1", "discover").inc();
    requests.labels("eth1", "discover").inc(2);
    requests.labels("eth1", "request").inc();
    expect(r.render()).toBe(
      [
        "# HELP wisp_dhcp_requests_total DHCP packets received",
        "# TYPE wisp_dhcp_requests_total counter",
        'wisp_dhcp_requests_total{iface="eth1",type="discover"} 3',
        'wisp_dhcp_requests_total{iface="eth1",type="request"} 1',
        "",
      ].join("\n"),
    );
    expect(r.value("wisp_dhcp_requests_total", { iface: "eth1", type: "discover" })).toBe(3);
    expect(r.value("wisp_dhcp_requests_total", { iface: "eth9", type: "discover" })).toBeUndefined();
    expect(METRICS_CONTENT_TYPE).toStartWith("text/plain; version=0.0.4");
  });

  test("the same child comes back for the same labels, so counting allocates nothing new", () => {
    const r = createMetricsRegistry();
    const c = r.counter("x_total", "x", ["a"]);
    expect(c.labels("1")).toBe(c.labels("1"));
    expect(r.counter("x_total", "x", ["a"])).not.toBe(c); // a new handle on the same metric
    r.counter("x_total", "x", ["a"]).labels("1").inc();
    expect(c.labels("1").value).toBe(1);
  });

  test("label values and help text are escaped", () => {
    const r = createMetricsRegistry();
    r.counter("odd_total", 'help with \\ and\nnewline', ["v"]).labels('a"b\\c\nd').inc();
    const text = r.render();
    expect(text).toContain("# HELP odd_total help with \\\\ and\\nnewline\n");
    expect(text).toContain('odd_total{v="a\\"b\\\\c\\nd"} 1\n');
  });

  test("gauges go both ways; gauge functions are read when scraped", () => {
    const r = createMetricsRegistry();
    const g = r.gauge("open_sockets", "sockets").labels();
    g.inc(3);
    g.dec();
    expect(g.value).toBe(2);
    g.set(7);
    let size = 4;
    r.gaugeFunction("wisp_hardware_index_entries", "entries", () => size);
    size = 5;
    const text = r.render();
    expect(text).toContain("# TYPE open_sockets gauge\nopen_sockets 7\n");
    expect(text).toContain("wisp_hardware_index_entries 5\n");
    expect(r.value("wisp_hardware_index_entries")).toBe(5);
  });

  test("histograms have cumulative buckets, +Inf, sum and count", () => {
    const r = createMetricsRegistry();
    const h = r.histogram("d_seconds", "durations", ["iface"], [0.1, 1]).labels("eth0");
    for (const v of [0.05, 0.5, 0.7, 3]) h.observe(v);
    expect(h.count).toBe(4);
    expect(r.render()).toBe(
      [
        "# HELP d_seconds durations",
        "# TYPE d_seconds histogram",
        'd_seconds_bucket{iface="eth0",le="0.1"} 1',
        'd_seconds_bucket{iface="eth0",le="1"} 3',
        'd_seconds_bucket{iface="eth0",le="+Inf"} 4',
        'd_seconds_sum{iface="eth0"} 4.25',
        'd_seconds_count{iface="eth0"} 4',
        "",
      ].join("\n"),
    );
  });

  test("programming errors throw: bad names, shape changes, wrong label count, counters going down", () => {
    const r = createMetricsRegistry();
    expect(() => r.counter("bad-name", "x")).toThrow("not valid");
    expect(() => r.counter("ok_total", "x", ["le"])).toThrow("label name");
    const c = r.counter("ok_total", "x", ["a"]);
    expect(() => r.gauge("ok_total", "x", ["a"])).toThrow("already registered as a counter");
    expect(() => r.counter("ok_total", "x", ["b"])).toThrow("already registered");
    expect(() => c.labels("1", "2")).toThrow("2 label values");
    expect(() => c.labels("1").inc(-1)).toThrow("cannot go down");
  });
});
