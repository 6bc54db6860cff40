/**
 * The server's decoder: the same packets and verdicts as decodeDhcp, read where they lie. One
 * DhcpDecoder per socket is reused for every packet: the packet, its options and the Result are
 * the same objects each time, and options are an index of (code, start, length) over the
 * received bytes, so a request allocates only the views that policy asks for. What it returns is
 * valid until the next decode: the server handles a packet synchronously, then takes the next.
 */
import type { Result } from "../lib/result.ts";
import {
  decodeDhcp, dhcpPacket, BOOTREPLY, BOOTREQUEST, CHADDR_AT, CHADDR_SIZE, COOKIE_AT, END, FILE_AT, FILE_SIZE, MAGIC_COOKIE, OPTIONS_AT, PAD, SNAME_AT,
  SNAME_SIZE, type DhcpPacket,
} from "./codec.ts";
import { checkOptionAt, type DhcpOptions } from "./options.ts";

const OVERLOAD = 52; // RFC 2132 9.3: 1 = file holds options, 2 = sname, 3 = both
const CODES = 256;
const EMPTY = new Uint8Array(0);

/**
 * Options of a received packet without copying them: code -> (start, length) in the packet's
 * bytes, in order of first appearance; a view is made when a value is asked for. A code that
 * appears more than once is concatenated once, at decode (RFC 3396). `set` and `delete` turn it
 * into a plain Map first (nothing in the server edits a request; tests may).
 */
export class ReceivedOptions implements DhcpOptions {
  #buf: Uint8Array = EMPTY;
  /** Entry of each code, -1 when absent. */
  readonly #entry = new Int16Array(CODES).fill(-1);
  /** By entry: code, start of its value (-1: concatenated, in #joined) and length. */
  readonly #code = new Uint8Array(CODES);
  readonly #start = new Int32Array(CODES);
  readonly #length = new Int32Array(CODES);
  #count = 0;
  #joined: Map<number, Uint8Array> | undefined;
  #edited: Map<number, Uint8Array> | undefined;

  /** Empties the index and points it at `buf`. */
  reset(buf: Uint8Array): void {
    for (let i = 0; i < this.#count; i++) this.#entry[this.#code[i]!] = -1;
    this.#count = 0;
    this.#joined?.clear();
    this.#edited = undefined;
    this.#buf = buf;
  }

  /** Records one instance of `code` at `start`; a repeat is appended to the earlier value (RFC 3396). */
  add(code: number, start: number, length: number): void {
    const e = this.#entry[code]!;
    if (e < 0) {
      const n = this.#count++;
      this.#entry[code] = n;
      this.#code[n] = code;
      this.#start[n] = start;
      this.#length[n] = length;
      return;
    }
    const earlier = this.#valueOf(e);
    const joined = new Uint8Array(earlier.length + length);
    joined.set(earlier);
    joined.set(this.#buf.subarray(start, start + length), earlier.length);
    (this.#joined ??= new Map()).set(code, joined);
    this.#start[e] = -1;
    this.#length[e] = joined.length;
  }

  /** Why an option is not valid for its type, as decodeDhcp says it (without the byte), or undefined. */
  firstInvalid(): { code: number; why: string } | undefined {
    for (let i = 0; i < this.#count; i++) {
      const code = this.#code[i]!;
      const start = this.#start[i]!;
      const why = start < 0 ? checkOptionAt(code, this.#joined!.get(code)!, 0, this.#length[i]!) : checkOptionAt(code, this.#buf, start, this.#length[i]!);
      if (why !== undefined) return { code, why };
    }
    return undefined;
  }

  get size(): number {
    return this.#edited?.size ?? this.#count;
  }

  get(code: number): Uint8Array | undefined {
    if (this.#edited !== undefined) return this.#edited.get(code);
    const e = this.#entry[code] ?? -1; // undefined for a code that is not 0-255
    return e < 0 ? undefined : this.#valueOf(e);
  }

  has(code: number): boolean {
    if (this.#edited !== undefined) return this.#edited.has(code);
    return (this.#entry[code] ?? -1) >= 0;
  }

  set(code: number, value: Uint8Array): this {
    this.#materialize().set(code, value);
    return this;
  }

  delete(code: number): boolean {
    return this.#materialize().delete(code);
  }

  forEach(callback: (value: Uint8Array, code: number, options: DhcpOptions) => void, thisArg?: unknown): void {
    if (this.#edited !== undefined) {
      this.#edited.forEach((v, k) => callback.call(thisArg, v, k, this));
      return;
    }
    for (let i = 0; i < this.#count; i++) callback.call(thisArg, this.#valueOf(i), this.#code[i]!, this);
  }

  *entries(): IterableIterator<[number, Uint8Array]> {
    if (this.#edited !== undefined) {
      yield* this.#edited.entries();
      return;
    }
    for (let i = 0; i < this.#count; i++) yield [this.#code[i]!, this.#valueOf(i)];
  }

  *keys(): IterableIterator<number> {
    for (const [code] of this.entries()) yield code;
  }

  *values(): IterableIterator<Uint8Array> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[number, Uint8Array]> {
    return this.entries();
  }

  #valueOf(e: number): Uint8Array {
    const start = this.#start[e]!;
    return start < 0 ? this.#joined!.get(this.#code[e]!)! : this.#buf.subarray(start, start + this.#length[e]!);
  }

  #materialize(): Map<number, Uint8Array> {
    if (this.#edited === undefined) {
      const map = new Map<number, Uint8Array>();
      for (let i = 0; i < this.#count; i++) map.set(this.#code[i]!, this.#valueOf(i));
      this.#edited = map;
    }
    return this.#edited;
  }
}

/** Decodes requests into one reused packet; see the file comment for how long a result lives. */
export class DhcpDecoder {
  readonly #options = new ReceivedOptions();
  readonly #packet: DhcpPacket = dhcpPacket({ options: this.#options });
  readonly #result: { ok: true; value: DhcpPacket } = { ok: true, value: this.#packet };
  /** Packets the fast path handed to decodeDhcp (malformed ones, when the decoder is right). */
  refused = 0;
  #overloadSeen = false;
  #overloadLength = 0;
  #overloadValue = 0;

  /**
   * The packet decodeDhcp would return for `buf`, or its error. Malformed packets are rare and
   * their error text is decodeDhcp's job: any packet this fast path refuses is handed to it.
   */
  decode(buf: Uint8Array): Result<DhcpPacket> {
    if (buf.length < OPTIONS_AT) return this.#refuse(buf);
    const op = buf[0]!;
    const hlen = buf[2]!;
    if ((op !== BOOTREQUEST && op !== BOOTREPLY) || hlen > CHADDR_SIZE || u32(buf, COOKIE_AT) !== MAGIC_COOKIE) return this.#refuse(buf);

    const options = this.#options;
    options.reset(buf);
    this.#overloadSeen = false;
    this.#overloadLength = 0;
    if (!this.#scan(buf, OPTIONS_AT, buf.length, true)) return this.#refuse(buf);
    let overload = 0;
    if (this.#overloadSeen) {
      if (this.#overloadLength !== 1) return this.#refuse(buf);
      overload = this.#overloadValue;
      if (overload < 1 || overload > 3) return this.#refuse(buf);
      // RFC 3396 / RFC 2131 4.1: the aggregate option buffer is options, then file, then sname.
      if (overload & 1 && !this.#scan(buf, FILE_AT, FILE_AT + FILE_SIZE, false)) return this.#refuse(buf);
      if (overload & 2 && !this.#scan(buf, SNAME_AT, SNAME_AT + SNAME_SIZE, false)) return this.#refuse(buf);
    }
    if (options.firstInvalid() !== undefined) return this.#refuse(buf);

    const p = this.#packet;
    p.op = op;
    p.htype = buf[1]!;
    p.hlen = hlen;
    p.hops = buf[3]!;
    p.xid = u32(buf, 4);
    p.secs = (buf[8]! << 8) | buf[9]!;
    p.flags = (buf[10]! << 8) | buf[11]!;
    p.ciaddr = u32(buf, 12);
    p.yiaddr = u32(buf, 16);
    p.siaddr = u32(buf, 20);
    p.giaddr = u32(buf, 24);
    p.chaddr = buf.subarray(CHADDR_AT, CHADDR_AT + hlen);
    p.sname = overload & 2 ? EMPTY : untilNul(buf, SNAME_AT, SNAME_SIZE);
    p.file = overload & 1 ? EMPTY : untilNul(buf, FILE_AT, FILE_SIZE);
    return this.#result;
  }

  #refuse(buf: Uint8Array): Result<DhcpPacket> {
    this.refused++;
    return decodeDhcp(buf);
  }

  // One area's code/length/value triples into the index; false when decodeDhcp would refuse them.
  // Option 52 is counted here, not indexed: decodeDhcp consumes it (RFC 2131 4.1: options field only).
  #scan(buf: Uint8Array, start: number, end: number, optionsField: boolean): boolean {
    for (let i = start; i < end; ) {
      const code = buf[i]!;
      if (code === PAD) {
        i += 1;
        continue;
      }
      if (code === END) return true;
      if (i + 1 >= end) return false;
      const len = buf[i + 1]!;
      if (i + 2 + len > end) return false;
      if (code === OVERLOAD) {
        if (!optionsField) return false;
        this.#overloadSeen = true;
        if (this.#overloadLength === 0 && len > 0) this.#overloadValue = buf[i + 2]!;
        this.#overloadLength += len;
      } else {
        this.#options.add(code, i + 2, len);
      }
      i += 2 + len;
    }
    return true;
  }
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function untilNul(buf: Uint8Array, at: number, size: number): Uint8Array {
  let end = at;
  while (end < at + size && buf[end] !== 0) end++;
  return end === at ? EMPTY : buf.subarray(at, end);
}
