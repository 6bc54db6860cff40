import { describe, expect, test } from "bun:test";
import {
  ACK, DATA, ERROR, OACK, RRQ, WRQ,
  decodeTftp, encodeDataHeader, encodeTftp, netasciiLength, tftpLength, toNetascii, type TftpPacket,
} from "../../daemon/tftp/codec.ts";

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

function encoded(p: TftpPacket, offset = 0): Uint8Array {
  const out = new Uint8Array(offset + tftpLength(p));
  expect(encodeTftp(p, out, offset)).toBe(tftpLength(p));
  return out.subarray(offset);
}

function decoded(b: Uint8Array): TftpPacket {
  const r = decodeTftp(b);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const errorOf = (b: Uint8Array) => {
  const r = decodeTftp(b);
  return r.ok ? "(accepted)" : r.error;
};

// One of each packet, as real clients and servers send them.
const EXAMPLES: [string, Uint8Array, TftpPacket][] = [
  ["iPXE RRQ with blksize and tsize", bytes([0, 1], "undionly.kpxe\0octet\0blksize\x001432\0tsize\x000\0"),
    { op: RRQ, filename: "undionly.kpxe", mode: "octet", options: [["blksize", "1432"], ["tsize", "0"]] }],
  ["tftp-hpa RRQ without options", bytes([0, 1], "ipxe.efi\0octet\0"), { op: RRQ, filename: "ipxe.efi", mode: "octet", options: [] }],
  ["WRQ", bytes([0, 2], "up\0netascii\0"), { op: WRQ, filename: "up", mode: "netascii", options: [] }],
  ["DATA", bytes([0, 3, 0xff, 0xfe], [1, 2, 3]), { op: DATA, block: 0xfffe, data: Uint8Array.of(1, 2, 3) }],
  ["empty final DATA", bytes([0, 3, 0, 7]), { op: DATA, block: 7, data: new Uint8Array(0) }],
  ["ACK", bytes([0, 4, 1, 0]), { op: ACK, block: 256 }],
  ["ERROR", bytes([0, 5, 0, 1], "file not found\0"), { op: ERROR, code: 1, message: "file not found" }],
  ["OACK", bytes([0, 6], "blksize\x008192\0windowsize\x008\0"), { op: OACK, options: [["blksize", "8192"], ["windowsize", "8"]] }],
  ["empty OACK", bytes([0, 6]), { op: OACK, options: [] }],
  ["latin1 file name", bytes([0, 1], [0xe9, 0xff, 0x80, 0], "octet\0"), { op: RRQ, filename: "\xe9\xff\x80", mode: "octet", options: [] }],
];

describe("tftp codec", () => {
  for (const [name, wire, value] of EXAMPLES) {
    test(`${name}: decodes to its value and re-encodes to its bytes`, () => {
      expect(decoded(wire)).toEqual(value);
      expect(encoded(value)).toEqual(wire);
      expect(tftpLength(value)).toBe(wire.length);
    });

    test(`${name}: encodes at an offset without touching the bytes before it`, () => {
      const out = new Uint8Array(37 + wire.length).fill(0xaa);
      expect(encodeTftp(value, out, 37)).toBe(wire.length);
      expect(out.subarray(0, 37).every((b) => b === 0xaa)).toBe(true);
      expect(Array.from(out.subarray(37))).toEqual(Array.from(wire));
    });
  }

  test("DATA keeps a view of the received bytes, not a copy", () => {
    const wire = bytes([0, 3, 0, 1], "abc");
    const p = decoded(wire) as { data: Uint8Array };
    expect(p.data.buffer).toBe(wire.buffer);
  });

  test("encodeDataHeader writes what encodeTftp writes before the payload", () => {
    const out = new Uint8Array(10);
    expect(encodeDataHeader(0x1234, out, 6)).toBe(4);
    expect(Array.from(out.subarray(6))).toEqual([0, 3, 0x12, 0x34]);
  });

  test("a buffer too small is a RangeError (a caller bug), not a silent truncation", () => {
    expect(() => encodeTftp({ op: ERROR, code: 0, message: "x".repeat(20) }, new Uint8Array(10), 0)).toThrow(RangeError);
  });

  const REFUSED: [Uint8Array, string][] = [
    [bytes([0]), "truncated at byte 0: opcode"],
    [bytes([0, 9]), "opcode at byte 0: 9, expected 1 to 6"],
    [bytes([0, 0]), "opcode at byte 0: 0, expected 1 to 6"],
    [bytes([0, 1], "file"), "filename at byte 2: no terminating NUL"],
    [bytes([0, 1], "file\0octet"), "mode at byte 7: no terminating NUL"],
    [bytes([0, 1], "f\0octet\0blksize\0"), 'value of option "blksize" at byte 18: no terminating NUL'],
    [bytes([0, 1], "f\0octet\0blksize"), "option name at byte 10: no terminating NUL"],
    [bytes([0, 1], "f\0octet\0\0"), "option name at byte 10: empty"],
    [bytes([0, 3, 0]), "truncated at byte 2: block"],
    [bytes([0, 4, 0]), "truncated at byte 2: block"],
    [bytes([0, 4, 0, 1, 0]), "trailing bytes at byte 4: 1 after an ACK"],
    [bytes([0, 5, 0]), "truncated at byte 2: error code"],
    [bytes([0, 5, 0, 1], "gone"), "error message at byte 4: no terminating NUL"],
    [bytes([0, 5, 0, 1], "gone\0x"), "trailing bytes at byte 9: 1 after the error message"],
    [bytes([0, 6], "blksize\0"), 'value of option "blksize" at byte 10: no terminating NUL'],
  ];
  for (const [wire, message] of REFUSED) {
    test(`refuses what it cannot read whole, naming the byte: ${message}`, () => {
      expect(errorOf(wire)).toBe(message);
    });
  }

  test("netascii: LF becomes CR LF, a bare CR becomes CR NUL, other bytes pass", () => {
    const text = bytes("a\nb\rc\r\nd", [0, 0xff]);
    const out = toNetascii(text);
    expect(out).toEqual(bytes("a\r\nb\r", [0], "c\r", [0], "\r\nd", [0, 0xff]));
    expect(netasciiLength(text)).toBe(out.length);
    expect(toNetascii(new Uint8Array(0)).length).toBe(0);
  });
});
