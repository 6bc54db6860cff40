/**
 * wispd under a boot storm's load: the heap governor's decisions step by step, the governor
 * running real full collections of this process's heap, and a real wispd that logs where its
 * memory is on SIGUSR2, counts the collections it asked for in /metrics, and listens with an
 * accept queue deep enough for thousands of machines connecting at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HeapGovernor, startHeapGovernor } from "../../daemon/ops/heap-governor.ts";
import { memoryReport } from "../../daemon/ops/memory-report.ts";
import { listenBacklog } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";

const MiB = 1048576;

describe("heap governor decisions", () => {
  const at = (used: number, external = 0) => ({ used: used * MiB, external: external * MiB });

  test("collects once the heap grew by the headroom over its low point, and the low point follows the heap down", () => {
    const g = new HeapGovernor(64 * MiB, at(100));
    expect(g.shouldCollect(at(150))).toBe(false); // +50
    expect(g.shouldCollect(at(60))).toBe(false); // a collection by the runtime: the low point is now 60
    expect(g.shouldCollect(at(123))).toBe(false); // +63
    expect(g.shouldCollect(at(124))).toBe(true); // +64
    g.collected(at(70));
    expect(g.shouldCollect(at(133))).toBe(false);
    expect(g.shouldCollect(at(134))).toBe(true);
  });

  test("for a live heap over twice the headroom, it waits for growth by half the live objects", () => {
    const g = new HeapGovernor(64 * MiB, at(400));
    expect(g.shouldCollect(at(464))).toBe(false); // +64 would mark 400 MiB every 64: too often
    expect(g.shouldCollect(at(599))).toBe(false);
    expect(g.shouldCollect(at(600))).toBe(true);
  });

  test("external memory (PGlite's WebAssembly memory) does not widen the allowance", () => {
    const g = new HeapGovernor(64 * MiB, at(450, 400)); // 50 MiB of objects, 400 outside the heap
    expect(g.shouldCollect(at(513, 400))).toBe(false);
    expect(g.shouldCollect(at(514, 400))).toBe(true); // +64, not +225
  });

  test("headroom 0 starts nothing", () => {
    let collections = 0;
    const stop = startHeapGovernor({ headroomBytes: 0, read: () => at(1e6), collect: () => collections++, intervalMs: 1 });
    stop();
    expect(collections).toBe(0);
  });
});

describe("heap governor on this process's heap", () => {
  test("garbage that survived young collections is collected once it passes the headroom", async () => {
    const seen: { before: number; after: number; seconds: number }[] = [];
    let hold: unknown[] | undefined;
    const stop = startHeapGovernor({ headroomBytes: 8 * MiB, intervalMs: 20, onCollect: (before, after, seconds) => seen.push({ before, after, seconds }) });
    try {
      // Objects kept across young collections are promoted; dropped afterwards, only a full
      // collection frees them. Built in steps, with turns of the event loop in between.
      const fill = () => Array.from({ length: 50_000 }, (_, i) => ({ i, s: `garbage-${i}`, a: [i, i + 1] }));
      hold = [];
      // The allowance is half the live objects when that is more than the headroom: in a full
      // test run this process's heap may be hundreds of MB, so allocate until the governor acts
      // (at most 150 rounds of about 5 MB).
      for (let round = 0; round < 150 && seen.length === 0; round++) {
        hold.push(fill());
        await Bun.sleep(25);
      }
      hold = undefined;
      for (let i = 0; i < 200 && seen.length === 0; i++) await Bun.sleep(25);
    } finally {
      stop();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]!.before).toBeGreaterThan(0);
    expect(seen[0]!.seconds).toBeGreaterThan(0);
    expect(seen[0]!.seconds).toBeLessThan(30);
    expect(hold).toBeUndefined();
  });

  test("the memory report gives RSS, the heap, external memory and the commonest objects", () => {
    const r = memoryReport();
    expect(r.rssMb).toBeGreaterThan(0);
    expect(r.heapUsedMb).toBeGreaterThan(0);
    expect(r.heapCapacityMb).toBeGreaterThanOrEqual(r.heapUsedMb);
    expect(r.externalMb).toBeGreaterThanOrEqual(0);
    expect(Object.keys(r.objects).length).toBeGreaterThan(5);
    expect(Object.values(r.objects).every((n) => n > 0)).toBe(true);
  });
});

describe("a running wispd", () => {
  let wispd: WispdHandle;
  let remove = () => {};
  beforeAll(async () => {
    const data = await pgliteDataDir();
    remove = data.remove;
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--heap-headroom", "16"]);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await wispd?.stop();
    remove();
  });

  test("logs a memory report on SIGUSR2 and keeps serving", async () => {
    wispd.proc.kill("SIGUSR2");
    const rec = await wispd.waitForLog("memory report (SIGUSR2)", 10_000);
    expect(rec.rssMb as number).toBeGreaterThan(10);
    expect(rec.heapUsedMb as number).toBeGreaterThan(0);
    expect(Object.keys(rec.objects as object).length).toBeGreaterThan(5);
    expect((await fetch(`${wispd.url}/healthz`)).status).toBe(200);
  });

  test("the HTTP listener's accept queue is 4096 deep (or net.core.somaxconn, if less), not the runtime's 512", async () => {
    const somaxconn = Number((await Bun.file("/proc/sys/net/core/somaxconn").text()).trim());
    expect(listenBacklog(wispd.port)).toBe(Math.min(4096, somaxconn));
  });

  test("/metrics has the governor's collection histogram", async () => {
    const text = await (await fetch(`${wispd.url}/metrics`)).text();
    expect(text).toContain("# TYPE wisp_heap_collection_seconds histogram");
    expect(text).toMatch(/^wisp_heap_collection_seconds_count \d+$/m);
  });
});
