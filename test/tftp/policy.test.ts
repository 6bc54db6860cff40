import { describe, expect, test } from "bun:test";
import { RRQ, WRQ, type TftpOption } from "../../daemon/tftp/codec.ts";
import {
  DEFAULT_NEGOTIATION, MAX_WINDOW_SIZE, blockCount, datagramCost, negotiate, onAck, parsePath, readRequest,
  retransmitWindow, windowCap, wireBlock, type NegotiationConfig, type WindowState,
} from "../../daemon/tftp/policy.ts";

const WIDE: NegotiationConfig = { ...DEFAULT_NEGOTIATION, maxBlockSize: 65464 };

describe("readRequest", () => {
  test.each([
    ["write request", WRQ, "x", "octet", 2, "write-request"],
    ["mail mode (obsolete)", RRQ, "x", "mail", 4, "bad-mode"],
    ["unknown mode", RRQ, "x", "binary", 4, "bad-mode"],
    ["empty name", RRQ, "", "octet", 1, "bad-path"],
  ] as const)("refuses a %s", (_, op, filename, mode, code, reason) => {
    const r = readRequest({ op, filename, mode, options: [] });
    expect(r.ok ? undefined : [r.error.code, r.error.reason]).toEqual([code, reason]);
  });

  test("modes are case-insensitive (RFC 1350 5)", () => {
    const r = readRequest({ op: RRQ, filename: "f", mode: "NetASCII", options: [] });
    expect(r.ok && r.value.mode).toBe("netascii");
  });
});

describe("parsePath", () => {
  test.each([
    ["undionly.kpxe", "undionly.kpxe", undefined],
    ["aa:bb:cc:dd:ee:ff/undionly.kpxe", "undionly.kpxe", "aa:bb:cc:dd:ee:ff"],
    ["AA-BB-CC-DD-EE-FF/ipxe.efi", "ipxe.efi", "aa:bb:cc:dd:ee:ff"],
    ["01-aa-bb-cc-dd-ee-ff/snponly.efi", "snponly.efi", "aa:bb:cc:dd:ee:ff"],
    ["aabbccddeeff/ipxe.efi", "ipxe.efi", "aa:bb:cc:dd:ee:ff"],
    ["hook/vmlinuz-x86_64", "hook/vmlinuz-x86_64", undefined],
    ["aa:bb:cc:dd:ee:ff/hook/initramfs", "hook/initramfs", "aa:bb:cc:dd:ee:ff"],
    ["./a//b/./c", "a/b/c", undefined],
    ["boot\\x86\\wdsnbp.com", "boot/x86/wdsnbp.com", undefined],
    ["%2e%2e/%2e%2e/etc/passwd", "%2e%2e/%2e%2e/etc/passwd", undefined], // TFTP names are not URL-encoded
    ["aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff", undefined], // a MAC alone is a name, not a prefix
  ])("%s -> %s (mac %s)", (filename, name, mac) => {
    const r = parsePath(filename);
    expect(r.ok ? r.value : r.error).toEqual(mac === undefined ? { name } : { name, mac });
  });

  test.each([
    ["../etc/passwd", "outside-root"],
    ["a/../../etc/passwd", "outside-root"],
    ["a/..", "outside-root"],
    ["aa:bb:cc:dd:ee:ff/../secret", "outside-root"],
    ["..\\..\\windows", "outside-root"],
    ["/etc/passwd", "outside-root"],
    ["\\etc\\passwd", "outside-root"],
    ["C:/boot.ini", "outside-root"],
    ["a\nb", "bad-path"],
    ["a\x7fb", "bad-path"],
    ["/", "outside-root"],
    ["./", "bad-path"],
  ])("refuses %p (%s)", (filename, reason) => {
    const r = parsePath(filename);
    expect(r.ok ? "(accepted)" : r.error.reason).toBe(reason);
  });
});

describe("negotiate", () => {
  const opts = (...pairs: [string, string][]): TftpOption[] => pairs;

  test("no options: 512-byte blocks, window 1, the default timeout, no OACK", () => {
    expect(negotiate([], 1000, DEFAULT_NEGOTIATION)).toEqual({ blockSize: 512, windowSize: 1, timeoutMs: 1000, oack: [] });
  });

  test.each([
    ["blksize within the cap is granted", [["blksize", "1432"]], DEFAULT_NEGOTIATION, 1432, [["blksize", "1432"]]],
    ["blksize above the cap is lowered to it (RFC 2348)", [["blksize", "65464"]], DEFAULT_NEGOTIATION, 1468, [["blksize", "1468"]]],
    ["blksize 65464 with a wide cap", [["blksize", "65464"]], WIDE, 65464, [["blksize", "65464"]]],
    ["blksize 8, the smallest", [["blksize", "8"]], DEFAULT_NEGOTIATION, 8, [["blksize", "8"]]],
    ["blksize 7 is out of range and ignored", [["blksize", "7"]], DEFAULT_NEGOTIATION, 512, []],
    ["blksize 65465 is out of range and ignored", [["blksize", "65465"]], WIDE, 512, []],
    ["a non-numeric blksize is ignored", [["blksize", "1e3"]], DEFAULT_NEGOTIATION, 512, []],
    ["names are case-insensitive, echoed as sent", [["BlkSize", "1024"]], DEFAULT_NEGOTIATION, 1024, [["BlkSize", "1024"]]],
    ["the first of a repeated option wins", [["blksize", "1024"], ["blksize", "600"]], DEFAULT_NEGOTIATION, 1024, [["blksize", "1024"]]],
    ["unknown options are left out", [["multicast", ""], ["utimeout", "5000"]], DEFAULT_NEGOTIATION, 512, []],
  ] as [string, [string, string][], NegotiationConfig, number, [string, string][]][])("%s", (_, options, config, blockSize, oack) => {
    const n = negotiate(options, 5000, config);
    expect([n.blockSize, n.oack]).toEqual([blockSize, oack]);
  });

  test("tsize is answered with the size sent (RFC 2349 4)", () => {
    expect(negotiate(opts(["tsize", "0"]), 74213, DEFAULT_NEGOTIATION).oack).toEqual([["tsize", "74213"]]);
    expect(negotiate(opts(["tsize", "x"]), 74213, DEFAULT_NEGOTIATION).oack).toEqual([]);
  });

  test("timeout 1..255 is accepted as asked and used; others are ignored (RFC 2349 2)", () => {
    expect(negotiate(opts(["timeout", "3"]), 0, DEFAULT_NEGOTIATION)).toMatchObject({ timeoutMs: 3000, oack: [["timeout", "3"]] });
    expect(negotiate(opts(["timeout", "255"]), 0, DEFAULT_NEGOTIATION).timeoutMs).toBe(255_000);
    for (const bad of ["0", "256", "-1", "1.5"]) expect(negotiate(opts(["timeout", bad]), 0, DEFAULT_NEGOTIATION)).toMatchObject({ timeoutMs: 1000, oack: [] });
  });

  test.each([
    [512, 64, 64],
    [1468, 64, 39],
    [8192, 64, 10],
    [8192, 4, 4],
    [65464, 64, 1],
    [8, 65535, 103],
    [1468, 1, 1],
  ])("blksize %i, windowsize %i -> %i (a window fits a default 208 KiB receive buffer)", (blksize, asked, granted) => {
    const n = negotiate(opts(["blksize", String(blksize)], ["windowsize", String(asked)]), 1 << 20, WIDE);
    expect(n.windowSize).toBe(granted);
    expect(n.oack).toEqual([["blksize", String(blksize)], ["windowsize", String(granted)]]);
    expect(granted * datagramCost(blksize)).toBeLessThanOrEqual(DEFAULT_NEGOTIATION.windowBufferBytes);
  });

  test("windowsize out of 1..65535 is ignored (RFC 7440 2)", () => {
    for (const bad of ["0", "65536", "a"]) expect(negotiate(opts(["windowsize", bad]), 0, WIDE).oack).toEqual([]);
  });

  test("windowCap stays within 1..65535 for any buffer", () => {
    expect(windowCap(65464, 0)).toBe(1);
    expect(windowCap(8, 1e12)).toBe(MAX_WINDOW_SIZE);
  });
});

describe("window (RFC 7440) and duplicate ACKs (RFC 1123 4.2.3.1)", () => {
  const state = (s: Partial<WindowState>): WindowState => ({ acked: 0, sent: 0, last: 100, windowSize: 4, ...s });

  test("ACK 0 of an OACK starts the first window", () => {
    expect(onAck(state({ acked: -1, sent: 0 }), 0)).toEqual({ kind: "send", from: 1, to: 4 });
  });
  test("the ACK closing a window opens the next", () => {
    expect(onAck(state({ acked: 0, sent: 4 }), 4)).toEqual({ kind: "send", from: 5, to: 8 });
  });
  test("an ACK inside the window restarts after it (the client missed the next block)", () => {
    expect(onAck(state({ acked: 4, sent: 8 }), 6)).toEqual({ kind: "send", from: 7, to: 10 });
  });
  test("a duplicate of the last ACK sends nothing", () => {
    expect(onAck(state({ acked: 4, sent: 8 }), 4)).toEqual({ kind: "ignore", why: "duplicate" });
  });
  test("an older ACK sends nothing", () => {
    expect(onAck(state({ acked: 8, sent: 12 }), 5)).toEqual({ kind: "ignore", why: "stale" });
  });
  test("the last window is cut at the final block, whose ACK ends the transfer", () => {
    expect(onAck(state({ acked: 96, sent: 96 }), 96)).toEqual({ kind: "ignore", why: "duplicate" });
    expect(onAck(state({ acked: 92, sent: 96 }), 96)).toEqual({ kind: "send", from: 97, to: 100 });
    expect(onAck(state({ acked: 96, sent: 100 }), 100)).toEqual({ kind: "done" });
  });
  test("block numbers wrap from 65535 to 0", () => {
    expect(wireBlock(65535)).toBe(65535);
    expect(wireBlock(65536)).toBe(0);
    expect(wireBlock(131073)).toBe(1);
    const s = state({ acked: 65534, sent: 65538, last: 200_000 });
    expect(onAck(s, 0)).toEqual({ kind: "send", from: 65537, to: 65540 });
    expect(onAck(s, 2)).toEqual({ kind: "send", from: 65539, to: 65542 });
    expect(onAck(s, 65534)).toEqual({ kind: "ignore", why: "duplicate" });
  });
  test("after a timeout the window goes again from the first unacknowledged block", () => {
    expect(retransmitWindow(state({ acked: 10, sent: 14 }))).toEqual({ from: 11, to: 14 });
    expect(retransmitWindow(state({ acked: 98, sent: 100 }))).toEqual({ from: 99, to: 100 });
  });
  test("blockCount: a size that is a multiple of the block size ends with an empty block", () => {
    expect([blockCount(0, 512), blockCount(511, 512), blockCount(512, 512), blockCount(1024, 512)]).toEqual([1, 1, 2, 3]);
  });
});
