/**
 * The in-memory Hardware index the DHCP hot path reads: every Hardware loaded at start, kept
 * fresh by the `wisp_hardware` notifications a trigger sends on every change (migration
 * 0001_hardware_notify), from this process or any other wispd on the same PostgreSQL.
 */
import { inArray } from "drizzle-orm";
import { hostsFromHardware } from "../dhcp/host.ts";
import type { DhcpHost, HardwareLookup } from "../dhcp/types.ts";
import type { Store, StoreLogger } from "../store/open.ts";
import { hardware } from "../store/schema.ts";
import { toStoredHardware, type HardwareRow } from "./objects.ts";

/** The NOTIFY channel of Hardware changes; payload `{"op", "id", "namespace", "name"}` or `{"op": "TRUNCATE"}`. */
export const HARDWARE_CHANNEL = "wisp_hardware";
/** Notifications are gathered this long, then their Hardware is read in one query. */
export const DEFAULT_DEBOUNCE_MS = 10;
/** More changed Hardware than this at once: reload the table instead of each row. */
const RELOAD_ALL_OVER = 500;
/** A failed reload is tried again after this long. */
const RETRY_MS = 1_000;

/** Lookups by MAC and IP, plus the index's lifecycle. */
export interface HardwareIndex extends HardwareLookup {
  /** Number of hosts (interfaces with a MAC) indexed. */
  readonly size: number;
  /** Settles when the first load is done (already, once createHardwareIndex has resolved). */
  readonly ready: Promise<void>;
  /** Reloads every Hardware now. */
  refresh(): Promise<void>;
  /** Resolves once the changes notified so far are applied (or failed, to be retried). */
  settled(): Promise<void>;
  /** Calls `listener` after every applied change; returns a function that stops it. */
  onChange(listener: () => void): () => void;
  /** Stops listening; lookups keep answering from the last state. */
  close(): Promise<void>;
}

/** Options of createHardwareIndex. */
export interface HardwareIndexOptions {
  logger?: StoreLogger;
  debounceMs?: number;
}

interface Change {
  op?: string;
  id?: string;
}

/** Loads all Hardware of `store` and keeps the index fresh until close(). */
export async function createHardwareIndex(store: Store, opts: HardwareIndexOptions = {}): Promise<HardwareIndex> {
  const logger = opts.logger;
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let macs = new Map<string, DhcpHost>();
  let ips = new Map<number, DhcpHost>();
  let byId = new Map<string, DhcpHost[]>();
  const listeners = new Set<() => void>();
  const pending = new Set<string>();
  let reloadAll = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const add = (id: string, hosts: DhcpHost[]): void => {
    byId.set(id, hosts);
    for (const h of hosts) {
      macs.set(h.mac, h);
      if (h.ip !== undefined && !ips.has(h.ip)) ips.set(h.ip, h);
    }
  };
  const remove = (id: string): void => {
    for (const h of byId.get(id) ?? []) {
      if (macs.get(h.mac) === h) macs.delete(h.mac);
      if (h.ip !== undefined && ips.get(h.ip) === h) ips.delete(h.ip);
    }
    byId.delete(id);
  };

  const loadAll = async (): Promise<void> => {
    const rows = await store.db.select().from(hardware);
    macs = new Map();
    ips = new Map();
    byId = new Map();
    for (const row of rows) add(row.id, hostsOf(row));
    logger?.debug({ hardware: rows.length, hosts: macs.size }, "hardware index loaded");
  };
  const loadSome = async (ids: string[]): Promise<void> => {
    const rows = await store.db.select().from(hardware).where(inArray(hardware.id, ids));
    const found = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      remove(id);
      const row = found.get(id);
      if (row) add(id, hostsOf(row));
    }
  };

  const changed = (): void => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (e) {
        logger?.warn({ err: e }, "hardware index listener failed");
      }
    }
  };

  // Applies what is pending; runs one at a time, so a later notification's read is applied later.
  const flush = (): Promise<void> => {
    timer = undefined;
    running = running.then(async () => {
      if (closed || (!reloadAll && pending.size === 0)) return;
      const all = reloadAll || pending.size > RELOAD_ALL_OVER;
      const ids = [...pending];
      reloadAll = false;
      pending.clear();
      try {
        await (all ? loadAll() : loadSome(ids));
      } catch (e) {
        if (closed) return;
        logger?.warn({ err: e, retryMs: RETRY_MS }, "hardware index reload failed");
        reloadAll = true;
        schedule(RETRY_MS);
        return;
      }
      changed();
    });
    return running;
  };
  const schedule = (ms: number): void => {
    if (!closed && timer === undefined) timer = setTimeout(flush, ms);
  };

  const onNotify = (payload: string): void => {
    const change = parseChange(payload);
    if (change?.op === "TRUNCATE" || change?.id === undefined) {
      if (change?.op !== "TRUNCATE") logger?.debug({ payload }, "hardware notification not understood");
      reloadAll = true;
    } else {
      pending.add(change.id);
    }
    schedule(debounceMs);
  };
  // Notifications sent while the listening connection was down are lost: read everything again.
  const onReconnect = (): void => {
    reloadAll = true;
    schedule(0);
  };

  // Listen before loading, so a change between the two is not missed.
  const unlisten = await store.listen(HARDWARE_CHANNEL, onNotify, onReconnect);
  const ready = loadAll();
  // Changes notified meanwhile are applied after the first load, never before it.
  running = ready.catch(() => undefined);
  try {
    await ready;
  } catch (e) {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    await unlisten();
    throw e;
  }

  return {
    byMac: (mac) => macs.get(mac),
    byIp: (ip) => ips.get(ip),
    get size() {
      return macs.size;
    },
    ready,
    async refresh() {
      reloadAll = true;
      if (timer !== undefined) clearTimeout(timer);
      await flush();
    },
    async settled() {
      if (timer === undefined) return running;
      clearTimeout(timer);
      return flush();
    },
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await unlisten();
      await running;
    },
  };
}

function hostsOf(row: HardwareRow): DhcpHost[] {
  return hostsFromHardware(toStoredHardware(row));
}

function parseChange(payload: string): Change | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return value !== null && typeof value === "object" ? (value as Change) : undefined;
  } catch {
    return undefined;
  }
}
