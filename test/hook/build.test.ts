/**
 * The Hook build: module resolution and the cpio writer against GNU cpio (units), then a real
 * build from this host's Debian packages, its archive listed with zstd + cpio (not just the
 * manifest's word for it), and the cache hit of a second build.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHook, INITRAMFS_NAME, KERNEL_NAME, MANIFEST_NAME, parseArgs, type HookManifest } from "../../hook/build.ts";
import { cpioArchive, cpioWriter, type CpioEntry } from "../../hook/cpio.ts";
import { resolveModules } from "../../hook/inputs.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { execHost, requireTools } from "../support/netns.ts";

/** A cold build compresses ~260 MiB (zstd -12: about 25 s of CPU, minutes on a busy 2-core machine). */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("modules.dep resolution", () => {
  const dep = [
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
    "kernel/net/core/failover.ko:",
    "kernel/drivers/virtio/virtio.ko:",
    "kernel/net/8021q/8021q.ko: kernel/net/802/garp.ko",
    "kernel/net/802/garp.ko:",
  ].join("\n");
  const builtin = "kernel/drivers/nvme/host/nvme.ko\n";

  test("loads every dependency before its user, each once; built-in and absent modules are told apart", () => {
    const r = resolveModules(["virtio_net", "8021q", "nvme", "e1000e", "virtio-net"], dep, builtin);
    const order = r.modules.map((m) => m.name);
    expect(order).toEqual(["failover", "net_failover", "virtio", "virtio_net", "garp", "8021q"]);
    expect(r.builtin).toEqual(["nvme"]);
    expect(r.missing).toEqual(["e1000e"]);
    for (const m of r.modules) for (const d of m.deps) expect(r.modules.findIndex((x) => x.rel === d)).toBeLessThan(order.indexOf(m.name));
  });
});

describe("cpio writer", () => {
  test("GNU cpio reads its archive: names, modes, symlink targets, file contents", async () => {
    await requireTools({ cpio: "cpio" });
    const dir = mkdtempSync(join(tmpdir(), "wisp-cpio-"));
    try {
      const chunks: Uint8Array[] = [];
      const w = cpioWriter({ write: (c) => chunks.push(c.slice()) });
      w.add({ kind: "dir", path: "/usr" });
      w.add({ kind: "file", path: "/usr/hello", data: new TextEncoder().encode("hello, hook\n"), mode: 0o755 });
      w.add({ kind: "file", path: "/usr/odd", data: new Uint8Array([1, 2, 3]) });
      w.add({ kind: "symlink", path: "/bin", target: "usr/bin" });
      w.add({ kind: "chardev", path: "/dev/console", major: 5, minor: 1 });
      const size = w.finish();
      const archive = Buffer.concat(chunks);
      expect(archive.length).toBe(size);
      expect(size % 4).toBe(0);
      await Bun.write(join(dir, "a.cpio"), archive);
      const list = await execHost(["sh", "-c", `cpio -itv < ${shellQuote(join(dir, "a.cpio"))}`]);
      expect(list.code).toBe(0);
      const lines = list.stdout.trim().split("\n");
      const names = await execHost(["sh", "-c", `cpio -it < ${shellQuote(join(dir, "a.cpio"))}`]);
      expect(names.stdout.trim().split("\n")).toEqual(["usr", "usr/hello", "usr/odd", "bin", "dev/console"]);
      expect(lines[3]).toEndWith("bin -> usr/bin");
      expect(lines[4]).toMatch(/^crw------- .* 5,\s*1 /);
      expect(lines[1]).toStartWith("-rwxr-xr-x");
      const hello = await execHost(["sh", "-c", `cpio -i --to-stdout usr/hello < ${shellQuote(join(dir, "a.cpio"))}`]);
      expect(hello.stdout).toBe("hello, hook\n");
      expect(() => cpioWriter({ write: () => 0 }).add({ kind: "dir", path: "/" })).toThrow(/bad path/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("cpioArchive (the in-memory form the test VMs' initrds use) is the writer's stream, byte for byte", () => {
    const entries: CpioEntry[] = [
      { kind: "dir", path: "bin" },
      { kind: "file", path: "bin/odd", data: new Uint8Array([1, 2, 3]), mode: 0o755 },
      { kind: "symlink", path: "bin/sh", target: "busybox" },
    ];
    const chunks: Uint8Array[] = [];
    const w = cpioWriter({ write: (c) => chunks.push(c.slice()) });
    for (const e of entries) w.add(e);
    const size = w.finish();
    const archive = cpioArchive(entries);
    expect(archive.length).toBe(size);
    expect(Buffer.from(archive).equals(Buffer.concat(chunks))).toBe(true);
  });
});

describe("hook/build.ts options", () => {
  test("bad options are named", () => {
    expect(() => parseArgs(["--compress", "lz4"])).toThrow(/--compress: expected zstd or xz, got "lz4"/);
    expect(() => parseArgs(["--level", "high"])).toThrow(/--level: expected a number/);
    expect(() => parseArgs(["--out"])).toThrow(/--out needs a value/);
    expect(() => parseArgs(["--frobnicate"])).toThrow(/unknown option --frobnicate/);
    expect(parseArgs(["--out", "/x", "--module", "ena", "--module", "gve"])).toMatchObject({ outDir: "/x", extraModules: ["ena", "gve"] });
  });
});

describe("a real Hook build", () => {
  let out: string;
  let first: Awaited<ReturnType<typeof buildHook>>;
  let listing: string[];

  beforeAll(async () => {
    await requireTools({ zstd: "zstd", cpio: "cpio" });
    out = mkdtempSync(join(tmpdir(), "wisp-hook-build-"));
    whenProcessGone(`rm -rf ${shellQuote(out)}`);
    first = await buildHook({ outDir: out, onProgress: (l) => console.log(`hook: ${l}`) });
    const r = await execHost(["sh", "-c", `zstd -dc ${shellQuote(first.initramfs)} | cpio -it`], { timeoutMs: 300_000 });
    expect(r.code).toBe(0);
    listing = r.stdout.trim().split("\n");
  }, BUILD_TIMEOUT_MS);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("writes the names the iPXE script asks for, and a manifest that matches the files", () => {
    expect(first.kernel).toBe(join(out, KERNEL_NAME));
    expect(first.initramfs).toBe(join(out, INITRAMFS_NAME));
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST_NAME), "utf8")) as HookManifest;
    expect(manifest).toEqual(first.manifest);
    expect(sha256(readFileSync(first.kernel))).toBe(manifest.kernel.sha256);
    expect(sha256(readFileSync(first.initramfs))).toBe(manifest.initramfs.sha256);
    expect(manifest.initramfs.compression).toBe("zstd");
    for (const pkg of ["docker.io", "containerd", "runc", "busybox-static", "iptables", "tini", "linux-image-cloud-amd64", `linux-image-${manifest.kernel.release}`]) expect(manifest.packages[pkg]).toBeString();
    console.log(`Hook: kernel ${(manifest.kernel.size / 2 ** 20).toFixed(1)} MiB, initramfs ${(manifest.initramfs.size / 2 ** 20).toFixed(1)} MiB (${(manifest.initramfs.uncompressedSize / 2 ** 20).toFixed(1)} MiB unpacked)`);
  });

  test("the archive holds init, busybox, the engine, the agent and their libraries", () => {
    const have = new Set(listing);
    for (const path of ["init", "dev/console", "usr/bin/busybox", "usr/bin/sh", "usr/sbin/udhcpc", "usr/sbin/dockerd", "usr/bin/containerd", "usr/bin/containerd-shim-runc-v2", "usr/sbin/runc", "usr/bin/docker-init", "usr/sbin/iptables", "usr/bin/wisp-agent", "etc/inittab", "usr/share/udhcpc/default.script", "etc/wisp-hook/modules", "lib64", "usr/lib64/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libseccomp.so.2", "usr/lib/x86_64-linux-gnu/libpthread.so.0", "usr/lib/x86_64-linux-gnu/libdl.so.2", "usr/lib/x86_64-linux-gnu/libm.so.6", "usr/lib/x86_64-linux-gnu/xtables/libxt_MASQUERADE.so"]) {
      expect({ path, present: have.has(path) }).toEqual({ path, present: true });
    }
    for (const path of Object.keys(first.manifest.files)) expect({ path, present: have.has(path.slice(1)) }).toEqual({ path, present: true });
  });

  test("the agent in the archive is dist/wisp-agent byte for byte (not stripped)", async () => {
    const r = await execHost(["sh", "-c", `zstd -dc ${shellQuote(first.initramfs)} | cpio -i --quiet --to-stdout usr/bin/wisp-agent | sha256sum`], { timeoutMs: 300_000 });
    expect(r.stdout.split(" ")[0]).toBe(first.manifest.agent.sha256);
    expect(first.manifest.agent.size).toBeGreaterThan(50 * 2 ** 20); // a compiled bun binary: runtime + bundle
  });

  test("ships the modules asked for with their dependencies, dependencies first", () => {
    const { loaded, builtin, missing } = first.manifest.modules;
    for (const m of ["virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "sd_mod", "overlay", "bridge", "br_netfilter", "veth", "8021q", "ip_tables", "iptable_nat", "xt_MASQUERADE", "vfat", "nls_cp437", "xfs", "loop"]) expect(loaded).toContain(m);
    // modules.dep: virtio_net needs net_failover and failover; br_netfilter needs bridge, stp, llc.
    for (const [user, deps] of [["virtio_net", ["failover", "net_failover", "virtio", "virtio_ring"]], ["br_netfilter", ["bridge", "stp", "llc"]], ["8021q", ["garp", "mrp"]]] as const) {
      for (const d of deps) expect(loaded.indexOf(d)).toBeLessThan(loaded.indexOf(user));
    }
    expect(builtin).toContain("nvme");
    // Debian's cloud kernel has no e1000/e1000e/ahci: recorded, not hidden.
    expect([...builtin, ...missing, ...loaded]).toEqual(expect.arrayContaining(["e1000", "e1000e", "ahci"]));
    const shipped = new Set(listing.filter((p) => p.startsWith(`usr/lib/modules/${first.manifest.kernel.release}/`) && p.endsWith(".ko")).map((p) => p.slice(p.lastIndexOf("/") + 1, -3).replaceAll("-", "_")));
    for (const m of loaded) expect({ m, shipped: shipped.has(m) }).toEqual({ m, shipped: true });
  });

  test("a second build with nothing changed is a cache hit", async () => {
    const lines: string[] = [];
    const again = await buildHook({ outDir: out, onProgress: (l) => lines.push(l) });
    expect(again.cached).toBe(true);
    expect(again.manifest.cacheKey).toBe(first.manifest.cacheKey);
    expect(sha256(readFileSync(again.initramfs))).toBe(first.manifest.initramfs.sha256);
    expect(lines.some((l) => l.startsWith("cache hit"))).toBe(true);
  }, 120_000);
});
