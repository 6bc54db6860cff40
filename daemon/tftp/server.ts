/**
 * The TFTP server: the only TFTP code that touches sockets. A listener takes read requests; each
 * transfer gets its own UDP socket (a new TID, RFC 1350 4) connected to the client, so the kernel
 * drops packets from anyone else. Sends a window of DATA blocks (RFC 7440), retransmits the window
 * from the first unacknowledged block on timeout up to a retry limit, and ignores duplicate ACKs.
 */
import type { udp } from "bun";
import type { MetricsRegistry } from "../lib/metrics.ts";
import { machineFields, machineLogger, type Logger, type MachineFields } from "../lib/log.ts";
import { setReceiveBuffer } from "../net/libc.ts";
import {
  ACK, DATA_HEADER_LENGTH, ERROR, ErrorCode, OACK, RRQ, WRQ,
  decodeTftp, encodeDataHeader, encodeTftp, tftpLength, type TftpOption, type TftpPacket,
} from "./codec.ts";
import type { FileSource, OpenFile } from "./files.ts";
import { tftpMetrics, type TftpMetrics } from "./metrics.ts";
import {
  DEFAULT_NEGOTIATION, blockCount, fileRefusal, negotiate, onAck, readRequest, retransmitWindow, wireBlock,
  type Negotiated, type NegotiationConfig, type ReadRequest, type Refusal, type WindowState,
} from "./policy.ts";

/** The port PXE ROMs send read requests to (RFC 1350 4). */
export const DEFAULT_TFTP_PORT = 69;
/** Timeouts in a row before a transfer is abandoned (tftpd-hpa gives up after about as many). */
export const DEFAULT_RETRIES = 5;
/**
 * Transfers at once (--tftp-max-transfers). A request over the limit is dropped unanswered
 * (counted as "busy"): a PXE ROM gives up the boot on an ERROR, but retransmits its RRQ after its
 * own timeout, by which time a slot has usually freed. Each transfer holds one UDP socket and a
 * block buffer (1.5 KiB at the block size PXE ROMs ask for). 1,024 let 2,048 of 3,000 and of
 * 5,000 machines at once through in bench/storm: the rest retransmitted into full slots until
 * their ROM gave up.
 */
export const DEFAULT_MAX_TRANSFERS = 4096;
/** The listener's receive buffer (as DHCP's): room for a storm's requests while the loop is busy. */
const LISTENER_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
// Our ERROR messages are short; a client's text is never echoed in full.
const MAX_MESSAGE_LENGTH = 200;

/** What the server needs. */
export interface TftpServerOptions {
  /** Address to bind; transfer sockets bind it too. */
  hostname: string;
  port: number;
  files: FileSource;
  logger: Logger;
  metrics: MetricsRegistry;
  negotiation?: Partial<NegotiationConfig>;
  retries?: number;
  /** ops: the machine at a peer address (or named by the MAC in the path), for the log lines. */
  machine?: (address: string, mac?: string) => MachineFields;
  maxTransfers?: number;
}

/** A running server. */
export interface TftpServer {
  readonly port: number;
  /** Transfers under way. */
  readonly activeTransfers: number;
  /** Closes the listener and abandons transfers under way. */
  stop(): Promise<void>;
}

type Socket = udp.Socket<"uint8array">;

// Bun reports a queued ICMP error by a callback, or on some paths by throwing from the next send;
// a throw must not escape into a timer or a promise. False: not sent (the timer retransmits).
function guarded(send: () => boolean): boolean {
  try {
    return send();
  } catch {
    return false;
  }
}
type TransferSocket = udp.ConnectedSocket<"uint8array">;

/** Binds the listener and serves until stop(). Throws when the port cannot be bound. */
export async function startTftpServer(opts: TftpServerOptions): Promise<TftpServer> {
  const log = opts.logger;
  const metrics = tftpMetrics(opts.metrics, opts.files);
  const negotiation: NegotiationConfig = { ...DEFAULT_NEGOTIATION, ...opts.negotiation };
  const retries = opts.retries ?? DEFAULT_RETRIES;
  const maxTransfers = opts.maxTransfers ?? DEFAULT_MAX_TRANSFERS;
  const transfers = new Map<string, Transfer>();
  const starting = new Set<string>(); // peers whose transfer is opening its file and socket
  const control = new Uint8Array(1024); // OACK and ERROR packets, encoded and sent at once
  let busyLoggedAt = -Infinity;

  function sendError(send: (b: Uint8Array) => boolean, code: number, message: string, reason: string): void {
    const packet: TftpPacket = { op: ERROR, code, message: message.slice(0, MAX_MESSAGE_LENGTH) };
    send(control.subarray(0, encodeTftp(packet, control, 0)));
    metrics.errors.labels(reason).inc();
  }

  const listener: Socket = await Bun.udpSocket({
    hostname: opts.hostname,
    port: opts.port,
    binaryType: "uint8array",
    socket: {
      data: (sock, data, port, address) => {
        try {
          onRequest(sock, data, port, address);
        } catch (e) {
          metrics.errors.labels("internal-error").inc();
          log.error({ err: e, peer: `${address}:${port}` }, "tftp request handling failed");
        }
      },
      // Bun passes the error first on some versions, (socket, error) on others.
      // Mostly ICMP unreachable from a client that left after our ERROR: not worth a warning.
      error: (a: unknown, b?: unknown) => log.debug({ err: a instanceof Error ? a : b }, "tftp socket error"),
    },
  });
  // A burst of RRQs (thousands of machines powered on at once) must queue in the kernel, not be
  // dropped at its 208 KiB default while the event loop is busy (bench/storm saw up to 2,392 drops).
  const buffer = setReceiveBuffer((listener as unknown as { fd: number }).fd, LISTENER_RECEIVE_BUFFER_BYTES);
  if (!buffer.ok) log.warn({ error: buffer.error }, "tftp receive buffer left at the kernel default");

  function onRequest(sock: Socket, data: Uint8Array, port: number, address: string): void {
    const peer = `${address}:${port}`;
    const reply = (b: Uint8Array) => guarded(() => sock.send(b, port, address));
    const decoded = decodeTftp(data);
    if (!decoded.ok) {
      metrics.requests.labels("malformed").inc();
      log.warn({ peer, error: decoded.error }, "tftp malformed request");
      // A request opcode is worth an answer; anything else is noise and gets none.
      const op = data.length >= 2 ? (data[0]! << 8) | data[1]! : 0;
      if (op === RRQ || op === WRQ) sendError(reply, ErrorCode.illegalOperation, `malformed request: ${decoded.error}`, "malformed");
      else metrics.errors.labels("malformed").inc();
      return;
    }
    const req = decoded.value;
    if (req.op !== RRQ && req.op !== WRQ) {
      metrics.requests.labels("not-a-request").inc();
      metrics.errors.labels("not-a-request").inc();
      log.debug({ peer, op: req.op }, "tftp packet on the listener is not a request");
      return;
    }
    const checked = readRequest(req);
    if (!checked.ok) return refuse(reply, peer, req.filename, undefined, checked.error);
    const read = checked.value;
    const existing = transfers.get(peer);
    if (starting.has(peer) || (existing && existing.request.name === read.name && existing.state.acked < 1)) {
      // The client sent its request again before our first answer reached it: that answer is
      // retransmitted by the transfer's own timer, a second transfer would only compete.
      metrics.requests.labels("duplicate").inc();
      return;
    }
    if (transfers.size + starting.size >= maxTransfers) {
      metrics.requests.labels("busy").inc();
      // One line a second at most: a storm over the limit would otherwise log every retransmit.
      const now = performance.now();
      if (now - busyLoggedAt >= 1000) {
        busyLoggedAt = now;
        log.warn({ peer, path: read.name, mac: read.mac, active: transfers.size, limit: maxTransfers, ...machineFields(opts.machine?.(address, read.mac) ?? {}) }, "tftp busy: request dropped, the client retransmits");
      }
      return;
    }
    starting.add(peer);
    void startTransfer(reply, peer, address, port, read).finally(() => starting.delete(peer));
  }

  function refuse(reply: (b: Uint8Array) => boolean, peer: string, path: string, mac: string | undefined, r: Refusal): void {
    metrics.requests.labels("refused").inc();
    sendError(reply, r.code, r.message, r.reason);
    log.info({ peer, path, mac, reason: r.reason, code: r.code, ...machineFields(opts.machine?.(peer.slice(0, peer.lastIndexOf(":")), mac) ?? {}) }, "tftp request refused");
  }

  async function startTransfer(reply: (b: Uint8Array) => boolean, peer: string, address: string, port: number, read: ReadRequest): Promise<void> {
    const opened = await opts.files.open(read.name, read.mode);
    if (!opened.ok) return refuse(reply, peer, read.name, read.mac, fileRefusal(opened.error));
    const file = opened.value;
    const negotiated = negotiate(read.options, file.size, negotiation);
    let t: Transfer;
    try {
      // ops: every line of the transfer carries the machine (its lines name `mac` themselves
      // when the path had one: the child leaves it out then, so no line has it twice).
      const who = opts.machine?.(address, read.mac);
      const bound = who && (read.mac === undefined ? who : { ...who, mac: undefined });
      t = await Transfer.open({ opts, metrics, log: bound ? machineLogger(log, bound) : log, retries, read, file, negotiated, peer, address, port, control, sendError });
    } catch (e) {
      await file.close();
      metrics.requests.labels("failed").inc();
      metrics.errors.labels("socket").inc();
      log.error({ err: e, peer, path: read.name }, "tftp transfer socket failed");
      return;
    }
    metrics.requests.labels("accepted").inc();
    transfers.set(peer, t);
    metrics.active.inc();
    t.ended.then(() => {
      if (transfers.get(peer) === t) transfers.delete(peer);
      metrics.active.dec();
    });
    t.start();
  }

  log.info({ address: opts.hostname, port: listener.port }, "tftp listening");
  return {
    get port() {
      return listener.port;
    },
    get activeTransfers() {
      return transfers.size;
    },
    async stop() {
      listener.close();
      await Promise.all([...transfers.values()].map((t) => t.finish("stopped")));
    },
  };
}

interface TransferContext {
  opts: TftpServerOptions;
  metrics: TftpMetrics;
  log: Logger;
  retries: number;
  read: ReadRequest;
  file: OpenFile;
  negotiated: Negotiated;
  peer: string;
  address: string;
  port: number;
  control: Uint8Array;
  sendError: (send: (b: Uint8Array) => boolean, code: number, message: string, reason: string) => void;
}

/** One read transfer on its own socket. */
class Transfer {
  readonly request: ReadRequest;
  readonly state: WindowState;
  /** Resolves once the transfer is over, however it ended. */
  readonly ended: Promise<void>;
  private readonly c: TransferContext;
  private readonly socket: TransferSocket;
  private readonly packet: Uint8Array;
  private readonly oack: TftpOption[];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timeouts = 0;
  private retransmitted = 0;
  // Bumped by every send decision, so a window whose file read finishes late is dropped when a
  // newer decision (an ACK, a timeout) has been taken meanwhile.
  private generation = 0;
  private blocked: { from: number; to: number; generation: number } | undefined;
  private done = false;
  private resolveEnded!: () => void;
  private readonly started = performance.now();

  private constructor(c: TransferContext, socket: TransferSocket) {
    this.c = c;
    this.socket = socket;
    this.request = c.read;
    this.oack = c.negotiated.oack;
    const last = blockCount(c.file.size, c.negotiated.blockSize);
    this.state = { acked: this.oack.length > 0 ? -1 : 0, sent: 0, last, windowSize: c.negotiated.windowSize };
    this.packet = new Uint8Array(DATA_HEADER_LENGTH + c.negotiated.blockSize);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** Opens the transfer's socket (an ephemeral port connected to the client). */
  static async open(c: TransferContext): Promise<Transfer> {
    const holder: { t?: Transfer } = {};
    const socket = await Bun.udpSocket({
      hostname: c.opts.hostname,
      port: 0,
      binaryType: "uint8array",
      connect: { hostname: c.address, port: c.port },
      socket: {
        data: (_s, data) => holder.t?.onPacket(data),
        drain: () => holder.t?.onDrain(),
        error: (a: unknown, b?: unknown) => holder.t?.onSocketError(a instanceof Error ? a : b),
      },
    });
    return (holder.t = new Transfer(c, socket));
  }

  /** Sends the OACK, or the first window when no option was accepted. */
  start(): void {
    const { log, read, file, negotiated, peer } = this.c;
    log.debug(
      { peer, path: read.name, mac: read.mac, file: file.file, size: file.size, mode: read.mode, blockSize: negotiated.blockSize, windowSize: negotiated.windowSize, oack: this.oack },
      "tftp transfer started",
    );
    if (this.oack.length > 0) this.sendOack();
    else this.sendWindow(1, Math.min(this.state.windowSize, this.state.last));
  }

  private sendOack(): void {
    const p: TftpPacket = { op: OACK, options: this.oack };
    const n = tftpLength(p);
    const buf = n <= this.c.control.length ? this.c.control : new Uint8Array(n);
    this.send(buf.subarray(0, encodeTftp(p, buf, 0)));
    this.arm();
  }

  private onPacket(data: Uint8Array): void {
    if (this.done) return;
    // The lockstep hot path: a plain 4-byte ACK (RFC 1350 5) is read in place, no packet object.
    if (data.length === 4 && data[0] === 0 && data[1] === ACK) return this.onAckBlock((data[2]! << 8) | data[3]!);
    const decoded = decodeTftp(data);
    if (!decoded.ok) {
      this.c.metrics.errors.labels("malformed").inc();
      this.c.log.warn({ peer: this.c.peer, path: this.request.name, error: decoded.error }, "tftp malformed packet in a transfer");
      return;
    }
    const p = decoded.value;
    if (p.op === ERROR) {
      this.c.metrics.errors.labels("client-error").inc();
      this.c.log.info({ peer: this.c.peer, path: this.request.name, mac: this.request.mac, code: p.code, message: p.message }, "tftp client ended the transfer");
      void this.finish("client-error");
      return;
    }
    if (p.op !== ACK) {
      this.c.sendError((b) => this.send(b), ErrorCode.illegalOperation, "expected an ACK", "illegal-operation");
      void this.finish("illegal-operation");
      return;
    }
    this.onAckBlock(p.block);
  }

  private onAckBlock(block: number): void {
    const action = onAck(this.state, block);
    if (action.kind === "ignore") return; // a duplicate ACK never sends anything (RFC 1123 4.2.3.1)
    this.timeouts = 0;
    if (action.kind === "done") {
      this.state.acked = this.state.last;
      void this.finish("complete");
      return;
    }
    this.state.acked = action.from - 1;
    this.sendWindow(action.from, action.to);
  }

  // Bytes held in memory go out at once (no promise per window); others are read first.
  private sendWindow(from: number, to: number): void {
    const bytes = this.c.file.bytes;
    if (bytes === undefined) {
      void this.sendBlocks(from, to);
      return;
    }
    const bs = this.c.negotiated.blockSize;
    const start = (from - 1) * bs;
    this.generation++;
    this.blocked = undefined;
    this.sendFrom(bytes.subarray(start, Math.min(bytes.length, start + (to - from + 1) * bs)), from, to, this.generation);
  }

  private onTimeout(): void {
    if (this.done) return;
    if (++this.timeouts > this.c.retries) {
      this.c.metrics.errors.labels("timeout").inc();
      void this.finish("timeout");
      return;
    }
    if (this.state.acked < 0) {
      this.c.metrics.retransmits.inc();
      this.retransmitted++;
      this.sendOack();
      return;
    }
    const { from, to } = retransmitWindow(this.state);
    this.sendWindow(from, to);
  }

  // ICMP port unreachable comes back as ECONNREFUSED on a connected socket: the client is gone
  // (it may have its file and lost only the final ACK), so waiting out the retries is pointless.
  private onSocketError(e: unknown): void {
    if (this.done) return;
    const code = (e as { code?: string } | undefined)?.code ?? String(e);
    this.c.log.debug({ err: e, peer: this.c.peer, path: this.request.name }, "tftp transfer socket error");
    if (code.includes("ECONNREFUSED")) void this.finish("client-gone");
  }

  private onDrain(): void {
    const b = this.blocked;
    if (!b || b.generation !== this.generation || this.done) return;
    this.blocked = undefined;
    this.sendWindow(b.from, b.to);
  }

  // Sends blocks from..to (absolute) from one read of the file, then waits for an ACK.
  private async sendBlocks(from: number, to: number): Promise<void> {
    const generation = ++this.generation;
    this.blocked = undefined;
    const bs = this.c.negotiated.blockSize;
    const view = await this.c.file.read((from - 1) * bs, (to - from + 1) * bs);
    if (generation !== this.generation || this.done) return;
    if (!view.ok) {
      this.c.sendError((b) => this.send(b), ErrorCode.notDefined, "file changed during the transfer", "read-failed");
      this.c.log.warn({ peer: this.c.peer, path: this.request.name, error: view.error }, "tftp file read failed");
      void this.finish("read-failed");
      return;
    }
    this.sendFrom(view.value, from, to, generation);
  }

  // Sends blocks from..to out of `bytes` (block `from` first), then waits for an ACK.
  private sendFrom(bytes: Uint8Array, from: number, to: number, generation: number): void {
    const bs = this.c.negotiated.blockSize;
    for (let n = from; n <= to; n++) {
      const at = (n - from) * bs;
      const payload = bytes.subarray(at, Math.min(at + bs, bytes.length));
      encodeDataHeader(wireBlock(n), this.packet, 0);
      this.packet.set(payload, DATA_HEADER_LENGTH);
      const length = DATA_HEADER_LENGTH + payload.length;
      if (!this.send(length === this.packet.length ? this.packet : this.packet.subarray(0, length))) {
        // The socket buffer is full: go on from this block once it drains.
        this.blocked = { from: n, to, generation };
        break;
      }
      this.c.metrics.dataPackets.inc();
      this.c.metrics.bytes.inc(payload.length);
      if (n > this.state.sent) this.state.sent = n;
      else this.c.metrics.retransmits.inc(), this.retransmitted++; // after a timeout or an ACK inside the window
    }
    this.arm();
  }

  // As guarded(), without a closure per packet.
  private send(b: Uint8Array): boolean {
    try {
      return this.socket.send(b);
    } catch {
      return false;
    }
  }

  // One timer per transfer, pushed back on each send (refresh: no new timer per block).
  private arm(): void {
    if (this.timer !== undefined) this.timer.refresh();
    else this.timer = setTimeout(this.timedOut, this.c.negotiated.timeoutMs);
  }

  private readonly timedOut = (): void => {
    this.timer = undefined;
    this.onTimeout();
  };

  /** Ends the transfer once: stops the timer, closes the socket and the file. */
  async finish(result: string): Promise<void> {
    if (this.done) return this.ended;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.socket.close();
    this.c.metrics.transfers.labels(result).inc();
    this.c.metrics.duration.labels(result).observe((performance.now() - this.started) / 1000);
    const { log, read, file, peer } = this.c;
    const fields = { peer, path: read.name, mac: read.mac, result, size: file.size, ms: Math.round(performance.now() - this.started), retransmits: this.retransmitted };
    if (result === "complete") log.info(fields, "tftp transfer complete");
    else log.warn(fields, "tftp transfer ended early");
    await file.close().catch(() => {});
    this.resolveEnded();
  }
}
