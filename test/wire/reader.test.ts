import { describe, expect, test } from "bun:test";
import { Reader } from "../../daemon/wire/reader.ts";

describe("Reader", () => {
  test("reads big-endian integers and views in order", () => {
    const buf = Uint8Array.of(1, 0x02, 0x03, 0xde, 0xad, 0xbe, 0xef, 9, 8, 7);
    const r = new Reader(buf);
    expect(r.u8("a")).toBe(1);
    expect(r.u16("b")).toBe(0x0203);
    expect(r.u32("c")).toBe(0xdeadbeef);
    const view = r.bytes(3, "d");
    expect(Array.from(view)).toEqual([9, 8, 7]);
    expect(view.buffer).toBe(buf.buffer); // a view, not a copy
    expect(r.ok).toBe(true);
    expect(r.remaining).toBe(0);
  });

  test("remembers the first error, names the byte and field, and stops moving", () => {
    const r = new Reader(Uint8Array.of(1, 2, 3));
    r.u16("first");
    expect(r.u32("second")).toBe(0);
    expect(r.u8("third")).toBe(0);
    expect(r.bytes(1, "fourth").length).toBe(0);
    expect(r.error).toBe("truncated at byte 2: second");
    expect(r.offset).toBe(2);
    expect(r.ok).toBe(false);
  });

  test("respects start and end, and keeps absolute offsets", () => {
    const buf = Uint8Array.of(0, 0, 5, 6, 7, 0);
    const r = new Reader(buf, 2, 4);
    expect(r.u8("x")).toBe(5);
    expect(r.u8("y")).toBe(6);
    r.u8("z");
    expect(r.error).toBe("truncated at byte 4: z");
  });

  test("works on a view with a non-zero byteOffset", () => {
    const backing = Uint8Array.of(0xff, 0xff, 0x12, 0x34, 0x56, 0x78);
    const r = new Reader(backing.subarray(2));
    expect(r.u32("v")).toBe(0x12345678);
  });

  test("skip, fail and negative lengths", () => {
    const r = new Reader(new Uint8Array(4));
    r.skip(3, "gap");
    expect(r.offset).toBe(3);
    r.fail("custom");
    r.fail("ignored");
    expect(r.error).toBe("custom");
    const n = new Reader(new Uint8Array(4));
    n.bytes(-1, "neg");
    expect(n.error).toBe("truncated at byte 0: neg");
  });
});
