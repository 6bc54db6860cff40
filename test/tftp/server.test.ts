// The server against the RFC 7440 test client on loopback: block and window sizes, wrap past
// block 65535, duplicate ACKs, timeouts and retransmission, netascii, tsize, the window cap.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ACK, DATA, OACK, decodeTftp, encodeTftp, tftpLength, toNetascii, type TftpPacket } from "../../daemon/tftp/codec.ts";
import { blockCount } from "../../daemon/tftp/policy.ts";
import { tftpGet, type TftpGetOptions } from "../support/tftp-client.ts";
import { rawPeer, startHarness, text, type Harness } from "./harness.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const WIDE = { negotiation: { maxBlockSize: 65464 } };
const MIB = 1 << 20;

function packet(p: TftpPacket): Uint8Array {
  const b = new Uint8Array(tftpLength(p));
  encodeTftp(p, b, 0);
  return b;
}

async function get(h: Harness, filename: string, o: Partial<TftpGetOptions> = {}) {
  return tftpGet({ host: "127.0.0.1", port: h.port, filename, ...o });
}

describe("tftp server: block and window sizes", () => {
  const cases: [number, number, number][] = [];
  for (const blksize of [8, 512, 1468, 8192, 65464]) for (const window of [1, 4, 64]) cases.push([blksize, window, blksize === 8 ? 40_000 : MIB]);

  test.each(cases)("blksize %i, windowsize %i, %i bytes: whole file, every block sent once", async (blksize, windowsize, size) => {
    await using h = await startHarness({ "f.bin": size }, WIDE);
    const r = await get(h, "f.bin", { options: { blksize, windowsize, tsize: 0 } });
    expect(r.error).toBeUndefined();
    expect(r.sha256).toBe(sha256(h.files.get("f.bin")!));
    expect(r.oack?.blksize).toBe(String(blksize));
    expect(r.oack?.tsize).toBe(String(size));
    const granted = Number(r.oack?.windowsize);
    expect(granted).toBeLessThanOrEqual(windowsize);
    const blocks = blockCount(size, blksize);
    expect(r.dataPackets).toBe(blocks);
    expect(h.metric("wisp_tftp_data_packets_total")).toBe(blocks);
    expect(h.metric("wisp_tftp_retransmits_total")).toBe(0);
    expect(r.acksSent).toBe(1 + Math.ceil(blocks / granted)); // ACK 0 of the OACK, then one per window
  }, 60_000);

  test("window 64 of 8 KiB blocks is lowered to what fits a default receive buffer, and runs without a timeout", async () => {
    await using h = await startHarness({ "f.bin": 256 * 1024 }, WIDE);
    const r = await get(h, "f.bin", { options: { blksize: 8192, windowsize: 64 }, timeoutMs: 5000 });
    expect(r.sha256).toBe(sha256(h.files.get("f.bin")!));
    expect(r.oack?.windowsize).toBe("10");
    expect(h.metric("wisp_tftp_retransmits_total")).toBe(0); // no timeout: each one resends
  }, 30_000);

  test("the same window uncapped overflows the client's buffer: blocks are dropped by its kernel and sent again", async () => {
    await using h = await startHarness({ "f.bin": 256 * 1024 }, { negotiation: { maxBlockSize: 65464, windowBufferBytes: 1 << 30, defaultTimeoutMs: 300 } });
    const r = await get(h, "f.bin", { options: { blksize: 8192, windowsize: 64 }, timeoutMs: 5000 });
    expect(r.oack?.windowsize).toBe("64");
    expect(r.sha256).toBe(sha256(h.files.get("f.bin")!)); // it completes, by resending
    expect(h.metric("wisp_tftp_retransmits_total")).toBeGreaterThan(0);
    expect(r.dataPackets).toBeLessThan(h.metric("wisp_tftp_data_packets_total")); // sent, never received
  }, 30_000);

  test("block numbers wrap past 65535: 75,001 blocks of 8 bytes", async () => {
    await using h = await startHarness({ "f.bin": 600_000 }, WIDE);
    const r = await get(h, "f.bin", { options: { blksize: 8, windowsize: 64 } });
    expect(r.error).toBeUndefined();
    expect(r.dataPackets).toBe(75_001);
    expect(r.sha256).toBe(sha256(h.files.get("f.bin")!));
  }, 60_000);

  test.each([
    ["empty file: one empty block", 0, 1],
    ["a multiple of the block size ends with an empty block", 1024, 3],
    ["one byte short of a block", 511, 1],
  ])("%s", async (_, size, blocks) => {
    await using h = await startHarness({ "f.bin": size });
    const r = await get(h, "f.bin");
    expect(r.data.length).toBe(size);
    expect(r.oack).toBeUndefined(); // no options: DATA 1 straight away (RFC 1350)
    expect(r.dataPackets).toBe(blocks);
  });
});

describe("tftp server: RFC 1123 duplicate ACKs and retransmission", () => {
  test.each([1, 4])("a client that sends every ACK twice gets every block once (windowsize %i)", async (windowsize) => {
    await using h = await startHarness({ "f.bin": 300_000 }, WIDE);
    const r = await get(h, "f.bin", { options: { blksize: 1468, windowsize }, duplicateAcks: true });
    const blocks = blockCount(300_000, 1468);
    expect(r.sha256).toBe(sha256(h.files.get("f.bin")!));
    expect(r.acksSent).toBe(2 * (1 + Math.ceil(blocks / windowsize)));
    expect(r.dataPackets).toBe(blocks);
    expect(r.duplicateData).toBe(0);
    expect(h.metric("wisp_tftp_data_packets_total")).toBe(blocks);
    expect(h.metric("wisp_tftp_retransmits_total")).toBe(0);
  }, 30_000);

  test("no ACK: the window goes again on each timeout, then the transfer is abandoned after the retry limit", async () => {
    await using h = await startHarness({ "f.bin": 5000 }, { retries: 2, negotiation: { defaultTimeoutMs: 100 } });
    using peer = await rawPeer();
    peer.send(packet({ op: 1, filename: "f.bin", mode: "octet", options: [] }), h.port);
    const seen: number[] = [];
    for (let p = await peer.next(); p; p = await peer.next(1000)) {
      const d = decodeTftp(p.data);
      if (d.ok && d.value.op === DATA) seen.push(d.value.block);
    }
    expect(seen).toEqual([1, 1, 1]); // first send and two retransmissions
    expect(h.metric("wisp_tftp_retransmits_total")).toBe(2);
    expect(h.metric("wisp_tftp_transfers_total", { result: "timeout" })).toBe(1);
    expect(h.server.activeTransfers).toBe(0);
    expect(h.metric("wisp_tftp_transfers_active")).toBe(0);
  });

  test("a lost OACK is sent again; a lost window goes again from the first unacknowledged block", async () => {
    await using h = await startHarness({ "f.bin": 10 * 512 }, { negotiation: { defaultTimeoutMs: 300 } });
    using peer = await rawPeer();
    peer.send(packet({ op: 1, filename: "f.bin", mode: "octet", options: [["windowsize", "4"]] }), h.port);
    const first = await peer.next();
    const again = await peer.next(); // not acknowledged: the OACK again
    expect([first, again].map((p) => decodeTftp(p!.data).ok && (decodeTftp(p!.data) as { value: TftpPacket }).value.op)).toEqual([OACK, OACK]);
    peer.send(packet({ op: ACK, block: 0 }), first!.port);
    const blocks = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((decodeTftp((await peer.next())!.data) as { value: { block: number } }).value.block);
      return out;
    };
    expect(await blocks(4)).toEqual([1, 2, 3, 4]);
    peer.send(packet({ op: ACK, block: 2 }), first!.port); // 3 and 4 "lost": restart after 2
    expect(await blocks(4)).toEqual([3, 4, 5, 6]);
    peer.send(packet({ op: ACK, block: 2 }), first!.port); // a duplicate: nothing
    expect(await blocks(4)).toEqual([3, 4, 5, 6]); // ...until the timer fires
    peer.send(packet({ op: ACK, block: 6 }), first!.port);
    expect(await blocks(4)).toEqual([7, 8, 9, 10]);
    peer.send(packet({ op: ACK, block: 10 }), first!.port);
    expect(await blocks(1)).toEqual([11]); // the empty final block
    peer.send(packet({ op: ACK, block: 11 }), first!.port);
    expect(await peer.next(300)).toBeUndefined();
    expect(h.metric("wisp_tftp_transfers_total", { result: "complete" })).toBe(1);
  });

  test("an ERROR from the client ends the transfer", async () => {
    await using h = await startHarness({ "f.bin": 5000 });
    using peer = await rawPeer();
    peer.send(packet({ op: 1, filename: "f.bin", mode: "octet", options: [["tsize", "0"]] }), h.port);
    const oack = await peer.next();
    peer.send(packet({ op: 5, code: 8, message: "options refused" }), oack!.port);
    expect(await peer.next(300)).toBeUndefined();
    expect(h.metric("wisp_tftp_transfers_total", { result: "client-error" })).toBe(1);
    expect(h.server.activeTransfers).toBe(0);
  });

  test("a request sent twice from one port starts one transfer", async () => {
    await using h = await startHarness({ "f.bin": 2000 });
    using peer = await rawPeer();
    const rrq = packet({ op: 1, filename: "f.bin", mode: "octet", options: [["tsize", "0"]] });
    peer.send(rrq, h.port);
    peer.send(rrq, h.port);
    const oack = await peer.next();
    expect(await peer.next(200)).toBeUndefined();
    expect(h.metric("wisp_tftp_requests_total", { result: "duplicate" })).toBe(1);
    peer.send(packet({ op: ACK, block: 0 }), oack!.port);
    expect(decodeTftp((await peer.next())!.data)).toMatchObject({ ok: true, value: { op: DATA, block: 1 } });
  });

  test("over the transfer limit a request is dropped unanswered, and served when retransmitted after a slot frees", async () => {
    await using h = await startHarness({ "f.bin": 2000 }, { maxTransfers: 1 });
    using a = await rawPeer();
    using b = await rawPeer();
    const rrq = packet({ op: 1, filename: "f.bin", mode: "octet", options: [] });
    a.send(rrq, h.port);
    const first = await a.next();
    expect(first).toBeDefined();
    b.send(rrq, h.port);
    // No ERROR: a PXE ROM would give the boot up on one; it retransmits instead.
    expect(await b.next(300)).toBeUndefined();
    expect(h.metric("wisp_tftp_requests_total", { result: "busy" })).toBe(1);
    // a finishes (2000 bytes: blocks 1..4), which frees the slot; b's retransmitted RRQ is served.
    for (let block = 1; block <= 4; block++) {
      if (block > 1) expect(decodeTftp((await a.next())!.data)).toMatchObject({ ok: true, value: { op: DATA, block } });
      a.send(packet({ op: ACK, block }), first!.port);
    }
    for (let i = 0; i < 100 && h.metric("wisp_tftp_transfers_active") !== 0; i++) await Bun.sleep(10);
    b.send(rrq, h.port);
    expect(decodeTftp((await b.next())!.data)).toMatchObject({ ok: true, value: { op: DATA, block: 1 } });
  });
});

describe.skipIf(process.getuid?.() !== 0)("tftp server: the listener's receive buffer", () => {
  test("is raised to 4 MiB (the kernel reports double) so a storm's requests queue instead of dropping", async () => {
    await using h = await startHarness({ "f.bin": 10 });
    const ss = Bun.spawnSync(["ss", "-uamn", `sport = :${h.port}`]);
    const rb = Number(/rb(\d+)/.exec(ss.stdout.toString())?.[1]);
    expect(rb).toBeGreaterThanOrEqual(4 * 1024 * 1024);
  });
});

describe("tftp server: modes and options", () => {
  test("netascii: LF becomes CR LF and tsize is the converted size", async () => {
    const body = text("#!ipxe\nchain http://x/\rend\n");
    await using h = await startHarness({ "boot.ipxe": body });
    const r = await get(h, "boot.ipxe", { mode: "netascii", options: { tsize: 0 } });
    const wire = toNetascii(body);
    expect(r.data).toEqual(wire);
    expect(r.oack?.tsize).toBe(String(wire.length));
  });

  test("files above the in-memory size are read from disk", async () => {
    await using h = await startHarness({ "big.bin": 3 * MIB }, {}, { smallFileMaxBytes: 64 * 1024 });
    const r = await get(h, "big.bin", { options: { blksize: 1468, windowsize: 16 } });
    expect(r.sha256).toBe(sha256(h.files.get("big.bin")!));
  }, 30_000);

  test("a <mac>/ prefix is stripped; iPXE binaries are found by name", async () => {
    await using h = await startHarness({ "hook/vmlinuz": 3000 });
    const { put } = await import("./harness.ts");
    const ipxe = put(h.ipxeDir, "undionly.kpxe", text("kpxe"));
    expect((await get(h, "52:54:00:12:34:56/undionly.kpxe")).data).toEqual(ipxe);
    expect((await get(h, "01-52-54-00-12-34-56/hook/vmlinuz")).sha256).toBe(sha256(h.files.get("hook/vmlinuz")!));
  });
});
