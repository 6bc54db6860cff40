/**
 * Where wispd's memory is, on demand: SIGUSR2 logs one line with the resident set, the
 * JavaScript heap (used and reserved), the memory its objects own outside it (buffers, string
 * contents, PGlite's WebAssembly memory), the native allocator's blocks in use, and the most
 * numerous kinds of object on the heap. It answers "why is wispd this big"
 * on a running server without restarting it under a profiler.
 */
import { heapStats } from "bun:jsc";

/** How many object kinds the report names, most numerous first. */
export const TOP_OBJECT_KINDS = 25;

/** A snapshot of the process's memory, in MiB, and its heap's most numerous object kinds. */
export interface MemoryReport {
  rssMb: number;
  heapUsedMb: number;
  heapCapacityMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  /**
   * Small and medium blocks in use in the native allocator (mimalloc). Under Bun this includes
   * the JavaScript heap's blocks, besides sockets, HTTP/2 sessions and the runtime; huge blocks
   * (reservations, which may not be resident) are left out.
   */
  mallocInUseMb?: number;
  objects: Record<string, number>;
}

const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;

export function memoryReport(): MemoryReport {
  const m = process.memoryUsage();
  const h = heapStats();
  const mi = mimallocFigures((h as { mimalloc?: unknown }).mimalloc);
  const objects = Object.fromEntries(
    Object.entries(h.objectTypeCounts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP_OBJECT_KINDS),
  );
  return {
    rssMb: mb(m.rss),
    heapUsedMb: mb(h.heapSize),
    heapCapacityMb: mb(h.heapCapacity),
    externalMb: mb(h.extraMemorySize),
    arrayBuffersMb: mb(m.arrayBuffers),
    ...(mi ? { mallocInUseMb: mb(mi.inUse) } : {}),
    objects,
  };
}

/** mimalloc's statistics as Bun reports them (bun:jsc heapStats().mimalloc); undefined when absent or changed. */
function mimallocFigures(stats: unknown): { inUse: number } | undefined {
  const normal = (stats as { malloc_normal?: { current?: unknown } } | undefined)?.malloc_normal?.current;
  return typeof normal === "number" ? { inUse: normal } : undefined;
}

/** Logs a memory report on every SIGUSR2; returns a function that stops listening. */
export function reportMemoryOnSignal(log: { info(obj: object, msg: string): void }): () => void {
  const onSignal = () => log.info(memoryReport(), "memory report (SIGUSR2)");
  process.on("SIGUSR2", onSignal);
  return () => process.off("SIGUSR2", onSignal);
}
