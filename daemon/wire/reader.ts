/**
 * A bounds-checked cursor over received bytes. It never throws: the first read past the end
 * records an error ("truncated at byte N: <field>") and every later read returns 0 or an empty
 * view without moving, so a decoder reads a whole structure straight down and checks once.
 */
export class Reader {
  /** The bytes being read; offsets are indices into this array. */
  readonly buf: Uint8Array;
  /** Where reading stops (exclusive), at most `buf.length`. */
  readonly end: number;
  /** Index of the next byte to read. */
  offset: number;
  /** The first thing that went wrong, or undefined while all reads have fitted. */
  error: string | undefined = undefined;
  private readonly view: DataView;

  /** Reads `buf` from `start` up to `end` (exclusive, clamped to the buffer). */
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.end = Math.min(end, buf.length);
    this.offset = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** True while no read has failed. */
  get ok(): boolean {
    return this.error === undefined;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return Math.max(0, this.end - this.offset);
  }

  /** Records `message` unless an earlier error is already recorded. */
  fail(message: string): void {
    if (this.error === undefined) this.error = message;
  }

  /** One unsigned byte, or 0 if it is not there. */
  u8(field: string): number {
    if (!this.need(1, field)) return 0;
    return this.buf[this.offset++]!;
  }

  /** A big-endian (network order) unsigned 16-bit integer, or 0. */
  u16(field: string): number {
    if (!this.need(2, field)) return 0;
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  /** A big-endian (network order) unsigned 32-bit integer, or 0. */
  u32(field: string): number {
    if (!this.need(4, field)) return 0;
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** A view (not a copy) of the next `n` bytes, or an empty view. */
  bytes(n: number, field: string): Uint8Array {
    if (!this.need(n, field)) return this.buf.subarray(0, 0);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** Moves past `n` bytes. */
  skip(n: number, field: string): void {
    if (this.need(n, field)) this.offset += n;
  }

  private need(n: number, field: string): boolean {
    if (this.error !== undefined) return false;
    if (n < 0 || this.offset + n > this.end) {
      this.error = `truncated at byte ${this.offset}: ${field}`;
      return false;
    }
    return true;
  }
}
