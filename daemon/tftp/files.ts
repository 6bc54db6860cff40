/**
 * Where TFTP names lead on disk. A single name is looked up in the iPXE directory first (as the
 * package installed it: Debian's ipxe.efi there is a symlink into /boot, so links are followed
 * in that directory, which holds nothing else by name), then in the artifacts directory, whose
 * real path must stay inside it (symlinks out are refused). Small files (the iPXE binaries) are
 * served from memory, re-read when their mtime, ctime, size or inode change; large ones from an
 * open descriptor.
 */
import { constants as FS } from "node:fs";
import { open, readFile, realpath, stat, type FileHandle } from "node:fs/promises";
import { join, sep } from "node:path";
import { err, ok, type Result } from "../lib/result.ts";
import { netasciiLength, toNetascii } from "./codec.ts";
import type { FileProblem, TransferMode } from "./policy.ts";

/** Debian's `ipxe` package puts undionly.kpxe, ipxe.efi and snponly.efi here. */
export const DEFAULT_IPXE_DIR = "/usr/lib/ipxe";
/** Files up to this size are kept in memory (iPXE binaries are 70 KiB to 1 MiB). */
export const SMALL_FILE_MAX_BYTES = 2 * 1024 * 1024;
/** Bound on all cached bytes; the least recently opened files are dropped first. */
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** netascii is converted whole in memory; larger files must be fetched in octet mode. */
export const NETASCII_MAX_BYTES = 8 * 1024 * 1024;

/** Directories and limits. */
export interface FileSourceConfig {
  /** iPXE binaries, served by bare name; undefined when there is none. */
  ipxeDir?: string;
  /** Boot artifacts, served by relative path; undefined when there is none. */
  artifactsDir?: string;
  smallFileMaxBytes?: number;
  cacheMaxBytes?: number;
}

/** A file ready to be sent. */
export interface OpenFile {
  /** Bytes that will be sent (after netascii conversion). */
  readonly size: number;
  /** The real path on disk, for logs. */
  readonly file: string;
  readonly source: "ipxe" | "artifacts";
  /** True when the bytes come from memory. */
  readonly cached: boolean;
  /**
   * Every byte to send, when they are held in memory (cached or converted): the server then cuts
   * blocks from it at once, with no read and no await per window. Never written to.
   */
  readonly bytes?: Uint8Array;
  /**
   * Up to `length` bytes from `position` (fewer only at the end). The view is valid until the
   * next read; err when the file shrank under us.
   */
  read(position: number, length: number): Promise<Result<Uint8Array>>;
  close(): Promise<void>;
}

/** Opens names for transfers. */
export interface FileSource {
  open(name: string, mode: TransferMode): Promise<Result<OpenFile, FileProblem>>;
  /** Bytes held in the cache now (for a gauge). */
  cachedBytes(): number;
}

interface CacheEntry {
  bytes: Uint8Array;
  netascii?: Uint8Array;
  stamp: string;
}

interface Found {
  file: string;
  source: "ipxe" | "artifacts";
  size: number;
  stamp: string;
}

const stampOf = (s: { mtimeMs: number; ctimeMs: number; size: number; ino: number }) => `${s.mtimeMs}:${s.ctimeMs}:${s.size}:${s.ino}`;

/** A FileSource over the configured directories. */
export function createFileSource(config: FileSourceConfig): FileSource {
  const smallMax = config.smallFileMaxBytes ?? SMALL_FILE_MAX_BYTES;
  const cacheMax = config.cacheMaxBytes ?? CACHE_MAX_BYTES;
  const cache = new Map<string, CacheEntry>();
  const loading = new Map<string, Promise<Result<CacheEntry, FileProblem>>>();
  let cacheBytes = 0;

  const entryBytes = (e: CacheEntry) => e.bytes.length + (e.netascii?.length ?? 0);
  function remember(file: string, entry: CacheEntry): void {
    const old = cache.get(file);
    if (old) cacheBytes -= entryBytes(old), cache.delete(file);
    cache.set(file, entry);
    cacheBytes += entryBytes(entry);
    for (const [key, e] of cache) {
      if (cacheBytes <= cacheMax || key === file) break;
      cache.delete(key);
      cacheBytes -= entryBytes(e);
    }
  }

  async function cached(found: Found): Promise<Result<CacheEntry, FileProblem>> {
    const hit = cache.get(found.file);
    if (hit && hit.stamp === found.stamp) {
      cache.delete(found.file), cache.set(found.file, hit); // most recently used last
      return ok(hit);
    }
    const key = `${found.file}\0${found.stamp}`;
    let pending = loading.get(key);
    if (!pending) {
      // Many machines ask for the same binary at once: one read serves them all.
      pending = readFile(found.file).then(
        (buf) => {
          const entry: CacheEntry = { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), stamp: found.stamp };
          remember(found.file, entry);
          return ok(entry);
        },
        () => err<FileProblem>("unreadable"),
      );
      pending.finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    return pending;
  }

  return {
    cachedBytes: () => cacheBytes,
    async open(name, mode) {
      const located = await locate(config, name);
      if (!located.ok) return located;
      const found = located.value;
      if (found.size <= smallMax) {
        const entry = await cached(found);
        if (!entry.ok) return entry;
        let bytes = entry.value.bytes;
        if (mode === "netascii") {
          const e = entry.value;
          if (!e.netascii) e.netascii = toNetascii(bytes), (cacheBytes += e.netascii.length);
          bytes = e.netascii;
        }
        return ok(memoryFile(found, bytes, true));
      }
      if (mode === "netascii") {
        if (found.size > NETASCII_MAX_BYTES) return err("too-large");
        const whole = await readFile(found.file).catch(() => undefined);
        if (!whole) return err("unreadable");
        return ok(memoryFile(found, toNetascii(whole, new Uint8Array(netasciiLength(whole))), false));
      }
      return diskFile(found);
    },
  };
}

async function locate(config: FileSourceConfig, name: string): Promise<Result<Found, FileProblem>> {
  if (config.ipxeDir !== undefined && !name.includes("/")) {
    // Followed to its target here, so the file is opened (with O_NOFOLLOW) at its real path.
    const file = await realpath(join(config.ipxeDir, name)).catch(() => undefined);
    const st = file === undefined ? undefined : await stat(file).catch(() => undefined);
    if (file !== undefined && st?.isFile()) return ok({ file, source: "ipxe", size: st.size, stamp: stampOf(st) });
  }
  if (config.artifactsDir === undefined) return err("not-found");
  const root = await realpath(config.artifactsDir).catch(() => undefined);
  if (root === undefined) return err("not-found");
  let real: string;
  try {
    real = await realpath(join(root, name));
  } catch (e) {
    return err(errnoProblem(e));
  }
  if (!real.startsWith(root + sep)) return err("outside-root");
  const st = await stat(real).catch((e: unknown) => errnoProblem(e));
  if (typeof st === "string") return err(st);
  if (!st.isFile()) return err("not-a-file");
  return ok({ file: real, source: "artifacts", size: st.size, stamp: stampOf(st) });
}

function errnoProblem(e: unknown): FileProblem {
  const code = (e as { code?: string }).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" ? "not-found" : "unreadable";
}

function memoryFile(found: Found, bytes: Uint8Array, cachedBytes: boolean): OpenFile {
  return {
    size: bytes.length,
    file: found.file,
    source: found.source,
    cached: cachedBytes,
    bytes,
    read: async (position, length) => ok(bytes.subarray(position, Math.min(bytes.length, position + length))),
    close: async () => {},
  };
}

async function diskFile(found: Found): Promise<Result<OpenFile, FileProblem>> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: the real path was checked; a symlink put there since is not followed.
    handle = await open(found.file, FS.O_RDONLY | FS.O_NOFOLLOW);
  } catch (e) {
    return err(errnoProblem(e));
  }
  const st = await handle.stat();
  const size = st.size;
  let buffer = new Uint8Array(0);
  return ok({
    size,
    file: found.file,
    source: found.source,
    cached: false,
    async read(position, length) {
      const want = Math.max(0, Math.min(length, size - position));
      if (buffer.length < want) buffer = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(buffer, got, want - got, position + got);
        if (bytesRead === 0) return err(`file shrank to ${position + got} bytes during the transfer`);
        got += bytesRead;
      }
      return ok(buffer.subarray(0, want));
    },
    close: () => handle.close(),
  });
}
