/**
 * The libc calls that need no privileges, and their errors. Setting ARP entries and binding
 * to real links is exercised inside network namespaces (test/dhcp/real-clients.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bindToDevice, interfaceIPv4, lockExclusive, raiseListenBacklog, setArpEntry, setReceiveBuffer } from "../../daemon/net/libc.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";
import { listenBacklog } from "../support/netns.ts";

const isRoot = process.getuid?.() === 0;

async function withSocket<T>(fn: (fd: number) => T): Promise<T> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  try {
    return fn((socket as unknown as { fd: number }).fd);
  } finally {
    socket.close();
  }
}

describe("libc through bun:ffi", () => {
  test("interfaceIPv4 reads loopback's address and mask", () => {
    const lo = interfaceIPv4("lo");
    expect(lo).toEqual({ ok: true, value: { address: (parseIpv4("127.0.0.1") as { value: number }).value, netmask: 0xff000000 } });
    expect(interfaceIPv4("wsp-no-such")).toEqual({ ok: false, error: "interface wsp-no-such: not found (or it has no address)" });
  });

  test("names longer than IFNAMSIZ are refused before any call", async () => {
    await withSocket((fd) => {
      expect(bindToDevice(fd, "a-name-longer-than-15")).toEqual({ ok: false, error: 'interface name "a-name-longer-than-15": expected 1-15 bytes' });
      expect(bindToDevice(fd, "")).toMatchObject({ ok: false });
    });
    expect(setArpEntry("a-name-longer-than-15", "10.0.0.1", "02:00:00:00:00:01")).toMatchObject({ ok: false, error: expect.stringContaining("expected 1-15 bytes") });
  });

  test("bad addresses are refused before any call", () => {
    expect(setArpEntry("lo", "10.0.0", "02:00:00:00:00:01")).toMatchObject({ ok: false, error: expect.stringContaining("invalid IPv4 address") });
    expect(setArpEntry("lo", "10.0.0.1", "02:00")).toMatchObject({ ok: false, error: expect.stringContaining("invalid MAC address") });
    expect(setArpEntry("lo", 1, new Uint8Array(4))).toEqual({ ok: false, error: "hardware address of 4 bytes, expected 6" });
  });

  test("a missing interface is an error with errno text, never an exception", async () => {
    await withSocket((fd) => {
      const res = bindToDevice(fd, "wspnosuch0");
      expect(res).toMatchObject({ ok: false, error: expect.stringMatching(/^SO_BINDTODEVICE wspnosuch0: .+ \(errno \d+\)$/) });
      // ENODEV as root; an unprivileged process may be refused first (EPERM).
      if (isRoot) expect(res).toEqual({ ok: false, error: "SO_BINDTODEVICE wspnosuch0: No such device (errno 19)" });
    });
    const arp = setArpEntry("wspnosuch0", "10.0.0.1", "02:00:00:00:00:01");
    expect(arp).toMatchObject({ ok: false, error: expect.stringMatching(/^SIOCSARP wspnosuch0: .+ \(errno \d+\)$/) });
  });

  test.skipIf(!isRoot)("as root: binding to loopback works", async () => {
    await withSocket((fd) => expect(bindToDevice(fd, "lo")).toEqual({ ok: true, value: undefined }));
  });

  test("a larger receive buffer is set on the socket, as ss(8) reports it", async () => {
    const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const want = 4 * 1024 * 1024;
      const r = setReceiveBuffer((socket as unknown as { fd: number }).fd, want);
      expect(r).toEqual({ ok: true, value: isRoot ? "forced" : "capped" });
      const ss = Bun.spawnSync(["ss", "-uamnH", "sport", "=", `:${socket.port}`]).stdout.toString();
      const rb = Number(/rb(\d+)/.exec(ss)?.[1]);
      // The kernel doubles the request for its bookkeeping; without CAP_NET_ADMIN rmem_max caps it.
      if (isRoot) expect(rb).toBe(2 * want);
      else expect(rb).toBeGreaterThan(0);
    } finally {
      socket.close();
    }
  });
});

describe("listen backlog", () => {
  test("a Bun.serve listener's backlog goes from the runtime's 512 to what was asked (within somaxconn)", () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
    try {
      const before = listenBacklog(server.port!);
      expect(before).toBe(512);
      const r = raiseListenBacklog(server.port!, 1024);
      expect(r).toEqual({ ok: true, value: 1 });
      expect(listenBacklog(server.port!)).toBe(1024);
    } finally {
      server.stop(true);
    }
  });

  test("a port nothing of ours listens on is an error naming it", () => {
    const r = raiseListenBacklog(1, 4096);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe("no listening TCP socket on port 1 in this process's namespace");
  });
});

describe("flock through bun:ffi", () => {
  test("one holder at a time, across open files and processes; closing or dying releases it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-flock-"));
    const path = join(dir, "lock");
    const fds: number[] = [];
    const open = () => {
      const fd = openSync(path, "a+");
      fds.push(fd);
      return fd;
    };
    let child: ReturnType<typeof Bun.spawn> | undefined;
    try {
      const a = open();
      expect(lockExclusive(a)).toEqual({ ok: true, value: "locked" });
      const b = open(); // another open file description in this process
      expect(lockExclusive(b)).toEqual({ ok: true, value: "held" });
      closeSync(a);
      fds.splice(fds.indexOf(a), 1);
      expect(lockExclusive(b)).toEqual({ ok: true, value: "locked" });
      closeSync(b);
      fds.splice(fds.indexOf(b), 1);

      // Another process takes it, then is killed: the kernel lets go.
      const holder = `const { openSync } = require("node:fs"); const { lockExclusive } = require(${JSON.stringify(join(import.meta.dir, "..", "..", "daemon", "net", "libc.ts"))});
        console.log(JSON.stringify(lockExclusive(openSync(${JSON.stringify(path)}, "a+")))); setInterval(() => {}, 1000);`;
      child = Bun.spawn([process.execPath, "-e", holder], { stdout: "pipe", stderr: "inherit" });
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('{"ok":true,"value":"locked"}\n');
      const c = open();
      expect(lockExclusive(c)).toEqual({ ok: true, value: "held" });
      child.kill("SIGKILL");
      await child.exited;
      expect(lockExclusive(c)).toEqual({ ok: true, value: "locked" });
    } finally {
      child?.kill("SIGKILL");
      for (const fd of fds) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a descriptor that is not open is an error naming the call", () => {
    const r = lockExclusive(987654);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe("flock(987654): Bad file descriptor (errno 9)");
  });
});
