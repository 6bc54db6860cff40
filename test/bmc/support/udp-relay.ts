/**
 * Carries UDP datagrams from a port inside a test's network namespace to a UDP service on the
 * host's loopback (ipmi_sim binds 127.0.0.1 of the host, where wispd in the namespace cannot
 * reach it). A Unix socket crosses the namespace boundary: the namespace side (this file run as
 * a script under `ip netns exec`) frames each datagram with its sender's number, the host side
 * (startUdpRelay, in the test process) sends it from one UDP socket per sender, so the service
 * sees one client per sender, as without the relay.
 */
import type { Socket, Subprocess, udp } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote, whenProcessGone } from "../../support/cleanup.ts";
import type { Netns } from "../../support/netns.ts";

/** Frame: sender number (u16), length (u16), the datagram. */
function frame(peer: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint16(0, peer);
  new DataView(out.buffer).setUint16(2, data.length);
  out.set(data, 4);
  return out;
}

/** Splits a byte stream into frames; keeps a partial one for the next chunk. */
function deframer(onFrame: (peer: number, data: Uint8Array) => void): (chunk: Uint8Array) => void {
  let buf = new Uint8Array(0);
  return (chunk) => {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    let at = 0;
    while (joined.length - at >= 4) {
      const view = new DataView(joined.buffer, joined.byteOffset + at);
      const len = view.getUint16(2);
      if (joined.length - at - 4 < len) break;
      onFrame(view.getUint16(0), joined.slice(at + 4, at + 4 + len));
      at += 4 + len;
    }
    buf = joined.slice(at);
  };
}

export interface UdpRelay {
  stop(): Promise<void>;
}

/** Relays `ns`'s `127.0.0.1:listenPort` (UDP) to the host's `127.0.0.1:targetPort`. */
export async function startUdpRelay(ns: Netns, listenPort: number, targetPort: number): Promise<UdpRelay> {
  const dir = mkdtempSync(join(tmpdir(), "wisp-udp-relay-"));
  whenProcessGone(`rm -rf ${shellQuote(dir)}`);
  const path = join(dir, "relay.sock");
  const senders = new Map<number, udp.Socket<"uint8array">>();
  let conn: Socket | undefined;
  const server = Bun.listen({
    unix: path,
    socket: {
      open(s) {
        conn = s;
      },
      data: (() => {
        const feed = deframer((peer, data) => {
          void (async () => {
            let sender = senders.get(peer);
            if (!sender) {
              sender = await Bun.udpSocket({
                hostname: "127.0.0.1",
                port: 0,
                binaryType: "uint8array",
                socket: { data: (_s, reply) => void conn?.write(frame(peer, reply)) },
              });
              senders.set(peer, sender);
            }
            sender.send(data, targetPort, "127.0.0.1");
          })();
        });
        return (_s: unknown, chunk: Uint8Array) => feed(chunk);
      })(),
    },
  });
  const proc: Subprocess = ns.spawn([process.execPath, import.meta.path, path, String(listenPort)]);
  whenProcessGone(`kill -KILL ${proc.pid} 2>/dev/null`);
  // Ready once the namespace side has connected (it binds its port first).
  const deadline = Date.now() + 15_000;
  while (!conn) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const err = await new Response((proc as Subprocess<"ignore", "pipe", "pipe">).stderr).text();
      throw new Error(`udp relay did not start: ${err}`);
    }
    await Bun.sleep(20);
  }
  return {
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
      server.stop(true);
      for (const s of senders.values()) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The namespace side: `bun udp-relay.ts <unix path> <port>`.
if (import.meta.main) {
  const [path, port] = process.argv.slice(2) as [string, string];
  const peers = new Map<string, number>();
  const addrs: { address: string; port: number }[] = [];
  let listener: udp.Socket<"uint8array"> | undefined;
  const feed = deframer((peer, data) => {
    const to = addrs[peer];
    if (to) listener?.send(data, to.port, to.address);
  });
  const conn = await Bun.connect({ unix: path, socket: { data: (_s, chunk) => feed(chunk), close: () => process.exit(0) } });
  listener = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: Number(port),
    binaryType: "uint8array",
    socket: {
      data(_s, data, fromPort, fromAddress) {
        const key = `${fromAddress}:${fromPort}`;
        let peer = peers.get(key);
        if (peer === undefined) {
          peer = addrs.push({ address: fromAddress, port: fromPort }) - 1;
          peers.set(key, peer);
        }
        conn.write(frame(peer, data));
      },
    },
  });
}
