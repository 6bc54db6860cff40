/**
 * Syslog lines in memory: one bounded ring per Hardware, a smaller one per unknown source
 * address (with a bound on how many), and a bound on the bytes of all of them. Oldest lines go
 * first; under the byte bound, unknown sources go before machines, and the machine written to
 * least recently before the others. Nothing is persisted: a boot storm sends thousands of lines
 * a second, and the database is kept for workflows; a restart of wispd empties the store.
 */
import type { SyslogEntry, SyslogLine, SyslogSource } from "./line.ts";

/** Lines kept per Hardware: a Hook boot with its kernel log and one workflow fits. */
export const LINES_PER_MACHINE = 2_000;
/** Lines kept per source address that belongs to no Hardware. */
export const LINES_PER_UNKNOWN_SOURCE = 200;
/** Unknown source addresses kept; a new one beyond this drops the least recently heard. */
export const MAX_UNKNOWN_SOURCES = 256;
/** Approximate bytes of all lines together (the bound that holds with thousands of machines). */
export const MAX_STORED_BYTES = 64 * 1024 * 1024;
// Per line besides its text: the object, its fields and the ISO time (an estimate, not a measure).
const LINE_OVERHEAD_BYTES = 320;

/** The bounds of a store; tests use small ones. */
export interface SyslogLimits {
  linesPerMachine: number;
  linesPerUnknownSource: number;
  maxUnknownSources: number;
  maxBytes: number;
}

/** Why lines left the store: their ring was full, their unknown source was dropped, or the byte bound. */
export type EvictReason = "ring" | "source" | "memory";

/** Which lines to read: after `since` (oldest first, for following), else the newest; at most `limit`. */
export interface SyslogQuery {
  since?: number;
  limit?: number;
}

/** Sizes, for metrics. */
export interface SyslogStats {
  lines: number;
  bytes: number;
  machines: number;
  unknownSources: number;
}

/** The store the receiver writes and the API reads. */
export interface SyslogStore {
  /** Keeps a line under its source; returns it numbered. */
  add(source: SyslogSource, entry: SyslogEntry): SyslogLine;
  /** Lines of one Hardware, in order. */
  machine(namespace: string, name: string, query?: SyslogQuery): SyslogLine[];
  /** Lines of sources that belong to no Hardware (or of one such address), in order. */
  unknown(query?: SyslogQuery & { address?: string }): SyslogLine[];
  /** The highest sequence number given so far (0: none); lower than a client's `since` after a restart. */
  readonly lastSeq: number;
  readonly stats: SyslogStats;
  /** Calls `listener` after each added line; returns a function that stops it. */
  subscribe(listener: (line: SyslogLine, source: SyslogSource) => void): () => void;
}

/** Options of createSyslogStore. */
export interface SyslogStoreOptions {
  limits?: Partial<SyslogLimits>;
  /** Told how many lines left and why, once per add that evicted any. */
  onEvict?: (reason: EvictReason, lines: number) => void;
}

/** A fixed-capacity ring of lines in sequence order. */
class Ring {
  private readonly items: SyslogLine[] = [];
  private head = 0;
  size = 0;
  bytes = 0;
  constructor(readonly capacity: number) {}

  /** Appends; returns the line pushed out when full. */
  push(line: SyslogLine, bytes: number): SyslogLine | undefined {
    this.bytes += bytes;
    if (this.size < this.capacity) {
      if (this.items.length < this.capacity) this.items.push(line);
      else this.items[(this.head + this.size) % this.capacity] = line;
      this.size++;
      return undefined;
    }
    const old = this.items[this.head]!;
    this.items[this.head] = line;
    this.head = (this.head + 1) % this.capacity;
    this.bytes -= lineBytes(old);
    return old;
  }

  /** Removes the oldest line. */
  shift(): SyslogLine | undefined {
    if (this.size === 0) return undefined;
    const old = this.items[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    this.bytes -= lineBytes(old);
    return old;
  }

  at(i: number): SyslogLine {
    return this.items[(this.head + i) % this.capacity]!;
  }

  /** Index of the first line with seq > since (binary search: seq increases along the ring). */
  firstAfter(since: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).seq <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  select(query: SyslogQuery): SyslogLine[] {
    const limit = query.limit ?? Infinity;
    const start = query.since === undefined ? Math.max(0, this.size - limit) : this.firstAfter(query.since);
    const end = Math.min(this.size, start + limit);
    const out: SyslogLine[] = [];
    for (let i = start; i < end; i++) out.push(this.at(i));
    return out;
  }
}

/** Estimated bytes a line holds (JavaScript strings take up to two bytes a character). */
export function lineBytes(line: SyslogEntry): number {
  let chars = line.message.length + (line.hostname?.length ?? 0) + (line.app?.length ?? 0) + (line.procId?.length ?? 0) + (line.msgId?.length ?? 0);
  chars += line.timestamp?.length ?? 0;
  chars += line.error?.length ?? 0;
  for (const e of line.structuredData ?? []) {
    chars += e.id.length + 32;
    for (const p of e.params) chars += p.name.length + p.value.length + 32;
  }
  return LINE_OVERHEAD_BYTES + 2 * chars;
}

/** Creates an empty store with the default bounds (or those given). */
export function createSyslogStore(opts: SyslogStoreOptions = {}): SyslogStore {
  const limits: SyslogLimits = {
    linesPerMachine: LINES_PER_MACHINE,
    linesPerUnknownSource: LINES_PER_UNKNOWN_SOURCE,
    maxUnknownSources: MAX_UNKNOWN_SOURCES,
    maxBytes: MAX_STORED_BYTES,
    ...opts.limits,
  };
  // Map order is recency of writing: a write moves the ring to the end, eviction takes the first.
  const machines = new Map<string, Ring>();
  const unknown = new Map<string, Ring>();
  const listeners = new Set<(line: SyslogLine, source: SyslogSource) => void>();
  let seq = 0;
  let lines = 0;
  let bytes = 0;

  const evicted = new Map<EvictReason, number>();
  const count = (reason: EvictReason, n: number): void => {
    lines -= n;
    evicted.set(reason, (evicted.get(reason) ?? 0) + n);
  };

  const ringFor = (source: SyslogSource): Ring => {
    const [map, key, capacity] =
      source.kind === "hardware" ? [machines, machineKey(source.namespace, source.name), limits.linesPerMachine] : [unknown, source.address, limits.linesPerUnknownSource];
    let ring = map.get(key);
    if (ring) map.delete(key);
    else {
      ring = new Ring(capacity);
      if (source.kind === "unknown" && unknown.size >= limits.maxUnknownSources) {
        const [oldest, dropped] = unknown.entries().next().value!;
        unknown.delete(oldest);
        bytes -= dropped.bytes;
        count("source", dropped.size);
      }
    }
    map.set(key, ring);
    return ring;
  };

  // Oldest lines of unknown sources first, then of the machine written to least recently.
  const enforceBytes = (): void => {
    while (bytes > limits.maxBytes && lines > 1) {
      const map = unknown.size > 0 ? unknown : machines;
      const [key, ring] = map.entries().next().value!;
      const before = ring.bytes;
      ring.shift();
      bytes -= before - ring.bytes;
      count("memory", 1);
      if (ring.size === 0) map.delete(key);
    }
  };

  return {
    add(source, entry) {
      const line: SyslogLine = { seq: ++seq, ...entry };
      const ring = ringFor(source);
      const size = lineBytes(line);
      const before = ring.bytes;
      const old = ring.push(line, size);
      bytes += ring.bytes - before;
      lines++;
      if (old) count("ring", 1);
      enforceBytes();
      if (evicted.size > 0) {
        for (const [reason, n] of evicted) opts.onEvict?.(reason, n);
        evicted.clear();
      }
      for (const listener of listeners) listener(line, source);
      return line;
    },
    machine(namespace, name, query = {}) {
      return machines.get(machineKey(namespace, name))?.select(query) ?? [];
    },
    unknown(query = {}) {
      const rings = query.address === undefined ? [...unknown.values()] : [unknown.get(query.address)].filter((r) => r !== undefined);
      const all = rings.flatMap((r) => r.select({ since: query.since })).sort((a, b) => a.seq - b.seq);
      const limit = query.limit ?? Infinity;
      return query.since === undefined ? all.slice(Math.max(0, all.length - limit)) : all.slice(0, limit);
    },
    get lastSeq() {
      return seq;
    },
    get stats() {
      return { lines, bytes, machines: machines.size, unknownSources: unknown.size };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

// Kubernetes names and namespaces have no '/'.
const machineKey = (namespace: string, name: string): string => `${namespace}/${name}`;
