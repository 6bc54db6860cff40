/**
 * TFTP test harness: a server on loopback over temporary iPXE and artifacts directories, and a
 * raw UDP peer that sends bytes and waits for the next packet (no sleeps: it waits for the event).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "../../daemon/lib/metrics.ts";
import { createFileSource, type FileSourceConfig } from "../../daemon/tftp/files.ts";
import { startTftpServer, type TftpServer, type TftpServerOptions } from "../../daemon/tftp/server.ts";

export interface Harness {
  server: TftpServer;
  port: number;
  metrics: MetricsRegistry;
  root: string;
  ipxeDir: string;
  artifactsDir: string;
  /** Files written into the artifacts directory, by name. */
  files: Map<string, Uint8Array>;
  metric(name: string, labels?: Record<string, string>): number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Writes `bytes` under `dir/name` (creating directories) and returns them. */
export function put(dir: string, name: string, bytes: Uint8Array): Uint8Array {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
  return bytes;
}

/** Starts a server with `artifacts` (name -> size or bytes) in a fresh artifacts directory. */
export async function startHarness(
  artifacts: Record<string, number | Uint8Array> = {},
  options: Partial<TftpServerOptions> = {},
  fileConfig: Partial<FileSourceConfig> = {},
): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), "wisp-tftp-"));
  const ipxeDir = join(root, "ipxe");
  const artifactsDir = join(root, "artifacts");
  mkdirSync(ipxeDir);
  mkdirSync(artifactsDir);
  const files = new Map<string, Uint8Array>();
  for (const [name, spec] of Object.entries(artifacts)) {
    files.set(name, put(artifactsDir, name, typeof spec === "number" ? new Uint8Array(randomBytes(spec)) : spec));
  }
  const metrics = createMetricsRegistry();
  let server: TftpServer;
  try {
    server = await startTftpServer({
      hostname: "127.0.0.1",
      port: 0,
      files: createFileSource({ ipxeDir, artifactsDir, ...fileConfig }),
      logger: silentLogger(),
      metrics,
      ...options,
    });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    server,
    port: server.port,
    metrics,
    root,
    ipxeDir,
    artifactsDir,
    files,
    metric: (name, labels) => metrics.value(name, labels) ?? 0,
    async [Symbol.asyncDispose]() {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface Received {
  data: Uint8Array;
  port: number;
}

/** A UDP socket on loopback that sends raw bytes and hands out what arrives, in order. */
export async function rawPeer() {
  const queue: Received[] = [];
  const waiters: ((r: Received | undefined) => void)[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    binaryType: "uint8array",
    socket: {
      data: (_s, data, port) => {
        const r = { data: data.slice(), port };
        const w = waiters.shift();
        if (w) w(r);
        else queue.push(r);
      },
    },
  });
  return {
    port: socket.port,
    send: (bytes: Uint8Array, port: number) => socket.send(bytes, port, "127.0.0.1"),
    /** The next packet, or undefined if none comes within `ms`. */
    next(ms = 2000): Promise<Received | undefined> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => {
        const w = (r: Received | undefined) => {
          clearTimeout(timer);
          resolve(r);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          resolve(undefined);
        }, ms);
        waiters.push(w);
      });
    },
    [Symbol.dispose]: () => socket.close(),
  };
}

/** Latin1 bytes of a string. */
export const text = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));
