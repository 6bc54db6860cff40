// Real clients on loopback: tftp-hpa's `tftp` (RFC 1350, no options) and curl (blksize, tsize,
// timeout), including 200 transfers at once with checksums. Needs the Debian packages tftp-hpa,
// curl and ipxe (for the real undionly.kpxe).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { DEFAULT_IPXE_DIR } from "../../daemon/tftp/files.ts";
import { startHarness, text, type Harness } from "./harness.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const UNDIONLY = join(DEFAULT_IPXE_DIR, "undionly.kpxe");

for (const [tool, pkg] of [["tftp", "tftp-hpa"], ["curl", "curl"]]) {
  if (!Bun.which(tool!)) throw new Error(`these tests drive ${tool}: apt-get install ${pkg}`);
}
if (!existsSync(UNDIONLY)) throw new Error(`${UNDIONLY} is missing: apt-get install ipxe`);

interface Served extends Harness {
  /** Where clients write what they fetch. */
  out: string;
  /** The server's log lines (debug and up). */
  logs: Record<string, unknown>[];
}

// The real iPXE directory, an artifacts directory of our own, and a place for clients' output.
async function serve(artifacts: Record<string, Uint8Array>): Promise<Served> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const h = await startHarness(artifacts, { logger }, { ipxeDir: DEFAULT_IPXE_DIR });
  const out = join(h.root, "out");
  mkdirSync(out);
  return Object.assign(h, { out, logs });
}

async function run(cmd: string[], cwd?: string) {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const started = (s: Served, path: string) => s.logs.find((l) => l.msg === "tftp transfer started" && l.path === path);
const random = (n: number) => Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0);

describe("tftp-hpa client", () => {
  test("gets the real undionly.kpxe in octet mode (-v), under a <mac>/ prefix too", async () => {
    await using s = await serve({});
    for (const name of ["undionly.kpxe", "52:54:00:12:34:56/undionly.kpxe"]) {
      const out = join(s.out, "undionly.kpxe");
      // -l (literal): a ':' in the name is not a host separator.
      const r = await run(["tftp", "-l", "127.0.0.1", String(s.port), "-v", "-m", "binary", "-c", "get", name, out]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Received ${readFileSync(UNDIONLY).length} bytes`);
      expect(sha256(readFileSync(out))).toBe(sha256(readFileSync(UNDIONLY)));
    }
    expect(started(s, "undionly.kpxe")).toMatchObject({ blockSize: 512, oack: [] }); // tftp-hpa sends no options
  }, 30_000);

  test("netascii: the file arrives as it is on disk (converted to CR LF on the wire, back by the client)", async () => {
    const script = text("#!ipxe\ndhcp\nchain http://10.0.0.1/auto.ipxe\n");
    await using s = await serve({ "auto.ipxe": script });
    const out = join(s.out, "auto.ipxe");
    const r = await run(["tftp", "127.0.0.1", String(s.port), "-m", "netascii", "-c", "get", "auto.ipxe", out]);
    expect(r.code).toBe(0);
    expect(readFileSync(out)).toEqual(Buffer.from(script));
  });

  test("a missing file and a put are refused with the server's ERROR text", async () => {
    await using s = await serve({});
    const missing = await run(["tftp", "127.0.0.1", String(s.port), "-c", "get", "nope.efi", join(s.out, "nope")]);
    expect(missing.stdout + missing.stderr).toContain("Error code 1: file not found");
    writeFileSync(join(s.out, "up"), "x");
    const put = await run(["tftp", "127.0.0.1", String(s.port), "-c", "put", join(s.out, "up"), "up"]);
    expect(put.stdout + put.stderr).toContain("Error code 2: write requests are not accepted");
  });
});

describe("curl", () => {
  test("--tftp-blksize 1468 with tsize: curl's OACK exchange and the checksum", async () => {
    await using s = await serve({ "random.bin": random(1_000_000) });
    const out = join(s.out, "random.bin");
    const r = await run(["curl", "-sS", "--tftp-blksize", "1468", "-o", out, `tftp://127.0.0.1:${s.port}/aa:bb:cc:dd:ee:ff/random.bin`]);
    expect(r.stderr).toBe("");
    expect(sha256(readFileSync(out))).toBe(sha256(s.files.get("random.bin")!));
    const log = started(s, "random.bin") as { oack: [string, string][]; mac: string };
    expect(new Map(log.oack).get("tsize")).toBe("1000000");
    expect(new Map(log.oack).get("blksize")).toBe("1468");
    expect(log.mac).toBe("aa:bb:cc:dd:ee:ff");
  });

  test("a blksize above the cap is lowered in the OACK and curl follows it", async () => {
    await using s = await serve({ "random.bin": random(300_000) });
    const out = join(s.out, "random.bin");
    await run(["curl", "-sS", "--tftp-blksize", "65464", "-o", out, `tftp://127.0.0.1:${s.port}/random.bin`]);
    expect(sha256(readFileSync(out))).toBe(sha256(s.files.get("random.bin")!));
    expect(started(s, "random.bin")).toMatchObject({ blockSize: 1468 });
  });

  test("--tftp-no-options: plain RFC 1350", async () => {
    await using s = await serve({ "random.bin": random(100_000) });
    const out = join(s.out, "random.bin");
    await run(["curl", "-sS", "--tftp-no-options", "-o", out, `tftp://127.0.0.1:${s.port}/random.bin`]);
    expect(sha256(readFileSync(out))).toBe(sha256(s.files.get("random.bin")!));
    expect(started(s, "random.bin")).toMatchObject({ blockSize: 512, oack: [] });
  });

  test("a missing file: curl exits 68 (TFTP file not found)", async () => {
    await using s = await serve({});
    const r = await run(["curl", "-sS", "-o", join(s.out, "x"), `tftp://127.0.0.1:${s.port}/missing.bin`]);
    expect(r.code).toBe(68);
  });

  for (const [label, name] of [["a 1 MB random file", "random.bin"], ["the real undionly.kpxe", "undionly.kpxe"]] as const) {
    test(`200 concurrent transfers of ${label}, every checksum right`, async () => {
      await using s = await serve({ "random.bin": random(1_000_000) });
      const expected = sha256(name === "random.bin" ? s.files.get(name)! : readFileSync(UNDIONLY));
      const args = ["curl", "-sS", "--no-progress-meter", "--parallel", "--parallel-immediate", "--parallel-max", "200", "--tftp-blksize", "1468"];
      for (let i = 0; i < 200; i++) args.push("-o", join(s.out, `${i}.bin`), `tftp://127.0.0.1:${s.port}/${name}`);
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, s.server.activeTransfers)), 2);
      const r = await run(args);
      clearInterval(sampler);
      expect(r.code).toBe(0);
      for (let i = 0; i < 200; i++) expect(sha256(readFileSync(join(s.out, `${i}.bin`)))).toBe(expected);
      expect(s.metric("wisp_tftp_transfers_total", { result: "complete" })).toBe(200);
      expect(peak).toBeGreaterThan(50); // they really ran at once
      console.log(`tftp: 200 concurrent curl transfers of ${name}, peak ${peak} at once, ${s.metric("wisp_tftp_retransmits_total")} retransmits`);
    }, 120_000);
  }
});
