/**
 * Docker's multiplexed log stream (containers without a TTY): frames of an 8-byte header
 * `[stream, 0, 0, 0, size uint32 big-endian]` and `size` bytes of payload; stream 1 is stdout,
 * 2 stderr (Docker Engine API, "Attach to a container": stream format). Pure: bytes in, lines out.
 */

/** One line of container output. */
export interface LogLine {
  stream: "stdout" | "stderr";
  text: string;
}

const HEADER_BYTES = 8;
const STREAMS: Record<number, LogLine["stream"]> = { 1: "stdout", 2: "stderr" };

/** Splits chunks as they arrive (a frame or a line may span chunks) into lines per stream. */
export class LogDemuxer {
  private pending = new Uint8Array(0);
  private partial: Record<LogLine["stream"], string> = { stdout: "", stderr: "" };
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  /** Feeds bytes; returns the complete lines they finish. */
  push(chunk: Uint8Array): LogLine[] {
    const buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const out: LogLine[] = [];
    let off = 0;
    while (buf.length - off >= HEADER_BYTES) {
      const view = new DataView(buf.buffer, buf.byteOffset + off, HEADER_BYTES);
      const size = view.getUint32(4);
      if (buf.length - off - HEADER_BYTES < size) break;
      // stdin (0) never carries output; anything unknown is shown as stdout rather than lost.
      const stream = STREAMS[buf[off]!] ?? "stdout";
      const text = this.partial[stream] + this.decoders[stream].decode(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + size), { stream: true });
      const parts = text.split("\n");
      this.partial[stream] = parts.pop()!;
      for (const p of parts) out.push({ stream, text: p.endsWith("\r") ? p.slice(0, -1) : p });
      off += HEADER_BYTES + size;
    }
    this.pending = buf.slice(off);
    return out;
  }

  /** The unterminated last lines, once the stream has ended. */
  end(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      const text = this.partial[stream] + this.decoders[stream].decode();
      if (text !== "") out.push({ stream, text });
      this.partial[stream] = "";
    }
    return out;
  }
}

/** Encodes one frame (tests, and a fake Docker). */
export function encodeFrame(stream: 1 | 2, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, HEADER_BYTES);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Keeps the last `max` lines (for the message of a failed action). */
export class LastLines {
  private readonly lines: string[] = [];
  constructor(private readonly max: number) {}
  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}
