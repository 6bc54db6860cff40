// Paths that would leave the served directories are refused on the wire, with the right ERROR;
// symlinks out of the artifacts directory are refused, the iPXE directory's are followed; the
// small-file cache notices a changed file. Malformed packets get an ERROR or are dropped and
// counted, and the server keeps serving.
import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeTftp, encodeTftp, tftpLength, type TftpPacket } from "../../daemon/tftp/codec.ts";
import { createFileSource } from "../../daemon/tftp/files.ts";
import { tftpGet } from "../support/tftp-client.ts";
import { put, rawPeer, startHarness, text, type Harness } from "./harness.ts";

const SECRET = text("root:x:0:0:secret\n");

function packet(p: TftpPacket): Uint8Array {
  const b = new Uint8Array(tftpLength(p));
  encodeTftp(p, b, 0);
  return b;
}

const get = (h: Harness, filename: string) => tftpGet({ host: "127.0.0.1", port: h.port, filename, timeoutMs: 500, retries: 2 });

// A harness whose root holds a secret beside the artifacts, and symlinks pointing out of them.
async function hostile(): Promise<Harness> {
  const h = await startHarness({ "ok.bin": 100, "hook/vmlinuz": 700 });
  put(h.root, "secret", SECRET);
  mkdirSync(join(h.root, "outside"));
  put(h.root, "outside/passwd", SECRET);
  symlinkSync(join(h.root, "secret"), join(h.artifactsDir, "link-out"));
  symlinkSync("../secret", join(h.artifactsDir, "relative-link-out"));
  symlinkSync(join(h.root, "outside"), join(h.artifactsDir, "dir-out"));
  symlinkSync("hook/vmlinuz", join(h.artifactsDir, "link-in"));
  return h;
}

describe("tftp paths on the wire", () => {
  test.each([
    ["../secret", 2],
    ["hook/../../secret", 2],
    ["aa:bb:cc:dd:ee:ff/../secret", 2],
    ["..\\secret", 2],
    ["/etc/passwd", 2],
    [`/${"x"}/../etc/passwd`, 2],
    ["%2e%2e/secret", 1], // not URL-decoded: a name that does not exist
    ["%2e%2e%2fsecret", 1],
    ["link-out", 2],
    ["relative-link-out", 2],
    ["dir-out/passwd", 2],
    ["aa:bb:cc:dd:ee:ff/link-out", 2],
    ["hook", 1], // a directory is not a file
    ["missing.bin", 1],
  ])("%p is refused with ERROR %i and never served", async (filename, code) => {
    await using h = await hostile();
    const r = await get(h, filename);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe(code);
    expect(r.data.length).toBe(0);
    expect(h.metric("wisp_tftp_requests_total", { result: "refused" })).toBe(1);
  });

  test("a symlink that stays inside the artifacts directory is served", async () => {
    await using h = await hostile();
    expect((await get(h, "link-in")).data).toEqual(h.files.get("hook/vmlinuz")!);
  });

  test("the iPXE directory serves bare names and follows its symlinks (Debian's ipxe.efi -> /boot/ipxe.efi)", async () => {
    await using h = await hostile();
    put(h.root, "boot/ipxe.efi", text("efi binary"));
    symlinkSync(join(h.root, "boot/ipxe.efi"), join(h.ipxeDir, "ipxe.efi"));
    expect((await get(h, "ipxe.efi")).data).toEqual(text("efi binary"));
    expect((await get(h, "aa:bb:cc:dd:ee:ff/ipxe.efi")).data).toEqual(text("efi binary"));
    // Only bare names go to the iPXE directory; paths go to the artifacts directory.
    expect((await get(h, "x/ipxe.efi")).error?.code).toBe(1);
  });

  test("a write request is refused with ERROR 2", async () => {
    await using h = await startHarness();
    using peer = await rawPeer();
    peer.send(packet({ op: 2, filename: "upload.bin", mode: "octet", options: [] }), h.port);
    expect(decodeTftp((await peer.next())!.data)).toMatchObject({ ok: true, value: { op: 5, code: 2, message: "write requests are not accepted" } });
    expect(h.metric("wisp_tftp_errors_total", { reason: "write-request" })).toBe(1);
  });
});

describe("tftp small-file cache", () => {
  test("serves from memory and re-reads a file that changed", async () => {
    await using h = await startHarness({ "boot.ipxe": text("#!ipxe\nexit 1\n") });
    expect((await get(h, "boot.ipxe")).data).toEqual(text("#!ipxe\nexit 1\n"));
    writeFileSync(join(h.artifactsDir, "boot.ipxe"), "#!ipxe\nexit 2\n"); // same size, new mtime
    expect((await get(h, "boot.ipxe")).data).toEqual(text("#!ipxe\nexit 2\n"));
  });

  test("one read serves concurrent opens, and the cache is bounded", async () => {
    await using h = await startHarness({ "a.bin": 3000, "b.bin": 3000, "c.bin": 3000 });
    const files = createFileSource({ artifactsDir: h.artifactsDir, cacheMaxBytes: 7000 });
    const opened = await Promise.all(Array.from({ length: 20 }, () => files.open("a.bin", "octet")));
    expect(opened.every((o) => o.ok && o.value.cached)).toBe(true);
    expect(files.cachedBytes()).toBe(3000);
    await files.open("b.bin", "octet");
    await files.open("c.bin", "octet"); // a.bin, the oldest, goes
    expect(files.cachedBytes()).toBe(6000);
  });
});

describe("tftp malformed packets", () => {
  test("get an ERROR (requests) or are dropped and counted, and the server keeps serving", async () => {
    await using h = await startHarness({ "ok.bin": 3000 });
    using peer = await rawPeer();
    const answers: (number | undefined)[] = [];
    const junk = [
      text("\0\x01no-terminator"), // RRQ without NUL: ERROR 4
      text("\0\x01f\0octet\0blksize\0"), // option without value: ERROR 4
      text("\0\x01f\0mail\0"), // obsolete mode: ERROR 4
      new Uint8Array(0), // dropped
      text("\x01"), // dropped
      text("\0\x09whatever"), // unknown opcode: dropped
      text("\0\x04\0\x01"), // an ACK to the listener: dropped
    ];
    for (const j of junk) {
      peer.send(j, h.port);
      const r = await peer.next(150);
      answers.push(r && (decodeTftp(r.data) as { value: { code: number } }).value.code);
    }
    expect(answers).toEqual([4, 4, 4, undefined, undefined, undefined, undefined]);
    expect(h.metric("wisp_tftp_requests_total", { result: "malformed" })).toBe(5);
    expect(h.metric("wisp_tftp_errors_total", { reason: "malformed" })).toBe(5);
    expect(h.metric("wisp_tftp_errors_total", { reason: "not-a-request" })).toBe(1);
    // Thousands of random packets later, still serving.
    for (let i = 0; i < 5000; i++) peer.send(Uint8Array.from({ length: i % 600 }, () => (Math.random() * 256) | 0), h.port);
    expect((await get(h, "ok.bin")).data).toEqual(h.files.get("ok.bin")!);
  });

  test("in a transfer: garbage is dropped and counted, a packet that is not an ACK ends it with ERROR 4", async () => {
    await using h = await startHarness({ "ok.bin": 3000 });
    using peer = await rawPeer();
    peer.send(packet({ op: 1, filename: "ok.bin", mode: "octet", options: [] }), h.port);
    const first = await peer.next();
    peer.send(text("\0\x04\0"), first!.port); // a truncated ACK
    expect(await peer.next(150)).toBeUndefined();
    expect(h.metric("wisp_tftp_errors_total", { reason: "malformed" })).toBe(1);
    peer.send(packet({ op: 3, block: 1, data: text("x") }), first!.port);
    expect(decodeTftp((await peer.next())!.data)).toMatchObject({ ok: true, value: { op: 5, code: 4 } });
    expect(h.metric("wisp_tftp_transfers_total", { result: "illegal-operation" })).toBe(1);
  });
});

describe("tftp large files", () => {
  test("a large iPXE-directory file behind a symlink is read from disk at its target", async () => {
    await using h = await startHarness({}, {}, { smallFileMaxBytes: 1024 });
    const big = put(h.root, "boot/ipxe.iso", Uint8Array.from({ length: 50_000 }, (_, i) => i & 255));
    symlinkSync(join(h.root, "boot/ipxe.iso"), join(h.ipxeDir, "ipxe.iso"));
    const files = createFileSource({ ipxeDir: h.ipxeDir, smallFileMaxBytes: 1024 });
    const opened = await files.open("ipxe.iso", "octet");
    expect(opened.ok && [opened.value.cached, opened.value.file]).toEqual([false, join(h.root, "boot/ipxe.iso")]);
    if (opened.ok) await opened.value.close();
    expect((await get(h, "ipxe.iso")).data).toEqual(big);
  });
});
