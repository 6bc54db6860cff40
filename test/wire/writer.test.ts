import { describe, expect, test } from "bun:test";
import { Writer } from "../../daemon/wire/writer.ts";

describe("Writer", () => {
  test("writes big-endian integers and bytes at an offset", () => {
    const out = new Uint8Array(16).fill(0xaa);
    const w = new Writer(out, 3);
    w.u8(0x101); // low 8 bits
    w.u16(0x0203);
    w.u32(0xdeadbeef);
    w.bytes(Uint8Array.of(7, 8));
    expect(w.written).toBe(9);
    expect(w.overflow).toBe(false);
    expect(Array.from(out.subarray(0, 13))).toEqual([0xaa, 0xaa, 0xaa, 1, 2, 3, 0xde, 0xad, 0xbe, 0xef, 7, 8, 0xaa]);
  });

  test("fixed-width fields truncate or zero-fill", () => {
    const out = new Uint8Array(8).fill(0xaa);
    const w = new Writer(out);
    w.bytes(Uint8Array.of(1, 2), 4);
    w.bytes(Uint8Array.of(3, 4, 5, 6), 2);
    w.zeros(2);
    expect(Array.from(out)).toEqual([1, 2, 0, 0, 3, 4, 0, 0]);
    expect(w.written).toBe(8);
  });

  test("drops writes past the end, flags overflow and keeps counting", () => {
    const out = new Uint8Array(5);
    const w = new Writer(out, 2);
    w.u16(0xffff);
    w.u16(0x1234); // does not fit: nothing written
    w.u8(1); // later writes are dropped too
    expect(w.overflow).toBe(true);
    expect(w.written).toBe(5);
    expect(Array.from(out)).toEqual([0, 0, 0xff, 0xff, 0]);
  });
});
