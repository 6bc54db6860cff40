/**
 * A cursor that writes into a caller-owned buffer (a socket's send buffer) from an offset.
 * Writes past the end are dropped and set `overflow`, so an encoder writes straight down and
 * checks once; nothing is allocated.
 */
export class Writer {
  /** The destination; the caller owns it. */
  readonly buf: Uint8Array;
  /** Where writing started. */
  readonly start: number;
  /** Index of the next byte to write (keeps counting past the end on overflow). */
  offset: number;
  /** True once any write did not fit. */
  overflow = false;

  /** Writes into `buf` starting at `offset`. */
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.start = offset;
    this.offset = offset;
  }

  /** Bytes written (or that would have been, on overflow) since `start`. */
  get written(): number {
    return this.offset - this.start;
  }

  /** One byte (low 8 bits of `v`). */
  u8(v: number): void {
    if (this.fits(1)) this.buf[this.offset] = v;
    this.offset += 1;
  }

  /** A big-endian (network order) 16-bit integer. */
  u16(v: number): void {
    if (this.fits(2)) {
      this.buf[this.offset] = v >>> 8;
      this.buf[this.offset + 1] = v;
    }
    this.offset += 2;
  }

  /** A big-endian (network order) 32-bit integer. */
  u32(v: number): void {
    if (this.fits(4)) {
      const b = this.buf;
      const o = this.offset;
      b[o] = v >>> 24;
      b[o + 1] = v >>> 16;
      b[o + 2] = v >>> 8;
      b[o + 3] = v;
    }
    this.offset += 4;
  }

  /** Copies `src`; with `width`, truncates or zero-fills to exactly that many bytes. */
  bytes(src: Uint8Array, width = src.length): void {
    const n = Math.min(src.length, width);
    if (this.fits(width)) {
      const b = this.buf;
      const o = this.offset;
      // Option values are mostly a few bytes, where a loop beats set()/fill()'s call overhead.
      if (width <= 32) {
        for (let i = 0; i < n; i++) b[o + i] = src[i]!;
        for (let i = n; i < width; i++) b[o + i] = 0;
      } else {
        b.set(n === src.length ? src : src.subarray(0, n), o);
        if (width > n) b.fill(0, o + n, o + width);
      }
    }
    this.offset += width;
  }

  /** `n` zero bytes. */
  zeros(n: number): void {
    if (this.fits(n)) this.buf.fill(0, this.offset, this.offset + n);
    this.offset += n;
  }

  private fits(n: number): boolean {
    if (this.offset + n <= this.buf.length && !this.overflow) return true;
    this.overflow = true;
    return false;
  }
}
