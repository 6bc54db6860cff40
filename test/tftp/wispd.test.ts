// wispd itself serves TFTP: --tftp-port, --ipxe-dir and --artifacts-dir reach the server, curl
// gets an iPXE binary and an artifact, /metrics shows the wisp_tftp_* counters, and
// --tftp-port 0 turns it off.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pgliteDataDir } from "../support/pglite.ts";
import { startWispd, type WispdHandle } from "../support/processes.ts";
import { put, text } from "./harness.ts";

// A UDP port nobody holds right now (bound and released: a private port for this run).
async function freeUdpPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = s.port;
  s.close();
  return port;
}

// wispd logs as it starts; the handle resolves at "http listening", before TFTP starts.
async function logged(w: WispdHandle, msg: string, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = performance.now() + ms;
  for (;;) {
    const line = w.logs.find((l) => l.msg === msg);
    if (line) return line;
    if (performance.now() > deadline) throw new Error(`wispd did not log "${msg}" within ${ms} ms`);
    await Bun.sleep(10);
  }
}

async function curl(url: string, out: string) {
  const proc = Bun.spawn(["curl", "-sS", "-o", out, url], { stdout: "pipe", stderr: "pipe" });
  return { code: await proc.exited, stderr: await new Response(proc.stderr).text() };
}

describe("wispd --tftp-port", () => {
  let data: { dataDir: string; remove(): void };
  let dir: string;
  let wispd: WispdHandle;
  let port: number;

  beforeAll(async () => {
    data = await pgliteDataDir();
    dir = mkdtempSync(join(tmpdir(), "wisp-tftp-wispd-"));
    put(join(dir, "ipxe"), "snponly.efi", text("snp binary"));
    put(join(dir, "artifacts"), "hook/vmlinuz-x86_64", text("kernel"));
    port = await freeUdpPort();
    wispd = await startWispd([
      "--data-dir", data.dataDir, "--syslog-port", "0", "--tftp-port", String(port),
      "--ipxe-dir", join(dir, "ipxe"), "--artifacts-dir", join(dir, "artifacts"),
    ]);
    await logged(wispd, "wispd ready");
  }, 60_000);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    data?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("serves iPXE binaries by name and artifacts by path, and counts them in /metrics", async () => {
    expect(await logged(wispd, "tftp listening")).toMatchObject({ port });
    expect((await curl(`tftp://127.0.0.1:${port}/52:54:00:aa:bb:cc/snponly.efi`, join(dir, "a"))).code).toBe(0);
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("snp binary");
    expect((await curl(`tftp://127.0.0.1:${port}/hook/vmlinuz-x86_64`, join(dir, "b"))).code).toBe(0);
    expect(readFileSync(join(dir, "b"), "utf8")).toBe("kernel");
    expect((await curl(`tftp://127.0.0.1:${port}/../etc/passwd`, join(dir, "c"))).code).not.toBe(0);
    const metrics = await (await fetch(`${wispd.url}/metrics`)).text();
    expect(metrics).toContain('wisp_tftp_requests_total{result="accepted"} 2');
    expect(metrics).toContain('wisp_tftp_transfers_total{result="complete"} 2');
    expect(metrics).toContain("wisp_tftp_bytes_total 16");
    expect(metrics).toContain("wisp_tftp_transfers_active 0");
  });

  test("--tftp-port 0: off, and said so", async () => {
    const other = await pgliteDataDir();
    try {
      const off = await startWispd(["--data-dir", other.dataDir, "--syslog-port", "0", "--tftp-port", "0"]);
      await logged(off, "wispd ready");
      expect(off.logs.find((l) => l.msg === "tftp off")).toMatchObject({ reason: "--tftp-port 0" });
      expect(off.logs.some((l) => l.msg === "tftp listening")).toBe(false);
      expect(await off.stop()).toBe(0);
    } finally {
      other.remove();
    }
  }, 60_000);
});
