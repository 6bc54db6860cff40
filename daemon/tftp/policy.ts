/**
 * TFTP decisions, pure: whether a request is one we serve and under which name, which options
 * we accept (RFC 2347 negotiation of blksize, timeout, tsize and windowsize), and what an ACK
 * means for a sliding window (RFC 7440) without ever answering a duplicate (RFC 1123 4.2.3.1).
 */
import { normalizeMac } from "../wire/address.ts";
import { err, ok, type Result } from "../lib/result.ts";
import { ErrorCode, WRQ, type TftpOption, type TftpRequest } from "./codec.ts";

/** RFC 1350 2: the block size without a blksize option. */
export const DEFAULT_BLOCK_SIZE = 512;
/** RFC 2348: the smallest and largest blksize a client may ask for. */
export const MIN_BLOCK_SIZE = 8;
export const MAX_BLOCK_SIZE = 65464;
/**
 * Default cap on blksize: an Ethernet frame (1500-byte MTU) less the IPv4 (20), UDP (8) and TFTP
 * (4) headers, so no block is IP-fragmented; PXE ROMs often cannot reassemble fragments.
 */
export const DEFAULT_MAX_BLOCK_SIZE = 1468;
/** RFC 7440 2: windowsize is 1 to 65535 blocks. */
export const MAX_WINDOW_SIZE = 65535;
/** RFC 2349 2: timeout is 1 to 255 seconds. */
export const MIN_TIMEOUT_S = 1;
export const MAX_TIMEOUT_S = 255;
/** Retransmission timeout when the client asks for none (tftpd-hpa's default too). */
export const DEFAULT_TIMEOUT_MS = 1000;
/**
 * The receive buffer a client has when it does not size its own: Linux's net.core.rmem_default.
 * A window must fit in it, or the blocks past it are dropped on every window and the transfer
 * crawls from timeout to timeout.
 */
export const DEFAULT_WINDOW_BUFFER_BYTES = 212_992;

/** What the operator configures for negotiation. */
export interface NegotiationConfig {
  /** Largest blksize granted (MIN_BLOCK_SIZE..MAX_BLOCK_SIZE). */
  maxBlockSize: number;
  /** Receive-buffer bytes a whole window may occupy at the client (see datagramCost). */
  windowBufferBytes: number;
  /** Retransmission timeout when the client negotiates none. */
  defaultTimeoutMs: number;
}

/** The defaults above as a NegotiationConfig. */
export const DEFAULT_NEGOTIATION: NegotiationConfig = {
  maxBlockSize: DEFAULT_MAX_BLOCK_SIZE,
  windowBufferBytes: DEFAULT_WINDOW_BUFFER_BYTES,
  defaultTimeoutMs: DEFAULT_TIMEOUT_MS,
};

/** Why a request is not served: the ERROR packet to send and a metric label. */
export interface Refusal {
  code: number;
  message: string;
  /** Stable kebab-case reason for `wisp_tftp_errors_total{reason}` and logs. */
  reason: string;
}

/** Transfer modes we serve (RFC 1350 1; "mail" is obsolete). */
export type TransferMode = "octet" | "netascii";

/** A read request we will look up. */
export interface ReadRequest {
  /** Path relative to a served directory: segments joined with "/", no "." or "..". */
  name: string;
  /** The `<mac>/` prefix, normalised ("aa:bb:cc:dd:ee:ff"), when there was one. */
  mac?: string;
  mode: TransferMode;
  options: TftpOption[];
}

const refuse = (code: number, message: string, reason: string) => err<Refusal>({ code, message, reason });

/** Checks a decoded RRQ/WRQ: write requests, unknown modes and paths that leave the root are refused. */
export function readRequest(req: TftpRequest): Result<ReadRequest, Refusal> {
  if (req.op === WRQ) return refuse(ErrorCode.accessViolation, "write requests are not accepted", "write-request");
  const mode = req.mode.toLowerCase(); // RFC 1350 5: "any combination of upper and lower case"
  if (mode !== "octet" && mode !== "netascii") {
    return refuse(ErrorCode.illegalOperation, `transfer mode ${JSON.stringify(req.mode)} is not served`, "bad-mode");
  }
  const path = parsePath(req.filename);
  if (!path.ok) return path;
  return ok({ ...path.value, mode, options: req.options });
}

/**
 * Splits a requested file name into an optional `<mac>/` prefix and a safe relative name.
 * Backslashes count as separators (Windows-style clients); empty and "." segments are dropped.
 * Refused: empty names, absolute paths, ".." anywhere, NUL and other control bytes.
 */
export function parsePath(filename: string): Result<{ name: string; mac?: string }, Refusal> {
  if (filename.length === 0) return refuse(ErrorCode.fileNotFound, "empty file name", "bad-path");
  // Control bytes are never part of a served name; NUL cannot reach here from the codec.
  if (/[\x00-\x1f\x7f]/.test(filename)) return refuse(ErrorCode.accessViolation, "control character in file name", "bad-path");
  if (filename.startsWith("/") || filename.startsWith("\\") || /^[a-zA-Z]:/.test(filename)) {
    return refuse(ErrorCode.accessViolation, "absolute paths are not served", "outside-root");
  }
  const segments = filename.split(/[/\\]/).filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return refuse(ErrorCode.accessViolation, "'..' is not allowed in paths", "outside-root");
  let mac: string | undefined;
  if (segments.length > 1) {
    mac = macPrefix(segments[0]!);
    if (mac !== undefined) segments.shift();
  }
  if (segments.length === 0) return refuse(ErrorCode.fileNotFound, "empty file name", "bad-path");
  return ok(mac === undefined ? { name: segments.join("/") } : { name: segments.join("/"), mac });
}

// "aa:bb:cc:dd:ee:ff", "aa-bb-..", 12 hex digits, or pxelinux's "01-aa-bb-cc-dd-ee-ff" (ARP
// hardware type 1 first).
function macPrefix(segment: string): string | undefined {
  const text = /^01-([0-9a-fA-F]{2}-){5}[0-9a-fA-F]{2}$/.test(segment) ? segment.slice(3) : segment;
  const mac = normalizeMac(text);
  return mac.ok ? mac.value : undefined;
}

/** The options a transfer runs with, and the OACK to send (empty: start with DATA 1). */
export interface Negotiated {
  blockSize: number;
  windowSize: number;
  timeoutMs: number;
  /** Options accepted, in the client's spelling and order, with the values we grant. */
  oack: TftpOption[];
}

/**
 * Kernel memory one DATA datagram of `blockSize` occupies in a receive queue (its skb truesize),
 * bounded from above. Measured on Linux 6 loopback: ~0.8 KiB for 8-byte blocks, ~2.3 KiB for
 * 1468, ~18.7 KiB for 8192, ~71 KiB for 65464, so 2.25 x payload + 2 KiB is above every size.
 */
export function datagramCost(blockSize: number): number {
  return Math.ceil(blockSize * 2.25) + 2048;
}

/** The largest window of `blockSize` blocks whose datagrams fit `bufferBytes` (at least 1). */
export function windowCap(blockSize: number, bufferBytes: number): number {
  return Math.max(1, Math.min(MAX_WINDOW_SIZE, Math.floor(bufferBytes / datagramCost(blockSize))));
}

/**
 * RFC 2347 negotiation for a read of `size` bytes (as sent: after netascii conversion). Unknown
 * options and values out of range are ignored (left out of the OACK), a blksize above the cap is
 * lowered (RFC 2348), a windowsize is lowered to what fits the client's receive buffer, timeout
 * is accepted as asked (RFC 2349: the server may not change it), tsize is answered with `size`.
 * The first occurrence of a repeated option wins.
 */
export function negotiate(options: readonly TftpOption[], size: number, config: NegotiationConfig): Negotiated {
  let blockSize = DEFAULT_BLOCK_SIZE;
  let windowSize = 1;
  let timeoutMs = config.defaultTimeoutMs;
  const seen = new Set<string>();
  const accepted: [name: string, key: string, value: number][] = [];
  for (const [name, value] of options) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (key === "blksize" && n >= MIN_BLOCK_SIZE && n <= MAX_BLOCK_SIZE) {
      blockSize = Math.min(n, Math.max(MIN_BLOCK_SIZE, config.maxBlockSize));
      accepted.push([name, key, blockSize]);
    } else if (key === "windowsize" && n >= 1 && n <= MAX_WINDOW_SIZE) {
      accepted.push([name, key, n]); // capped below, once blksize is known
    } else if (key === "timeout" && n >= MIN_TIMEOUT_S && n <= MAX_TIMEOUT_S) {
      timeoutMs = n * 1000;
      accepted.push([name, key, n]);
    } else if (key === "tsize" && n >= 0) {
      accepted.push([name, key, size]); // RFC 2349 4: a read request sends 0, we answer the size
    }
  }
  const oack: TftpOption[] = [];
  for (const [name, key, value] of accepted) {
    if (key === "windowsize") {
      windowSize = Math.min(value, windowCap(blockSize, config.windowBufferBytes));
      oack.push([name, String(windowSize)]);
    } else {
      oack.push([name, String(value)]);
    }
  }
  return { blockSize, windowSize, timeoutMs, oack };
}

/** Blocks in a transfer of `size` bytes: the last is shorter than blockSize, maybe empty (RFC 1350 6). */
export function blockCount(size: number, blockSize: number): number {
  return Math.floor(size / blockSize) + 1;
}

/**
 * Where a read transfer stands, in absolute block numbers (1 is the first DATA block; they do
 * not wrap, the 16-bit numbers on the wire do). `acked` is -1 until an OACK is acknowledged.
 */
export interface WindowState {
  acked: number;
  /** Highest block sent so far (0 when only an OACK, or nothing, went out). */
  sent: number;
  /** Number of the final block. */
  last: number;
  windowSize: number;
}

/** What to do about an ACK. */
export type AckAction =
  | { kind: "done" }
  /** Send blocks `from`..`to` (absolute, inclusive): the next window. */
  | { kind: "send"; from: number; to: number }
  /** Ignore: a duplicate of the last ACK (only our timer retransmits: RFC 1123 4.2.3.1), or an older one. */
  | { kind: "ignore"; why: "duplicate" | "stale" };

/** The absolute block an ACK's 16-bit number names: the one in acked..acked+65535 that matches. */
export function ackedBlock(state: WindowState, wireBlock: number): number {
  return state.acked + ((wireBlock - state.acked) & 0xffff);
}

/**
 * RFC 7440 4: an ACK of block n (acked < n <= sent) moves the window to start after n; when n is
 * inside the window the client missed n+1, so n+1 onwards goes again at once. An ACK of the
 * final block ends the transfer.
 */
export function onAck(state: WindowState, wireBlock: number): AckAction {
  const n = ackedBlock(state, wireBlock);
  if (n === state.acked) return { kind: "ignore", why: "duplicate" };
  if (n > state.sent) return { kind: "ignore", why: "stale" }; // before `acked`, seen through the 16-bit wrap
  if (n >= state.last) return { kind: "done" };
  return { kind: "send", from: n + 1, to: Math.min(n + state.windowSize, state.last) };
}

/** The window to send again after a timeout: from the first unacknowledged block (RFC 7440 4). */
export function retransmitWindow(state: WindowState): { from: number; to: number } {
  const from = Math.max(1, state.acked + 1);
  return { from, to: Math.min(from + state.windowSize - 1, state.last) };
}

/** Why a file could not be served, as files.ts finds it. */
export type FileProblem = "not-found" | "outside-root" | "not-a-file" | "unreadable" | "too-large";

/** The ERROR for a file problem (RFC 1350 appendix codes). */
export function fileRefusal(problem: FileProblem): Refusal {
  switch (problem) {
    case "not-found":
      return { code: ErrorCode.fileNotFound, message: "file not found", reason: problem };
    case "not-a-file":
      return { code: ErrorCode.fileNotFound, message: "not a regular file", reason: problem };
    case "outside-root":
      return { code: ErrorCode.accessViolation, message: "path leaves the served directory", reason: problem };
    case "unreadable":
      return { code: ErrorCode.accessViolation, message: "file cannot be read", reason: problem };
    case "too-large":
      return { code: ErrorCode.notDefined, message: "file too large for netascii; use octet", reason: problem };
  }
}

/** The 16-bit block number of absolute block `n` on the wire: it wraps from 65535 to 0. */
export const wireBlock = (n: number): number => n & 0xffff;
