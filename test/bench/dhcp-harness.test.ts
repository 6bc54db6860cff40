/**
 * The DHCP benchmark harness without servers: the three configurations and perfdhcp's MAC list
 * describe the same hosts; perfdhcp's report, /proc text and the rate search parse and decide as
 * the run needs. (The run itself needs root, namespaces and the Debian packages: bench/dhcp/run.ts.)
 */
import { describe, expect, test } from "bun:test";
import { benchHosts, benchNetwork, dnsmasqConfig, hardwareYaml, keaConfig, macList, RELAY_IP } from "../../bench/dhcp/config.ts";
import { doraOutcome, parsePerfdhcp, percentile, perfdhcpArgv } from "../../bench/dhcp/perfdhcp.ts";
import { parseCpuTicks, parseProcStatTicks, parseUdpCounters, runQueueWait, runQueueWaitDelta } from "../../bench/dhcp/proc.ts";
import { ramp, type StepOutcome } from "../../bench/dhcp/ramp.ts";
import { commonRate, resultTables, type RunRecord, type ServerResult, type Step } from "../../bench/dhcp/report.ts";
import { topologyNames } from "../../bench/dhcp/netns.ts";
import { parseManifests } from "../../daemon/manifest/parse.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";

const N = 10_000;
const hosts = benchHosts(N);
const net = benchNetwork();
const ipValue = (ip: string) => {
  const r = parseIpv4(ip);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe("hosts", () => {
  test("deterministic, unique MACs and addresses, all inside the client network and off its edges", () => {
    expect(benchHosts(N)).toEqual(hosts);
    expect(new Set(hosts.map((h) => h.mac)).size).toBe(N);
    expect(new Set(hosts.map((h) => h.ip)).size).toBe(N);
    expect(new Set(hosts.map((h) => h.name)).size).toBe(N);
    const network = ipValue("10.77.0.0");
    for (const h of hosts) {
      expect(h.mac).toMatch(/^02:77(:[0-9a-f]{2}){4}$/);
      const ip = ipValue(h.ip);
      expect((ip & 0xffff0000) >>> 0).toBe(network);
      expect([0, 255]).not.toContain(ip & 255);
      expect(h.ip).not.toBe(RELAY_IP);
    }
    // A smaller run is a prefix of a larger one (same MACs and addresses), so results compare.
    expect(benchHosts(3).map((h) => [h.mac, h.ip])).toEqual(hosts.slice(0, 3).map((h) => [h.mac, h.ip]));
    expect(() => benchHosts(0)).toThrow(RangeError);
  });

  test("perfdhcp's MAC list is the hosts' MACs, one a line", () => {
    expect(macList(hosts).trimEnd().split("\n")).toEqual(hosts.map((h) => h.mac));
  });
});

describe("server configurations hold the same reservations", () => {
  const expected = new Map(hosts.map((h) => [h.mac, h.ip]));

  test("Kea: one subnet on the server interface, every host reserved by hw-address, no pool", () => {
    const conf = keaConfig(hosts, net, { iface: "wbs-x", leaseFile: "/tmp/l.csv", logFile: "/tmp/k.log" }) as {
      Dhcp4: { "interfaces-config": { interfaces: string[] }; subnet4: { subnet: string; pools?: unknown; reservations: { "hw-address": string; "ip-address": string }[] }[] };
    };
    // JSON round trip: what is written to the file is what is checked.
    const d = (JSON.parse(JSON.stringify(conf)) as typeof conf).Dhcp4;
    expect(d["interfaces-config"].interfaces).toEqual(["wbs-x"]);
    expect(d.subnet4).toHaveLength(1);
    expect(d.subnet4[0]!.subnet).toBe("10.77.0.0/16");
    expect(d.subnet4[0]!.pools).toBeUndefined();
    const got = new Map(d.subnet4[0]!.reservations.map((r) => [r["hw-address"], r["ip-address"]]));
    expect(got).toEqual(expected);
  });

  test("dnsmasq: DHCP only, a static range, one dhcp-host per host, lease limit above the count", () => {
    const lines = dnsmasqConfig(hosts, net, { iface: "wbs-x", logFile: "/tmp/d.log" });
    expect(lines).toContain("port=0");
    expect(lines).toContain("interface=wbs-x");
    expect(lines.find((l) => l.startsWith("dhcp-range="))).toMatch(/^dhcp-range=10\.77\.0\.0,static,255\.255\.0\.0,/);
    expect(Number(lines.find((l) => l.startsWith("dhcp-lease-max="))!.split("=")[1])).toBeGreaterThanOrEqual(N);
    const got = new Map(
      lines.filter((l) => l.startsWith("dhcp-host=")).map((l) => {
        const [mac, ip] = l.slice("dhcp-host=".length).split(",");
        return [mac!, ip!];
      }),
    );
    expect(got).toEqual(expected);
  });

  test("wispd: the Hardware manifests parse and validate with the same MAC, address and gateway", () => {
    const parsed = parseManifests(hardwareYaml(hosts, net), "hardware.yaml");
    expect(parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.manifests).toHaveLength(N);
    const got = new Map<string, string>();
    for (const { object } of parsed.manifests) {
      expect(object.kind).toBe("Hardware");
      if (object.kind !== "Hardware") continue;
      const dhcp = object.spec.interfaces![0]!.dhcp!;
      expect(dhcp.ip!.netmask).toBe("255.255.0.0");
      expect(dhcp.ip!.gateway).toBe(RELAY_IP);
      got.set(dhcp.mac!, dhcp.ip!.address!);
    }
    expect(got).toEqual(expected);
  });
});

// A real perfdhcp 2.2.0 report (-x t, trimmed to two timestamps per stage).
const REPORT = `Running: perfdhcp -4 -M macs.txt -l 10.77.0.1 -n 5 -r 10 -W 500000 -x t 10.76.0.1
Scenario: basic.
***Rate statistics***
Rate: 4.99557 4-way exchanges/second, expected rate: 10

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 5
received packets: 5
drops: 0
drops ratio: 0 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.287 ms
avg delay: 0.365 ms
max delay: 0.460 ms
std deviation: 0.077 ms
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 5
received packets: 4
drops: 1
drops ratio: 20.000 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.155 ms
avg delay: 0.178 ms
max delay: 0.218 ms
std deviation: 0.024 ms
collected packets: 0

***Timestamps for packets: DISCOVER-OFFER***
sent / received: 000000.000112 / 000000.000434
sent / received: 000000.200201 / 000000.200488

***Timestamps for packets: REQUEST-ACK***
sent / received: 000000.000490 / 000000.000659
sent / received: 000000.200642 / 000000.200860
`;

describe("perfdhcp", () => {
  test("argv: relay address bound, MAC list, rate, period, single thread; timestamps on request", () => {
    const argv = perfdhcpArgv({ server: "10.76.0.1", relayIp: "10.77.0.1", macFile: "/m", rate: 500, periodSeconds: 10, exitWaitUs: 300000, timestamps: true });
    expect(argv.join(" ")).toBe("perfdhcp -4 -g single -M /m -l 10.77.0.1 -r 500 -p 10 -W 300000 -x t 10.76.0.1");
  });

  test("the report parses into stages, percentiles and the DORA outcome", () => {
    const r = parsePerfdhcp(REPORT);
    expect(r.discoverOffer).toEqual({ sent: 5, received: 5, drops: 0, orphans: 0, minMs: 0.287, avgMs: 0.365, maxMs: 0.46, stdMs: 0.077 });
    expect(r.requestAck.received).toBe(4);
    expect(r.percentiles?.discoverOffer?.count).toBe(2);
    expect(r.percentiles?.discoverOffer?.p99).toBeCloseTo(0.322, 6);
    expect(r.percentiles?.requestAck?.p50).toBeCloseTo(0.169, 6);
    expect(doraOutcome(r)).toEqual({ started: 5, completed: 4, lossRatio: 0.2 });
  });

  test("a report with no answers has no delays and loses everything", () => {
    const r = parsePerfdhcp("***Statistics for: DISCOVER-OFFER***\nsent packets: 5\nreceived packets: 0\ndrops: 5\n\nmin delay: inf ms\navg delay: min delay: n/a\navg delay: n/a\n");
    expect(r.discoverOffer.avgMs).toBeUndefined();
    expect(doraOutcome(r).lossRatio).toBe(1);
  });

  test("nearest-rank percentiles", () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(v, 50), percentile(v, 99), percentile(v, 100), percentile([7], 1)]).toEqual([50, 99, 100, 7]);
  });
});

describe("/proc", () => {
  test("run-queue wait: summed over the threads alive at the second reading, so an ended thread cannot make it negative", () => {
    const before = new Map([["1", 2.0], ["2", 5.0]]);
    const after = new Map([["1", 2.5], ["3", 0.25]]); // thread 2 ended, thread 3 started
    expect(runQueueWaitDelta(before, after)).toBeCloseTo(0.75, 9);
    const self = runQueueWait(process.pid);
    expect(self.has(String(process.pid))).toBe(true);
    expect([...self.values()].every((s) => Number.isFinite(s) && s >= 0)).toBe(true);
  });

  test("utime + stime survive a command name with spaces and parentheses", () => {
    const stat = "1234 (bun (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 7 0 500 1000 100";
    expect(parseProcStatTicks(stat)).toBe(287);
  });

  test("per-CPU busy ticks and the UDP counters", () => {
    const cpus = parseCpuTicks("cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 10 0 5 80 5 0 0 0 0 0\ncpu1 1 1 1 1 1 1 1 1 0 0\n");
    expect(cpus.get(0)).toEqual({ busy: 15, total: 100 });
    expect(cpus.get(1)).toEqual({ busy: 6, total: 8 });
    const udp = parseUdpCounters(
      "Ip: Forwarding\nIp: 1\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 247796 5 6561 247791 6561 0\nUdpLite: InDatagrams\nUdpLite: 0\n",
    );
    expect(udp).toEqual({ inDatagrams: 247796, outDatagrams: 247791, rcvbufErrors: 6561, inErrors: 6561 });
  });

  test("namespace and interface names are unique per run, one link per server, and fit IFNAMSIZ", () => {
    const servers = ["wispd", "kea", "dnsmasq"];
    const a = topologyNames(servers);
    const b = topologyNames(servers);
    expect(a.generatorNs).not.toBe(b.generatorNs);
    const links = Object.values(a.links);
    expect(Object.keys(a.links)).toEqual(servers);
    expect(new Set(links.map((l) => l.serverNs)).size).toBe(3);
    expect(new Set(links.map((l) => l.serverIp)).size).toBe(3);
    for (const l of links) {
      expect(l.serverIface.length).toBeLessThanOrEqual(15);
      expect(l.generatorIface.length).toBeLessThanOrEqual(15);
    }
  });
});

/** A fake server that completes everything up to `capacity` DORA/s and a generator that tops out at `generator`. */
function fakeMeasure(capacity: number, generator = Infinity) {
  const asked: number[] = [];
  const measure = async (rate: number): Promise<StepOutcome> => {
    asked.push(rate);
    const offered = Math.min(rate, generator);
    const done = Math.min(offered, capacity);
    return { targetRate: rate, offeredRate: offered, doraPerSecond: done, lossRatio: (offered - done) / offered };
  };
  return { asked, measure };
}

describe("rate search", () => {
  const plan = { startRate: 500, maxRate: 64_000, refineSteps: 3, minRate: 50, retries: 0 };

  test("doubles until the server loses exchanges, then bisects", async () => {
    const f = fakeMeasure(3_000);
    const r = await ramp(plan, f.measure);
    expect(f.asked).toEqual([500, 1000, 2000, 4000, 3000, 3500, 3250]);
    expect(r.limit).toBe("server");
    expect(r.best?.doraPerSecond).toBe(3000);
  });

  test("stops when the generator cannot offer the rate, with the best passing step", async () => {
    const f = fakeMeasure(1e9, 5_000);
    const r = await ramp(plan, f.measure);
    expect(f.asked).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(r.limit).toBe("generator");
    expect(r.best?.doraPerSecond).toBe(5000);
  });

  test("halves when even the start rate fails, and stops at the cap", async () => {
    const slow = fakeMeasure(200);
    const r = await ramp({ ...plan, refineSteps: 1 }, slow.measure);
    expect(slow.asked).toEqual([500, 250, 130, 190]);
    expect(r.best?.targetRate).toBe(190);
    const capped = fakeMeasure(1e9);
    expect((await ramp({ ...plan, maxRate: 1500 }, capped.measure)).limit).toBe("max-rate");
    expect(capped.asked).toEqual([500, 1000, 1500]);
  });

  test("a failing rate is measured again, and the second measurement decides", async () => {
    let calls = 0;
    // Fails the first time at 2000 only (a moment of other load), then at 8000 for good.
    const r = await ramp({ ...plan, retries: 1, refineSteps: 0 }, async (rate) => {
      const bad = (rate === 2000 && calls++ === 0) || rate >= 8000;
      return { targetRate: rate, offeredRate: rate, doraPerSecond: bad ? rate * 0.9 : rate, lossRatio: bad ? 0.1 : 0 };
    });
    expect(r.steps.map((s) => s.targetRate)).toEqual([500, 1000, 2000, 2000, 4000, 8000, 8000]);
    expect(r.best?.targetRate).toBe(4000);
    expect(r.limit).toBe("server");
  });
});

function step(rate: number, cpu: number, loss = 0): Step {
  return {
    targetRate: rate,
    offeredRate: rate,
    doraPerSecond: rate * (1 - loss),
    lossRatio: loss,
    periodSeconds: 10,
    wallSeconds: 10.3,
    started: rate * 10,
    completed: rate * 10 * (1 - loss),
    discoverOffer: { sent: rate * 10, received: rate * 10, avgMs: 0.3 },
    requestAck: { sent: rate * 10, received: rate * 10, avgMs: 0.2 },
    doraAvgMs: 0.5,
    serverCpuSeconds: (cpu * rate * 10) / 1e6,
    serverCpuUsPerDora: cpu,
    generatorCpuSeconds: 1,
    generatorCpuUsPerDora: 50,
    serverCoreBusy: 0.5,
    generatorCoreBusy: 0.5,
    serverRcvbufErrors: 0,
    generatorRcvbufErrors: 0,
  };
}

describe("report", () => {
  const servers: ServerResult[] = [
    { name: "wispd", version: "0.1.0", setupSeconds: 1, readySeconds: 1, steps: [step(500, 40), step(1000, 30), step(2000, 25)], limit: "generator" },
    { name: "kea", version: "2.2.0", setupSeconds: 1, readySeconds: 1, steps: [step(500, 200), step(1000, 150), step(2000, 140, 0.01)], limit: "server" },
  ];
  servers[0]!.best = servers[0]!.steps[2];
  servers[1]!.best = servers[1]!.steps[1];

  test("the common rate is the highest every server passed", () => {
    const c = commonRate(servers);
    expect(c?.rate).toBe(1000);
    expect(c?.steps.get("kea")?.serverCpuUsPerDora).toBe(150);
  });

  test("tables carry the run's figures and the ratios", () => {
    const record = { servers, latencyRate: 1000 } as RunRecord;
    const md = resultTables(record);
    expect(md).toContain("| wispd | 0.1.0 | 2000 | generator: offered 2000 of 2000/s |");
    expect(md).toContain("| highest DORA/s | 2.00 |");
    expect(md).toContain("| server CPU per DORA, all at 1000/s | 0.20 |");
    expect(md).toContain("server: 1.00 % lost at 2000/s");
  });

  test("a rate that failed, then passed when measured again, is not what stopped the server", () => {
    const retried: ServerResult = { ...servers[1]!, steps: [step(500, 200), step(1000, 150, 0.05), step(1000, 150), step(2000, 140, 0.02)], idleCpuShare: 0.01 };
    retried.best = retried.steps[2];
    const md = resultTables({ servers: [retried], latencyRate: 1000 } as RunRecord);
    expect(md).toContain("server: 2.00 % lost at 2000/s");
    // 150 µs/DORA over 10.3 s at 1000/s, less 1 % of a CPU over the same time.
    expect(md).toContain("| 150 | 140 | 15 % (1.0 %) |");
  });

  test("stopped by the server names whose receive buffer overflowed at the failing rate", () => {
    const lost = (gen: number, srv: number): ServerResult => {
      const fail = { ...step(2000, 140, 0.02), generatorRcvbufErrors: gen, serverRcvbufErrors: srv };
      return { ...servers[1]!, steps: [step(500, 200), step(1000, 150), fail], best: undefined };
    };
    expect(resultTables({ servers: [lost(1730, 0)], latencyRate: 1000 } as RunRecord)).toContain("server: 2.00 % lost at 2000/s (dropped by perfdhcp's receive buffer: 1730, the server's: 0)");
    expect(resultTables({ servers: [lost(0, 796)], latencyRate: 1000 } as RunRecord)).toContain("server: 2.00 % lost at 2000/s (dropped by the server's receive buffer: 796)");
  });
});
