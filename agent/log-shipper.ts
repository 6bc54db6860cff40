/**
 * Ships an action's output lines to wispd (wisp.v1.ActionLogs, beyond Tinkerbell): `push` only
 * queues, a single pump numbers lines and sends them in batches, one call in flight, retrying a
 * batch unchanged (same seqs, so the server stores it once) while wispd is unreachable. The queue
 * is bounded: when it overflows the oldest lines go, and a marker line says how many.
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import protoText from "../daemon/grpc/wisp_logs.proto" with { type: "text" };
import { Backoff } from "./backoff.ts";

/** How long a line waits for company before its batch goes. */
export const DEFAULT_BATCH_MS = 250;
/** Lines per batch: the server's bound (MAX_LOG_BATCH_LINES in daemon/grpc/log-policy.ts). */
export const DEFAULT_MAX_BATCH = 500;
/** Characters sent of one line (the server refuses more: MAX_PUSHED_LINE_CHARS). */
export const MAX_LINE_CHARS = 8_192;
/** Bytes of line text per batch, well under the server's 1 MiB request bound. */
export const MAX_BATCH_BYTES = 512 * 1024;
/** Lines queued at most while wispd is unreachable; beyond, the oldest are dropped. */
export const DEFAULT_MAX_BUFFERED_LINES = 10_000;
/** Bytes of line text queued at most (UTF-16 code units x 2). */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** How long close() keeps trying to deliver before it gives up on the rest. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** Per-call deadline: a call that hangs (server gone without a reset) is retried. */
export const PUSH_DEADLINE_MS = 10_000;

const SERVICE = "wisp.v1.ActionLogs";
const STREAM_NUMBERS = { stdout: 1, stderr: 2 } as const;
// Worth sending again: the network or wispd is away. Anything else will not get better.
const RETRYABLE = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
// The server will refuse every later batch too (action over, wrong agent, wrong token).
const FINAL = new Set<grpc.status>([grpc.status.FAILED_PRECONDITION, grpc.status.NOT_FOUND, grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]);

/** One numbered line of a batch. */
export interface ShippedLine {
  seq: number;
  at: Date;
  stream: "stdout" | "stderr";
  line: string;
}

/** A LogBatch. */
export interface LogBatch {
  workflowId: string;
  agentId: string;
  actionId: string;
  attempt: number;
  lines: ShippedLine[];
}

/** A finished PushLogs: the status, and the ack's last seq when OK. */
export interface PushReply {
  code: grpc.status;
  details: string;
  lastSeq?: number;
}

/** The log service as the shipper needs it. */
export interface LogsClient {
  pushLogs(batch: LogBatch): Promise<PushReply>;
  close(): void;
}

/** Connects to `authority` (host:port), plain text or TLS, sending `token` as `authorization: Bearer`. */
export function logsClient(
  authority: string,
  opts: { tls: boolean; insecureTls?: boolean; token?: string; deadlineMs?: number; reconnectMaxMs?: number },
): LogsClient {
  const root = new protobuf.Root();
  // protobufjs ships google/protobuf/timestamp.proto as JSON; the import is resolved from there.
  root.addJSON(protobuf.common.get("google/protobuf/timestamp.proto")!.nested!);
  protobuf.parse(protoText, root, { keepCase: false });
  root.resolveAll();
  const batchType = root.lookupType("wisp.v1.LogBatch");
  const ackType = root.lookupType("wisp.v1.LogAck");
  const creds = opts.tls
    ? grpc.credentials.createSsl(null, null, null, opts.insecureTls ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {})
    : grpc.credentials.createInsecure();
  // grpc-js backs off reconnecting up to 2 minutes; a provisioning agent wants its lines sooner.
  const reconnectMax = opts.reconnectMaxMs ?? 5_000;
  const client = new grpc.Client(authority, creds, {
    "grpc.initial_reconnect_backoff_ms": Math.min(1_000, reconnectMax),
    "grpc.max_reconnect_backoff_ms": reconnectMax,
  });
  return {
    pushLogs(batch) {
      const msg = {
        ...batch,
        lines: batch.lines.map((l) => ({ seq: l.seq, at: timestamp(l.at), stream: STREAM_NUMBERS[l.stream], line: l.line })),
      };
      const body = Buffer.from(batchType.encode(batchType.fromObject(msg)).finish());
      const md = new grpc.Metadata();
      if (opts.token) md.set("authorization", `Bearer ${opts.token}`);
      const deadline = Date.now() + (opts.deadlineMs ?? PUSH_DEADLINE_MS);
      return new Promise((resolve) => {
        client.makeUnaryRequest(`/${SERVICE}/PushLogs`, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline }, (e, res) => {
          if (e) return resolve({ code: e.code, details: e.details });
          try {
            const ack = ackType.toObject(ackType.decode(res!), { longs: Number, defaults: true });
            resolve({ code: grpc.status.OK, details: "", lastSeq: ack.lastSeq as number });
          } catch (err) {
            resolve({ code: grpc.status.INTERNAL, details: `malformed LogAck: ${(err as Error).message}` });
          }
        });
      });
    },
    close: () => client.close(),
  };
}

const timestamp = (d: Date) => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (((d.getTime() % 1000) + 1000) % 1000) * 1e6 });

/** What createLogShipper needs: the client and the action (as ActionResponse named it). */
export interface LogShipperOptions {
  client: LogsClient;
  workflowId: string;
  agentId: string;
  actionId: string;
  attempt: number;
  batchMs?: number;
  maxBatch?: number;
  maxBufferedLines?: number;
  maxBufferedBytes?: number;
  /** Retry back-off of a batch (agent/backoff.ts; default 1 s doubling to 5 s). */
  retryStartMs?: number;
  retryMaxMs?: number;
  closeTimeoutMs?: number;
  /** Told of a batch the server refused for good (for the agent's log); `lines` were dropped. */
  onRefused?: (reply: PushReply, lines: number) => void;
}

/** Counters of a shipper. */
export interface LogShipperStats {
  /** Lines the server acknowledged (marker lines included). */
  sent: number;
  /** Lines dropped: queue overflow, refused by the server, or undelivered at close. */
  dropped: number;
  /** Lines queued or in flight. */
  pending: number;
}

/** One action attempt's log shipper. */
export interface LogShipper {
  /** Queues a line (cut to MAX_LINE_CHARS); never blocks, never throws. */
  push(stream: "stdout" | "stderr", line: string, at?: Date): void;
  /** Resolves once every line pushed so far is acknowledged (or given up). */
  flush(): Promise<void>;
  /** Flushes for at most closeTimeoutMs, then gives up on the rest; later pushes are dropped. */
  close(): Promise<void>;
  readonly stats: LogShipperStats;
}

interface Queued {
  at: Date;
  stream: "stdout" | "stderr";
  line: string;
}

/** A shipper for one action attempt; the caller owns (and closes) the client. */
export function createLogShipper(opts: LogShipperOptions): LogShipper {
  const batchMs = opts.batchMs ?? DEFAULT_BATCH_MS;
  const maxBatch = Math.max(1, Math.min(opts.maxBatch ?? DEFAULT_MAX_BATCH, DEFAULT_MAX_BATCH));
  const maxLines = opts.maxBufferedLines ?? DEFAULT_MAX_BUFFERED_LINES;
  const maxBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const queue: Queued[] = [];
  let head = 0; // queue[head..] is unsent; the prefix is compacted away now and then
  let queuedBytes = 0;
  let droppedSinceMarker = 0;
  let nextSeq = 1;
  let inFlight = 0;
  let closed = false;
  let finished = false; // refused for good, or given up at close: nothing more is sent
  let abandoned = false; // given up at close, which counted the batch in flight as dropped
  let pumping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wakeSleep: (() => void) | undefined;
  let idleWaiters: (() => void)[] = [];
  const stats: LogShipperStats = { sent: 0, dropped: 0, pending: 0 };

  const unsent = () => queue.length - head;
  const bytesOf = (l: string) => l.length * 2;
  const updatePending = () => (stats.pending = unsent() + inFlight + (droppedSinceMarker > 0 ? 1 : 0));

  function dropOldest(): void {
    const gone = queue[head++]!;
    queuedBytes -= bytesOf(gone.line);
    droppedSinceMarker++;
    stats.dropped++;
    compact();
  }

  function compact(): void {
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }

  function dropAll(): void {
    stats.dropped += unsent();
    queue.length = 0;
    head = 0;
    queuedBytes = 0;
    droppedSinceMarker = 0;
  }

  function idle(): void {
    updatePending();
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The next batch: a marker for dropped lines first, then the oldest queued lines, numbered. */
  function take(): ShippedLine[] {
    const lines: ShippedLine[] = [];
    let bytes = 0;
    if (droppedSinceMarker > 0) {
      const line = `[wisp-agent: ${droppedSinceMarker} lines dropped: wispd unreachable and the agent's buffer full]`;
      lines.push({ seq: nextSeq++, at: new Date(), stream: "stderr", line });
      bytes += bytesOf(line);
      droppedSinceMarker = 0;
    }
    while (head < queue.length && lines.length < maxBatch) {
      const q = queue[head]!;
      if (lines.length > 0 && bytes + bytesOf(q.line) > MAX_BATCH_BYTES) break;
      head++;
      queuedBytes -= bytesOf(q.line);
      bytes += bytesOf(q.line);
      lines.push({ seq: nextSeq++, ...q });
    }
    compact();
    return lines;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => ((wakeSleep = undefined), resolve()), ms);
      wakeSleep = () => (clearTimeout(t), (wakeSleep = undefined), resolve());
    });
  }

  /** Sends one batch until it is acknowledged, refused, or the shipper gives up. */
  async function send(lines: ShippedLine[]): Promise<void> {
    const batch: LogBatch = { workflowId: opts.workflowId, agentId: opts.agentId, actionId: opts.actionId, attempt: opts.attempt, lines };
    const backoff = new Backoff(opts.retryStartMs, opts.retryMaxMs);
    inFlight = lines.length;
    updatePending();
    try {
      for (;;) {
        let reply: PushReply;
        try {
          reply = await opts.client.pushLogs(batch);
        } catch (e) {
          reply = { code: grpc.status.UNAVAILABLE, details: (e as Error).message };
        }
        if (reply.code === grpc.status.OK) {
          stats.sent += lines.length;
          if (abandoned) stats.dropped -= lines.length; // it made it after all
          return;
        }
        if (abandoned) return;
        if (RETRYABLE.has(reply.code) && !finished) {
          await sleep(backoff.next());
          continue;
        }
        stats.dropped += lines.length;
        if (!finished) opts.onRefused?.(reply, lines.length);
        if (FINAL.has(reply.code)) {
          finished = true;
          dropAll();
        }
        return;
      }
    } finally {
      inFlight = 0;
    }
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (!finished && (unsent() > 0 || droppedSinceMarker > 0)) {
        await send(take());
        // A full batch (or someone waiting) goes at once; a few lines wait for company.
        if (unsent() < maxBatch && idleWaiters.length === 0 && !closed) {
          if (unsent() > 0) arm();
          break;
        }
      }
    } finally {
      pumping = false;
    }
    if (finished) dropAll();
    if (unsent() === 0 && droppedSinceMarker === 0) idle();
    else updatePending();
  }

  function arm(): void {
    if (timer === undefined) timer = setTimeout(kick, batchMs);
  }

  function kick(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    void pump();
  }

  function flush(): Promise<void> {
    if (finished || (!pumping && unsent() === 0 && droppedSinceMarker === 0)) return Promise.resolve();
    const done = new Promise<void>((resolve) => idleWaiters.push(resolve));
    if (!pumping) kick();
    return done;
  }

  return {
    stats,
    flush,
    push(stream, line, at = new Date()) {
      if (closed || finished) {
        stats.dropped++;
        return;
      }
      const text = line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
      queue.push({ at, stream, line: text });
      queuedBytes += bytesOf(text);
      while (unsent() > maxLines || (queuedBytes > maxBytes && unsent() > 1)) dropOldest();
      updatePending();
      if (pumping) return;
      if (unsent() >= maxBatch) kick();
      else arm();
    },
    async close() {
      closed = true;
      let giveUp: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => (giveUp = setTimeout(resolve, opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS)));
      await Promise.race([flush(), timeout]);
      clearTimeout(giveUp);
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (!finished) {
        finished = true;
        if (inFlight > 0) {
          abandoned = true;
          stats.dropped += inFlight;
          inFlight = 0;
        }
        wakeSleep?.();
        dropAll();
      }
      idle();
    },
  };
}
