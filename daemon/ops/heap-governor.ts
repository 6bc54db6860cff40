/**
 * Keeps the JavaScript heap near what is alive. JavaScriptCore sizes its heap from the machine's
 * RAM: on a 24 GB host it lets garbage that survived a young collection grow to several times
 * the live set before a full collection, and the blocks it grew stay resident afterwards. In a
 * boot storm that garbage (request and query objects of thousands of agents) was most of
 * wispd's RSS. The governor watches the heap and asks for a full collection once it has grown
 * by `headroom` (or by half the live objects, for a large live set) over the least it was since
 * the last one, so the peak stays near live + headroom. A collection stops the event loop while
 * it marks what is alive: 130-210 ms for the ~70-90 MB of a 2,000-machine storm.
 */
import { fullGC } from "bun:jsc";

/** Default headroom, in MiB, over the live heap before a full collection is asked for. */
export const DEFAULT_HEAP_HEADROOM_MB = 64;
/** How often the heap is looked at. */
export const HEAP_CHECK_MS = 250;

export interface HeapGovernorOptions {
  /** Bytes the heap may grow over its low point before a collection; 0 = leave it to the runtime. */
  headroomBytes: number;
  /** The heap now (default: process.memoryUsage()'s heapUsed and external). */
  read?: () => HeapReading;
  /** Runs a full collection (default: bun:jsc fullGC). */
  collect?: () => void;
  /** Told of each collection: heap bytes before and after, and the seconds it took. */
  onCollect?: (before: number, after: number, seconds: number) => void;
  intervalMs?: number;
}

/** The heap as the governor sees it: all of it, and the part owned outside it (buffers, string contents). */
export interface HeapReading {
  /** process.memoryUsage().heapUsed: objects plus the memory they own outside the heap. */
  used: number;
  /** process.memoryUsage().external: of `used`, what lives outside the heap (PGlite's WebAssembly memory is most of it on PGlite). */
  external: number;
}

/** The governor's decision, apart from its timer so it can be tested step by step. */
export class HeapGovernor {
  private low: HeapReading;
  constructor(
    private readonly headroom: number,
    start: HeapReading,
  ) {
    this.low = start;
  }
  /**
   * Given the heap now, whether to collect. The allowance is the headroom, or half the objects
   * alive at the low point when that is more (a large live set is not marked over and over);
   * external memory does not count towards it, since PGlite's hundreds of MB there never die.
   */
  shouldCollect(now: HeapReading): boolean {
    if (now.used < this.low.used) this.low = now;
    const liveObjects = Math.max(0, this.low.used - this.low.external);
    return now.used - this.low.used >= Math.max(this.headroom, liveObjects / 2);
  }
  /** After a collection: the heap now is the new low point. */
  collected(now: HeapReading): void {
    this.low = now;
  }
}

/** Starts the governor; returns a function that stops it. Does nothing when the headroom is 0. */
export function startHeapGovernor(opts: HeapGovernorOptions): () => void {
  if (opts.headroomBytes <= 0) return () => {};
  const read =
    opts.read ??
    (() => {
      const m = process.memoryUsage();
      return { used: m.heapUsed, external: m.external };
    });
  const collect = opts.collect ?? (() => void fullGC());
  const governor = new HeapGovernor(opts.headroomBytes, read());
  const timer = setInterval(() => {
    const before = read();
    if (!governor.shouldCollect(before)) return;
    const started = performance.now();
    collect();
    const after = read();
    governor.collected(after);
    opts.onCollect?.(before.used, after.used, (performance.now() - started) / 1000);
  }, opts.intervalMs ?? HEAP_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
