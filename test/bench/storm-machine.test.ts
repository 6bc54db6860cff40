/**
 * The boot storm's pure parts: the machine's state machine over a fake network (back-off
 * schedules, retries, stage order, failures naming their stage), the relay's messages, the
 * script reading, the report's maths, the size and arrival options, and the SVG chart.
 */
import { describe, expect, test } from "bun:test";
import { decodeDhcp, dhcpPacket, encodeDhcp } from "../../daemon/dhcp/codec.ts";
import { getOption, setOption } from "../../daemon/dhcp/options.ts";
import { ipxeScript } from "../../daemon/http/ipxe-script.ts";
import { formatIpv4 } from "../../daemon/wire/address.ts";
import { arrivalMs } from "../../bench/storm/client.ts";
import { bootMachine, HTTP_RETRY_DELAY_MS, IPXE_BACKOFF_MS, PXE_BACKOFF_MS, scriptUrls, STAGES, STATIC_STAGES, withBackoff, type BootPlan, type DhcpAnswer, type MachineIo, type MachineSpec } from "../../bench/storm/machine.ts";
import { clientMessage, readAnswer, xidFor } from "../../bench/storm/relay.ts";
import { completionCurve, failureSummary, percentile, stageSummaries, stormFigures, transferBound } from "../../bench/storm/report.ts";
import { stormMarkdown, type ServerRun, type StormRun } from "../../bench/storm/record.ts";
import { waitBetween } from "../../bench/storm/measure.ts";
import { defaultLabel, parseArrival, parseSize, parseStore } from "../../bench/storm/run.ts";
import { lineChart, niceMax } from "../../bench/support/svg.ts";
import { dhcpRows } from "../../bench/summary.ts";

const M: MachineSpec = { index: 7, name: "bench-07", mac: "02:77:00:00:00:07", ip: "10.77.1.8" };
const SCRIPT = "#!ipxe\nset base-url http://10.76.0.1:7080/artifacts\nset arch x86_64\nkernel ${base-url}/vmlinuz-${arch} initrd=initramfs-${arch} console=ttyS0\ninitrd ${base-url}/initramfs-${arch}\nboot\n";
const PLAN: BootPlan = { stages: STAGES, pxeBackoffMs: PXE_BACKOFF_MS, ipxeBackoffMs: IPXE_BACKOFF_MS, httpTries: 6, httpRetryDelayMs: HTTP_RETRY_DELAY_MS, ipxeBytes: 100, kernelBytes: 1000, initrdBytes: 5000, actions: 3 };

/** A network that answers everything right, with hooks to break one part; time is a counter. */
function fakeIo(over: Partial<MachineIo> = {}): MachineIo & { log: string[]; timeouts: number[]; sleeps: number[] } {
  let clock = 0;
  const log: string[] = [];
  const timeouts: number[] = [];
  const sleeps: number[] = [];
  const io: MachineIo = {
    async dhcp(m, as, offer, _attempt, timeoutMs) {
      timeouts.push(timeoutMs);
      log.push(`dhcp-${as}-${offer ? "request" : "discover"}`);
      clock += 1;
      return { messageType: offer ? 5 : 2, yiaddr: m.ip, serverId: "10.76.0.1", siaddr: "10.76.0.1", file: as === "pxe" ? "undionly.kpxe" : "http://10.76.0.1:7080/ipxe/script/m/auto.ipxe" };
    },
    async tftp(_m, server, file) {
      log.push(`tftp ${server} ${file}`);
      clock += 10;
      return { bytes: 100 };
    },
    async http(_m, url) {
      log.push(`GET ${url}`);
      clock += 5;
      if (url.endsWith("auto.ipxe")) return { status: 200, bytes: SCRIPT.length, text: SCRIPT };
      if (url.endsWith("/hostname")) return { status: 200, bytes: 8, text: "bench-07" };
      return { status: 200, bytes: url.includes("vmlinuz") ? 1000 : 5000 };
    },
    async agent(_m, actions) {
      log.push(`agent ${actions}`);
      return { succeeded: actions };
    },
    async sleep(ms) {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    ...over,
  };
  return Object.assign(io, { log, timeouts, sleeps });
}

describe("withBackoff", () => {
  test("tries once per timeout until a value comes, and counts the attempts", async () => {
    const seen: number[] = [];
    const r = await withBackoff([4, 8, 16, 32], async (t, n) => (seen.push(t), n === 2 ? "ok" : undefined));
    expect(r).toEqual({ value: "ok", attempts: 3 });
    expect(seen).toEqual([4, 8, 16]);
  });
  test("gives up after the last timeout", async () => {
    expect(await withBackoff([1, 2], async () => undefined)).toEqual({ attempts: 2 });
  });
});

describe("bootMachine", () => {
  test("a machine goes through every stage in boot order and counts the bytes", async () => {
    const io = fakeIo();
    const rec = await bootMachine(M, io, PLAN, 0);
    expect(rec.ok).toBe(true);
    expect(rec.error).toBeUndefined();
    expect(io.log).toEqual([
      "dhcp-pxe-discover", "dhcp-pxe-request", "tftp 10.76.0.1 undionly.kpxe", "dhcp-ipxe-discover", "dhcp-ipxe-request",
      "GET http://10.76.0.1:7080/ipxe/script/m/auto.ipxe", "GET http://10.76.0.1:7080/artifacts/vmlinuz-x86_64", "GET http://10.76.0.1:7080/artifacts/initramfs-x86_64",
      "GET http://10.76.0.1:7080/2009-04-04/meta-data/hostname", "agent 3",
    ]);
    expect(Object.keys(rec.stageMs)).toEqual([...STAGES]);
    expect(rec.bytes).toBe(100 + SCRIPT.length + 1000 + 5000 + 8);
    expect(rec.retransmits).toBe(0);
    expect(rec.endMs).toBeGreaterThan(rec.startMs);
  });

  test("the static stages stop after the initrd", async () => {
    const io = fakeIo();
    const rec = await bootMachine(M, io, { ...PLAN, stages: STATIC_STAGES }, 0);
    expect(rec.ok).toBe(true);
    expect(io.log.at(-1)).toBe("GET http://10.76.0.1:7080/artifacts/initramfs-x86_64");
  });

  test("a lost OFFER is asked for again after the PXE ROM's 4 then 8 s", async () => {
    let discovers = 0;
    const base = fakeIo();
    const io = fakeIo({ dhcp: (m, as, offer, n, t) => (!offer && as === "pxe" && ++discovers < 3 ? (base.timeouts.push(t), Promise.resolve(undefined)) : base.dhcp(m, as, offer, n, t)) });
    const rec = await bootMachine(M, io, PLAN, 0);
    expect(rec.ok).toBe(true);
    expect(rec.retransmits).toBe(2);
    expect(base.timeouts.slice(0, 3)).toEqual([4_000, 8_000, 16_000]);
  });

  test("no answer at all fails the machine at dhcp-pxe after four DISCOVERs", async () => {
    const io = fakeIo({ dhcp: async () => undefined });
    const rec = await bootMachine(M, io, PLAN, 0);
    expect(rec).toMatchObject({ ok: false, failedStage: "dhcp-pxe", error: "no DHCPOFFER after 4 DISCOVERs", retransmits: 3 });
  });

  test("an ACK with another address than the reservation fails", async () => {
    const base = fakeIo();
    const io = fakeIo({ dhcp: async (m, as, offer, n, t) => ({ ...(await base.dhcp(m, as, offer, n, t))!, yiaddr: "10.77.9.9" }) });
    const rec = await bootMachine(M, io, PLAN, 0);
    expect(rec).toMatchObject({ ok: false, failedStage: "dhcp-pxe", error: "DHCPACK gave 10.77.9.9, reserved 10.77.1.8" });
  });

  test("iPXE offered a binary instead of a script URL fails at dhcp-ipxe", async () => {
    const base = fakeIo();
    const io = fakeIo({ dhcp: async (m, _as, offer, n, t) => base.dhcp(m, "pxe", offer, n, t) });
    const rec = await bootMachine(M, io, PLAN, 0);
    expect(rec).toMatchObject({ ok: false, failedStage: "dhcp-ipxe" });
    expect(rec.error).toContain("not a script URL");
  });

  test("a TFTP error or a short file fails at tftp", async () => {
    const failed = await bootMachine(M, fakeIo({ tftp: async () => ({ bytes: 0, error: "server busy (code 0)" }) }), PLAN, 0);
    expect(failed).toMatchObject({ ok: false, failedStage: "tftp", error: "TFTP undionly.kpxe from 10.76.0.1: server busy (code 0)" });
    const short = await bootMachine(M, fakeIo({ tftp: async () => ({ bytes: 99 }) }), PLAN, 0);
    expect(short).toMatchObject({ ok: false, failedStage: "tftp", error: "TFTP undionly.kpxe: 99 bytes, expected 100" });
  });

  test("HTTP errors are tried again 2 s apart, as Wisp's script does; six failures fail the stage", async () => {
    let kernelTries = 0;
    const base = fakeIo();
    const io = fakeIo({ http: (m, url, t) => (url.includes("vmlinuz") && ++kernelTries <= 2 ? Promise.reject(new Error("connection reset")) : base.http(m, url, t)) });
    const rec = await bootMachine(M, io, PLAN, 0);
    expect(rec.ok).toBe(true);
    expect(rec.retransmits).toBe(2);
    expect(io.sleeps).toEqual([2_000, 2_000]);

    const always = fakeIo({ http: async (_m, url) => (url.includes("initramfs") ? { status: 200, bytes: 4999 } : base.http(_m, url, false)) });
    const bad = await bootMachine(M, always, PLAN, 0);
    expect(bad).toMatchObject({ ok: false, failedStage: "initrd" });
    expect(bad.error).toContain("4999 bytes, expected 5000 (6 tries)");
  });

  test("metadata must name the machine, and every action must succeed", async () => {
    const base = fakeIo();
    const wrongName = await bootMachine(M, fakeIo({ http: async (m, url, t) => (url.endsWith("/hostname") ? { status: 200, bytes: 5, text: "other" } : base.http(m, url, t)) }), PLAN, 0);
    expect(wrongName).toMatchObject({ ok: false, failedStage: "metadata", error: 'metadata hostname "other", expected "bench-07"' });
    const agent = await bootMachine(M, fakeIo({ agent: async () => ({ succeeded: 1, error: "deadline" }) }), PLAN, 0);
    expect(agent).toMatchObject({ ok: false, failedStage: "agent", error: "1 of 3 actions succeeded: deadline" });
  });
});

describe("scriptUrls", () => {
  test("reads the kernel and initrd of Wisp's own Hook script, settings expanded", () => {
    const out = ipxeScript({ mac: M.mac, namespace: "storm", hardwareName: M.name, allowPXE: true, arch: "x86_64" }, {}, { publicIp: "10.76.0.1", httpPort: 7080, grpcPort: 42113, mode: "reservation", userClass: "Wisp" });
    if (out.kind !== "script") throw new Error(out.message);
    expect(scriptUrls(out.text)).toEqual({ kernel: "http://10.76.0.1:7080/artifacts/vmlinuz-x86_64", initrd: "http://10.76.0.1:7080/artifacts/initramfs-x86_64" });
  });
  test("a script without them gives neither", () => {
    expect(scriptUrls("#!ipxe\necho hi\nexit 1\n")).toEqual({});
  });
});

describe("relay messages", () => {
  test("a relayed DISCOVER as a PXE ROM, and a REQUEST as iPXE naming the offer", () => {
    const d = decodeDhcp(clientMessage(M, "pxe", undefined, 2, "10.77.0.1", 3));
    if (!d.ok) throw new Error(d.error);
    expect(d.value).toMatchObject({ op: 1, hops: 1, xid: xidFor(7, "pxe", 2, false), secs: 3 });
    expect(formatIpv4(d.value.giaddr)).toBe("10.77.0.1");
    expect(getOption(d.value, 53)).toBe(1);
    expect(getOption(d.value, 60)).toBe("PXEClient:Arch:00000:UNDI:002001");
    expect(d.value.options.has(77)).toBe(false);

    const offer: DhcpAnswer = { messageType: 2, yiaddr: M.ip, serverId: "10.76.0.1", siaddr: "10.76.0.1", file: "x" };
    const r = decodeDhcp(clientMessage(M, "ipxe", offer, 0, "10.77.0.1", 0));
    if (!r.ok) throw new Error(r.error);
    expect(getOption(r.value, 53)).toBe(3);
    expect(getOption(r.value, 77)).toBe("iPXE");
    expect(formatIpv4(getOption(r.value, 50) as number)).toBe(M.ip);
    expect(formatIpv4(getOption(r.value, 54) as number)).toBe("10.76.0.1");
  });

  test("xids differ by machine, round, message and attempt", () => {
    const xs = new Set<number>();
    for (const i of [0, 1, 4999]) for (const as of ["pxe", "ipxe"] as const) for (const req of [false, true]) for (const n of [0, 1, 2, 3]) xs.add(xidFor(i, as, n, req));
    expect(xs.size).toBe(3 * 2 * 2 * 4);
  });

  test("an answer is read from the file field or option 67, a trailing NUL dropped", () => {
    const p = dhcpPacket({ op: 2, xid: 42, yiaddr: 0x0a4d0108, siaddr: 0x0a4c0001 });
    setOption(p, 53, 5);
    setOption(p, 54, 0x0a4c0001);
    setOption(p, 67, "undionly.kpxe\0");
    const out = new Uint8Array(600);
    const a = readAnswer(out.subarray(0, encodeDhcp(p, out)));
    expect(a).toEqual({ xid: 42, answer: { messageType: 5, yiaddr: "10.77.1.8", serverId: "10.76.0.1", siaddr: "10.76.0.1", file: "undionly.kpxe" } });
    expect(readAnswer(new Uint8Array(10))).toBeUndefined();
  });
});

describe("storm report", () => {
  const rec = (index: number, ok: boolean, endMs: number, stageMs: Record<string, number>, extra: object = {}) => ({ index, ok, startMs: 0, endMs, stageMs, retransmits: 1, bytes: 100, ...extra });
  const records = [
    rec(0, true, 1000, { "dhcp-pxe": 10, tftp: 100 }),
    rec(1, true, 3000, { "dhcp-pxe": 20, tftp: 300 }),
    rec(2, false, 5000, { "dhcp-pxe": 60_000 }, { failedStage: "dhcp-pxe", error: "no DHCPOFFER after 4 DISCOVERs" }),
    rec(3, false, 4000, { "dhcp-pxe": 5, tftp: 50 }, { failedStage: "tftp", error: "TFTP undionly.kpxe from 10.76.0.1: client timed out (code -1)" }),
    rec(4, false, 4500, { "dhcp-pxe": 5, tftp: 50 }, { failedStage: "tftp", error: "TFTP undionly.kpxe from 10.76.0.9: client timed out (code -1)" }),
  ];

  test("nearest-rank percentiles", () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([], 50)).toBeNaN();
  });

  test("a stage's latency leaves out the machines that failed in it", () => {
    const s = stageSummaries(records as never, ["dhcp-pxe", "tftp"]);
    expect(s[0]).toEqual({ stage: "dhcp-pxe", count: 4, p50Ms: 5, p99Ms: 20, maxMs: 20 });
    expect(s[1]).toEqual({ stage: "tftp", count: 2, p50Ms: 100, p99Ms: 300, maxMs: 300 });
  });

  test("failures by stage, reasons grouped without the machine-specific numbers", () => {
    const f = failureSummary(records as never);
    expect(f.count).toBe(3);
    expect(f.byStage).toEqual({ "dhcp-pxe": 1, tftp: 2 });
    expect(f.reasons[0]).toEqual({ reason: "tftp: TFTP undionly.kpxe from N: client timed out (code -N)", count: 2 });
  });

  test("completion curve, headline figures and the transfer bound", () => {
    expect(completionCurve(records as never)).toEqual([[0, 0], [1, 1], [3, 2]]);
    expect(completionCurve(Array.from({ length: 1000 }, (_, i) => rec(i, true, i, {})) as never, 10)).toHaveLength(11);
    const f = stormFigures(records as never);
    expect(f).toMatchObject({ machines: 5, succeeded: 2, failed: 3, completionSeconds: 5, retransmits: 5, bytes: 500, bootP50Seconds: 1, bootP99Seconds: 3 });
    expect(transferBound(2e9, 1e9, 8)).toEqual({ boundSeconds: 2, efficiency: 0.25 });
  });

  test("arrival offsets: burst at 0, spread evenly over the window", () => {
    expect(arrivalMs(999, 1000, 0)).toBe(0);
    expect([0, 1, 2, 3].map((i) => arrivalMs(i, 4, 30_000))).toEqual([0, 7_500, 15_000, 22_500]);
  });

  test("CPU wait is summed over the threads alive at the end: one that ended does not subtract", () => {
    const before = new Map([["1/1", { wait: 10 }], ["1/2", { wait: 50 }]]);
    const after = new Map([["1/1", { wait: 12.5 }], ["1/3", { wait: 1 }]]);
    expect(waitBetween(before, after)).toBe(3.5);
  });

  test("sizes and arrival patterns from the command line; bad ones are named", () => {
    expect(parseSize("10M")).toBe(10 * 1048576);
    expect(parseSize("512K")).toBe(524288);
    expect(parseSize("60MiB")).toBe(60 * 1048576);
    expect(parseSize("1234")).toBe(1234);
    expect(() => parseSize("ten")).toThrow('size "ten"');
    expect(parseArrival("burst")).toBe(0);
    expect(parseArrival("spread:30s")).toBe(30_000);
    expect(() => parseArrival("later")).toThrow('--arrival "later"');
  });

  test("the store from --store and --database-url: PGlite by default, -pg labels, contradictions named", () => {
    expect(parseStore(undefined, undefined)).toEqual({ kind: "pglite" });
    expect(parseStore("pglite", undefined)).toEqual({ kind: "pglite" });
    expect(parseStore("postgres", undefined)).toEqual({ kind: "postgres" });
    expect(parseStore(undefined, "postgres:///wisp")).toEqual({ kind: "postgres", url: "postgres:///wisp" });
    expect(parseStore("postgres", "postgresql://u@db.example/wisp")).toEqual({ kind: "postgres", url: "postgresql://u@db.example/wisp" });
    expect(() => parseStore("mysql", undefined)).toThrow('--store "mysql"');
    expect(() => parseStore("pglite", "postgres:///wisp")).toThrow("--database-url needs --store postgres");
    expect(() => parseStore(undefined, "mysql://x/y")).toThrow("--database-url: expected a postgres:// URL");
    expect(() => parseStore(undefined, "postgres://u:s3cret@db:99999/w")).toThrow("--database-url: ");
    expect(() => parseStore(undefined, "postgres://u:s3cret@db:99999/w")).not.toThrow("s3cret");
    expect(defaultLabel(1000, "burst", "1M", "4M", { kind: "pglite" })).toBe("1000-burst-1M+4M");
    expect(defaultLabel(1000, "burst", "1M", "4M", { kind: "postgres" })).toBe("1000-burst-1M+4M-pg");
  });

  test("the Markdown names the store and gives the PostgreSQL server's CPU and memory apart from wispd's", () => {
    const server = (extra: Partial<ServerRun> = {}): ServerRun => ({
      label: "wispd", processes: "wispd", figures: stormFigures(records as never), stages: [], failures: { count: 0, byStage: {}, reasons: [] }, curve: [],
      bound: { boundSeconds: 1, efficiency: 0.5 }, serverCpuSeconds: 20, serverCpuShare: 0.5, clientCpuSeconds: 3, peakRssMb: 150, dhcp: { sent: 1, answered: 1, stray: 0 }, ...extra,
    });
    const run = (label: string, store: string, wispd: ServerRun): StormRun => ({
      label, date: "2026-11-22", machines: 5, arrival: "burst", kernelBytes: 1, initrdBytes: 1, ipxeBytes: 1, loopbackBytesPerSecond: 1e9, store,
      machine: { cpus: 2, model: "x", kernel: "6", loadavgBefore: [0, 0, 0] }, versions: {}, wispd,
    });
    const pg = { cpuSeconds: 7.5, cpuShare: 0.25, peakRssSumMb: 310, peakPssSumMb: 64.5, peakProcesses: 17 };
    const md = stormMarkdown({ runs: [run("5-pg", "PostgreSQL 15.18, started by the storm (unix socket)", server({ storeServer: pg, vmHwmMb: 160 })), run("5", "PGlite", server({ vmHwmMb: 900 }))] });
    const [pgPart, pglitePart] = md.split("## 5\n");
    expect(pgPart).toContain("wispd's store: PostgreSQL 15.18, started by the storm (unix socket).");
    expect(pgPart).toContain("| server CPU (s) / share of storm | 20.0 / 50 % |");
    expect(pgPart).toContain("| PostgreSQL server CPU (s) / share of storm | 7.5 / 25 % |");
    expect(pgPart).toContain("| PostgreSQL peak memory, summed over its processes: RSS / PSS (MB) | 310.0 / 64.5 |");
    expect(pgPart).toContain("wispd's VmHWM (peak RSS since start; the store is in PostgreSQL's processes) after the storms: 160.0 MB.");
    expect(pglitePart).toContain("wispd's store: PGlite.");
    expect(pglitePart).toContain("wispd's VmHWM (peak RSS since start, the embedded store included) after the storms: 900.0 MB.");
    expect(pglitePart).not.toContain("PostgreSQL server CPU");
    expect(md).toContain("**Store.**");
  });
});

describe("charts and the summary", () => {
  test("axes end on a round number above the data", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(3.2)).toBe(5);
    expect(niceMax(1200)).toBe(2000);
    expect(niceMax(2400)).toBe(2500);
  });
  test("a chart is an SVG with one line per series and escaped names", () => {
    const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "a<b", points: [[0, 0], [10, 5]] }, { name: "c", points: [[5, 1]], dots: true }] });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("a&lt;b");
    expect(svg).toContain("<circle");
  });
  test("DHCP rows: best lossless rate against each peer, with the ratio", () => {
    const server = (name: string, rate: number, us: number) => ({ name, best: { doraPerSecond: rate, serverCpuUsPerDora: us }, steps: [] });
    const rows = dhcpRows({ hosts: 10000, servers: [server("wispd", 3000, 80), server("kea", 1500, 200), server("dnsmasq", 6000, 40)] });
    expect(rows.map((r) => [r.wisp, r.peer, r.ratio])).toEqual([["3,000", "1,500", "2.00x"], ["3,000", "6,000", "0.50x"]]);
  });
});
