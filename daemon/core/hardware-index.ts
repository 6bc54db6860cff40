/**
 * The in-memory Hardware index the DHCP hot path reads: every Hardware loaded at start, kept
 * fresh by the `wisp_hardware` notifications a trigger sends on every change (migration
 * 0001_hardware_notify), from this process or any other wispd on the same PostgreSQL.
 */
import { inArray } from "drizzle-orm";
import { hostsFromHardware } from "../dhcp/host.ts";
import type { DhcpHost, HardwareLookup } from "../dhcp/types.ts";
import type { HardwareSpec } from "../manifest/types.ts";
import type { Store, StoreLogger } from "../store/open.ts";
import { hardware } from "../store/schema.ts";
import { parseIpv4 } from "../wire/address.ts";
import { toStoredHardware, type HardwareRow } from "./objects.ts";

/** The NOTIFY channel of Hardware changes; payload `{"op", "id", "namespace", "name"}` or `{"op": "TRUNCATE"}`. */
export const HARDWARE_CHANNEL = "wisp_hardware";
/** Notifications are gathered this long, then their Hardware is read in one query. */
export const DEFAULT_DEBOUNCE_MS = 10;
/** More changed Hardware than this at once: reload the table instead of each row. */
const RELOAD_ALL_OVER = 500;
/** A failed reload is tried again after this long. */
const RETRY_MS = 1_000;

/** A Hardware as kept in the index: its name and stored spec (what the metadata service serves). */
export interface IndexedHardware {
  namespace: string;
  name: string;
  spec: HardwareSpec;
}

/**
 * Lookups by MAC and IP, plus the index's lifecycle. `byIp` finds interface addresses
 * (`interfaces[].dhcp.ip.address`) first, then `metadata.instance.ips` addresses.
 */
export interface HardwareIndex extends HardwareLookup {
  /**
   * Every Hardware claiming `ip` (uint32) as an interface or `metadata.instance.ips` address:
   * normally one; more is a conflict the caller must not resolve by guessing.
   */
  hardwareByIp(ip: number): readonly IndexedHardware[];
  /** The Hardware `namespace/name` as indexed (its spec), without a store read. */
  hardwareByName(namespace: string, name: string): IndexedHardware | undefined;
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
  let instanceIps = new Map<number, DhcpHost>();
  let byId = new Map<string, Indexed>();
  let claims = new Map<number, IndexedHardware[]>();
  let names = new Map<string, IndexedHardware>();
  const listeners = new Set<() => void>();
  const pending = new Set<string>();
  let reloadAll = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const add = (id: string, entry: Indexed): void => {
    byId.set(id, entry);
    names.set(nameKey(entry.hardware.namespace, entry.hardware.name), entry.hardware);
    for (const h of entry.hosts) {
      macs.set(h.mac, h);
      if (h.ip !== undefined && !ips.has(h.ip)) ips.set(h.ip, h);
    }
    const first = entry.hosts[0];
    for (const ip of entry.instanceIps) if (first !== undefined && !instanceIps.has(ip)) instanceIps.set(ip, first);
    for (const ip of entry.claims) claims.set(ip, [...(claims.get(ip) ?? []), entry.hardware]);
  };
  const remove = (id: string): void => {
    const entry = byId.get(id);
    if (entry === undefined) return;
    for (const h of entry.hosts) {
      if (macs.get(h.mac) === h) macs.delete(h.mac);
      if (h.ip !== undefined && ips.get(h.ip) === h) ips.delete(h.ip);
    }
    for (const ip of entry.instanceIps) if (instanceIps.get(ip) === entry.hosts[0]) instanceIps.delete(ip);
    for (const ip of entry.claims) {
      const left = (claims.get(ip) ?? []).filter((hw) => hw !== entry.hardware);
      if (left.length === 0) claims.delete(ip);
      else claims.set(ip, left);
    }
    const key = nameKey(entry.hardware.namespace, entry.hardware.name);
    if (names.get(key) === entry.hardware) names.delete(key);
    byId.delete(id);
  };

  const loadAll = async (): Promise<void> => {
    const rows = await store.db.select().from(hardware);
    macs = new Map();
    ips = new Map();
    instanceIps = new Map();
    byId = new Map();
    claims = new Map();
    names = new Map();
    for (const row of rows) add(row.id, indexed(row));
    logger?.debug({ hardware: rows.length, hosts: macs.size }, "hardware index loaded");
  };
  const loadSome = async (ids: string[]): Promise<void> => {
    const rows = await store.db.select().from(hardware).where(inArray(hardware.id, ids));
    const found = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      remove(id);
      const row = found.get(id);
      if (row) add(id, indexed(row));
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
    byIp: (ip) => ips.get(ip) ?? instanceIps.get(ip),
    hardwareByIp: (ip) => claims.get(ip) ?? [],
    hardwareByName: (namespace, name) => names.get(nameKey(namespace, name)),
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

const nameKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** One Hardware's entries: its hosts, its `metadata.instance.ips` IPv4 addresses, and every address it claims. */
interface Indexed {
  hardware: IndexedHardware;
  hosts: DhcpHost[];
  instanceIps: number[];
  claims: number[];
}

function indexed(row: HardwareRow): Indexed {
  const stored = toStoredHardware(row);
  const hosts = hostsFromHardware(stored);
  const instanceIps: number[] = [];
  for (const entry of stored.spec.metadata?.instance?.ips ?? []) {
    // IPv4 only: the client address of an HTTP request is matched as IPv4 (http/client-address.ts).
    const parsed = typeof entry?.address === "string" ? parseIpv4(entry.address.trim()) : undefined;
    if (parsed?.ok && !instanceIps.includes(parsed.value)) instanceIps.push(parsed.value);
  }
  const claims = [...new Set([...hosts.flatMap((h) => (h.ip === undefined ? [] : [h.ip])), ...instanceIps])];
  const hardware = { namespace: stored.metadata.namespace, name: stored.metadata.name, spec: stored.spec };
  return { hardware, hosts, instanceIps, claims };
}

function parseChange(payload: string): Change | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return value !== null && typeof value === "object" ? (value as Change) : undefined;
  } catch {
    return undefined;
  }
}
