/**
 * Transfers through a lossy link: a server namespace and a client namespace made for the test,
 * joined by a veth pair, with 5% of packets dropped in both directions inside those namespaces:
 * `tc ... netem loss 5%` where the kernel has sch_netem; where it does not (this CI's
 * kernel lacks CONFIG_NET_SCH_NETEM) the same loss comes from an nftables `numgen random` rule.
 * Each transfer must complete with the right checksum, and the drops must really have happened.
 * Skips only when not root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createNetLab, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";

const ROOT = join(import.meta.dir, "..", "..");
const SERVER_IP = "10.78.0.1";
const LOSS_PERCENT = 5;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** How the loss was made, and how to read how many packets it dropped. */
interface Loss {
  how: "netem" | "nftables";
  dropped(): Promise<number>;
}

// netem on each end's egress, or an nftables input hook at each end: both directions lose packets.
async function injectLoss(client: Netns, clientDev: string, server: Netns, serverDev: string, percent: number): Promise<Loss> {
  const tc = await client.exec(["tc", "qdisc", "add", "dev", clientDev, "root", "netem", "loss", `${percent}%`]);
  if (tc.code === 0) {
    await server.run(["tc", "qdisc", "add", "dev", serverDev, "root", "netem", "loss", `${percent}%`]);
    const dropped = async (ns: Netns, dev: string) => Number(/dropped (\d+)/.exec(await ns.run(["tc", "-s", "qdisc", "show", "dev", dev]))?.[1] ?? 0);
    return { how: "netem", dropped: async () => (await dropped(client, clientDev)) + (await dropped(server, serverDev)) };
  }
  if (!/unknown|not found|No such file/i.test(tc.stderr)) throw new Error(`tc netem: ${tc.stderr}`);
  // Dropped on the way in at each end: a drop on the way out would be reported to the sender
  // (sendto fails with EPERM), which is not what a lossy wire does.
  const ruleset = [
    "table inet wisp_loss {",
    `  chain input { type filter hook input priority 0; meta l4proto udp numgen random mod 100 < ${percent} counter drop; }`,
    "}",
  ].join("\n");
  for (const ns of [client, server]) await ns.run(["sh", "-c", `printf '%s\\n' "$0" | nft -f -`, ruleset]);
  const dropped = async (ns: Netns) => {
    const listing = await ns.run(["nft", "list", "table", "inet", "wisp_loss"]);
    return Number(/counter packets (\d+)/.exec(listing)?.[1] ?? 0);
  };
  return { how: "nftables", dropped: async () => (await dropped(client)) + (await dropped(server)) };
}

async function firstLine(proc: Subprocess<"ignore", "pipe", "pipe">): Promise<{ line: string; rest: () => Promise<string> }> {
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${await new Response(proc.stderr).text()}`);
    buf += decoder.decode(value, { stream: true });
    const nl = buf.indexOf("\n");
    if (nl < 0) continue;
    const line = buf.slice(0, nl);
    let rest = buf.slice(nl + 1);
    return {
      line,
      rest: async () => {
        for (;;) {
          const { value: v, done: d } = await reader.read();
          if (d) return rest;
          rest += decoder.decode(v, { stream: true });
        }
      },
    };
  }
}

describe.skipIf(!IS_ROOT)(`tftp through ${LOSS_PERCENT}% packet loss (network namespaces)`, () => {
  let lab: NetLab;
  let server: Netns;
  let client: Netns;
  let dir: string;
  let proc: Subprocess<"ignore", "pipe", "pipe">;
  let rest: () => Promise<string>;
  let loss: Loss;
  const file = new Uint8Array(randomBytes(512 * 1024));
  const small = new Uint8Array(randomBytes(100 * 1024));

  beforeAll(async () => {
    await requireTools({ ip: "iproute2", tc: "iproute2", nft: "nftables", curl: "curl" });
    dir = mkdtempSync(join(tmpdir(), "wisp-tftp-loss-"));
    writeFileSync(join(dir, "random.bin"), file);
    writeFileSync(join(dir, "small.bin"), small);
    lab = await createNetLab();
    server = await lab.namespace("srv");
    client = await lab.namespace("cli");
    await lab.link({ ns: server, name: "s0", address: `${SERVER_IP}/24` }, { ns: client, name: "c0", address: "10.78.0.2/24" });
    proc = server.spawn([process.execPath, join(ROOT, "test/tftp/serve.ts"), "--address", SERVER_IP, "--port", "69", "--artifacts", dir]);
    const first = await firstLine(proc);
    expect(JSON.parse(first.line)).toEqual({ listening: 69 });
    rest = first.rest;
    loss = await injectLoss(client, "c0", server, "s0", LOSS_PERCENT);
  }, 60_000);

  afterAll(async () => {
    proc?.kill("SIGTERM");
    await proc?.exited;
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the RFC 7440 client (blksize 1468, windowsize 8) gets 512 KiB intact", async () => {
    const before = await loss.dropped();
    const r = await client.exec(
      [process.execPath, join(ROOT, "test/support/tftp-client.ts"), "--host", SERVER_IP, "--port", "69", "--file", "random.bin",
        "--blksize", "1468", "--windowsize", "8", "--timeout", "1", "--tsize", "--client-timeout", "300", "--retries", "20", "--dally", "2000"],
      { timeoutMs: 90_000 },
    );
    expect(r.stderr).toBe("");
    const result = JSON.parse(r.stdout) as { ok: boolean; sha256: string; oack: Record<string, string> };
    expect(result.oack).toMatchObject({ blksize: "1468", windowsize: "8", tsize: String(file.length) });
    expect(result.ok).toBe(true);
    expect(result.sha256).toBe(sha256(file));
    const dropped = (await loss.dropped()) - before;
    console.log(`tftp loss (${loss.how}): ${dropped} packets dropped during a 512 KiB windowed transfer`);
    expect(dropped).toBeGreaterThan(0);
  }, 100_000);

  test("curl (lockstep, blksize 1468, timeout 1) gets 100 KiB intact", async () => {
    const before = await loss.dropped();
    const out = join(dir, "curl.out");
    // --connect-timeout 3 makes curl ask for timeout=1: each loss costs a second, not six.
    const r = await client.exec(["curl", "-sS", "--connect-timeout", "3", "--tftp-blksize", "1468", "-o", out, `tftp://${SERVER_IP}/small.bin`], { timeoutMs: 90_000 });
    expect(r.stderr).toBe("");
    expect(sha256(new Uint8Array(await Bun.file(out).arrayBuffer()))).toBe(sha256(small));
    console.log(`tftp loss (${loss.how}): ${(await loss.dropped()) - before} packets dropped during curl's transfer`);
  }, 100_000);

  test("the server counted retransmissions and ended every transfer cleanly", async () => {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const { metrics } = JSON.parse((await rest()).trim().split("\n").pop()!) as { metrics: Record<string, number> };
    expect(metrics["wisp_tftp_retransmits_total"]).toBeGreaterThan(0);
    // Ours dallies to re-ACK a lost final ACK; curl does not, so when its final ACK is lost the
    // server's transfer ends "client-gone" (ICMP unreachable), or "stopped" if we stop it first.
    const ended = (r: string) => metrics[`wisp_tftp_transfers_total{result="${r}"}`] ?? 0;
    expect(ended("complete")).toBeGreaterThanOrEqual(1);
    expect(ended("complete") + ended("client-gone") + ended("stopped")).toBe(2);
    expect(metrics["wisp_tftp_transfers_active"]).toBe(0);
  }, 30_000);
});
