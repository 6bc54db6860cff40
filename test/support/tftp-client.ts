/**
 * A small TFTP read client for tests: RFC 1350 with RFC 2347 options and RFC 7440 windowsize,
 * which no Debian client speaks. It counts what it receives (to prove the server sends no
 * duplicates), can send every ACK twice, and can send raw bytes as the request. Run as a
 * program (`bun test/support/tftp-client.ts --host H --port P --file F [--blksize N]
 * [--windowsize N] [--timeout S] [--tsize] [--dally MS]`) it prints one JSON line, so a test can
 * run it inside a network namespace.
 */
import { createHash } from "node:crypto";
import { ACK, DATA, ERROR, OACK, RRQ, decodeTftp, encodeTftp, tftpLength, type TftpPacket } from "../../daemon/tftp/codec.ts";

export interface TftpGetOptions {
  host: string;
  port: number;
  filename: string;
  mode?: string;
  /** Options sent in order, e.g. { blksize: 8192, windowsize: 4, tsize: 0 }. */
  options?: Record<string, string | number>;
  /** Address to bind (default 127.0.0.1; 0.0.0.0 inside a namespace). */
  bind?: string;
  /** Silence after which the last ACK (or the request) is sent again. */
  timeoutMs?: number;
  retries?: number;
  /** Send every ACK twice (a client that does so must not make the server send twice). */
  duplicateAcks?: boolean;
  /** Stay this long after the final ACK to answer a retransmitted final block (RFC 1350 6). */
  dallyMs?: number;
  /** Sent instead of an encoded RRQ. */
  rawRequest?: Uint8Array;
  /** Give up after this long in all. */
  deadlineMs?: number;
}

export interface TftpGetResult {
  ok: boolean;
  data: Uint8Array;
  sha256: string;
  error?: { code: number; message: string };
  /** Options of the OACK, lower-cased names; undefined when the server sent none. */
  oack?: Record<string, string>;
  /** DATA packets received from the server, and how many of them carried a block already held. */
  dataPackets: number;
  duplicateData: number;
  acksSent: number;
  /** The transfer's port (the server's TID), 0 if none answered. */
  serverPort: number;
  /** Packets from another port, answered with ERROR 5 (RFC 1350 4). */
  strayPackets: number;
  /** ICMP errors seen (a re-ACK after the server closed the transfer). */
  socketErrors: number;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Reads one file; resolves when the transfer ends, however it ends. */
export async function tftpGet(o: TftpGetOptions): Promise<TftpGetResult> {
  const timeoutMs = o.timeoutMs ?? 1000;
  const retries = o.retries ?? 8;
  const chunks: Uint8Array[] = [];
  let received = 0;
  let blockSize = 512;
  let windowSize = 1;
  let expected = 1; // absolute number of the next block wanted
  let inWindow = 0;
  let gapAcked = false;
  let serverPort = 0;
  const result: Omit<TftpGetResult, "ok" | "data" | "sha256"> = { dataPackets: 0, duplicateData: 0, acksSent: 0, serverPort: 0, strayPackets: 0, socketErrors: 0 };
  let finished = false;
  let finalBlock = -1;
  let lastSent: Uint8Array;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let silentTimeouts = 0;
  let resolveDone!: (ok: boolean) => void;
  const done = new Promise<boolean>((r) => (resolveDone = r));

  const encode = (p: TftpPacket) => {
    const b = new Uint8Array(tftpLength(p));
    encodeTftp(p, b, 0);
    return b;
  };
  const socket = await Bun.udpSocket({
    hostname: o.bind ?? "127.0.0.1",
    port: 0,
    binaryType: "uint8array",
    socket: {
      data: (_s, data, port) => onPacket(data, port),
      // ICMP unreachable (the server closed the transfer while we dally) is not our failure.
      error: () => void result.socketErrors++,
    },
  });
  // Bun reports ICMP errors queued on the socket by throwing from the next send.
  const sendTo = (b: Uint8Array, port: number) => {
    try {
      socket.send(b, port, o.host);
    } catch {
      result.socketErrors++;
    }
  };
  const send = (b: Uint8Array, port = serverPort) => {
    lastSent = b;
    sendTo(b, port);
  };
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onTimeout, timeoutMs);
  };
  const end = (ok: boolean) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    resolveDone(ok);
  };
  function ack(block: number): void {
    const b = encode({ op: ACK, block: block & 0xffff });
    send(b);
    result.acksSent++;
    if (o.duplicateAcks) sendTo(b, serverPort), result.acksSent++;
    inWindow = 0;
  }
  function onTimeout(): void {
    if (finished) return;
    if (++silentTimeouts > retries) {
      result.error = { code: -1, message: "client timed out" };
      return end(false);
    }
    sendTo(lastSent, serverPort || o.port); // the request or the last ACK again
    arm();
  }
  function onPacket(data: Uint8Array, port: number): void {
    if (serverPort === 0) serverPort = port;
    if (port !== serverPort) {
      result.strayPackets++;
      sendTo(encode({ op: ERROR, code: 5, message: "unknown transfer ID" }), port);
      return;
    }
    const d = decodeTftp(data);
    if (!d.ok) return;
    const p = d.value;
    silentTimeouts = 0;
    if (finalBlock >= 0) {
      // Dallying: the final ACK was lost if the final block comes again.
      if (p.op === DATA) ack(finalBlock);
      return;
    }
    if (p.op === ERROR) {
      result.error = { code: p.code, message: p.message };
      return end(false);
    }
    if (p.op === OACK && expected === 1 && result.oack === undefined) {
      result.oack = Object.fromEntries(p.options.map(([k, v]) => [k.toLowerCase(), v]));
      blockSize = Number(result.oack.blksize ?? 512);
      windowSize = Number(result.oack.windowsize ?? 1);
      ack(0);
      arm();
      return;
    }
    if (p.op !== DATA) return;
    result.dataPackets++;
    if (p.block === (expected & 0xffff)) {
      chunks.push(p.data.slice());
      received += p.data.length;
      expected++;
      inWindow++;
      gapAcked = false;
      if (p.data.length < blockSize) {
        finalBlock = expected - 1;
        ack(finalBlock);
        if (timer) clearTimeout(timer);
        if (o.dallyMs) setTimeout(() => end(true), o.dallyMs);
        else end(true);
        return;
      }
      if (inWindow >= windowSize) ack(expected - 1);
    } else if (((p.block - expected) & 0xffff) < 0x8000) {
      // A block ahead of the one wanted: one went missing. RFC 7440 4: ACK the last in order.
      if (!gapAcked) ack(expected - 1), (gapAcked = true);
    } else {
      result.duplicateData++;
      if (!gapAcked) ack(expected - 1), (gapAcked = true);
    }
    arm();
  }

  const request =
    o.rawRequest ??
    encode({ op: RRQ, filename: o.filename, mode: o.mode ?? "octet", options: Object.entries(o.options ?? {}).map(([k, v]) => [k, String(v)] as const) });
  lastSent = request;
  sendTo(request, o.port);
  arm();
  const deadline = setTimeout(() => {
    result.error = { code: -1, message: "deadline passed" };
    end(false);
  }, o.deadlineMs ?? 60_000);
  const ok = await done;
  clearTimeout(deadline);
  socket.close();
  const data = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) data.set(c, at), (at += c.length);
  return { ok, data, sha256: sha256(data), ...result, serverPort };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const options: Record<string, string> = {};
  for (const name of ["blksize", "windowsize", "timeout"]) if (arg(name)) options[name] = arg(name)!;
  if (args.includes("--tsize")) options.tsize = "0";
  const r = await tftpGet({
    host: arg("host") ?? "127.0.0.1",
    port: Number(arg("port") ?? 69),
    filename: arg("file") ?? "",
    bind: arg("bind") ?? "0.0.0.0",
    options,
    timeoutMs: Number(arg("client-timeout") ?? 1000),
    retries: Number(arg("retries") ?? 8),
    dallyMs: Number(arg("dally") ?? 0),
    deadlineMs: Number(arg("deadline") ?? 120_000),
  });
  const { data, ...rest } = r;
  console.log(JSON.stringify({ ...rest, size: data.length }));
  process.exit(r.ok ? 0 : 1);
}
