/**
 * Real processes for end-to-end tests: `wispd` started through its npm bin shim, and the `wisp`
 * CLI run as a user would run it. Everything started here is stopped by the returned handles.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
/** How long wispd may take to say it listens (PGlite reopen + migrations check). */
const START_TIMEOUT_MS = 30_000;

export interface WispdHandle {
  port: number;
  url: string;
  /** Every JSON log line so far, parsed. */
  logs: Record<string, unknown>[];
  proc: ReturnType<typeof Bun.spawn>;
  /** The first log line with this `msg` (already logged or when it comes); rejects after `ms` or when wispd exits. */
  waitForLog(msg: string, ms?: number): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and waits; returns the exit code. */
  stop(): Promise<number>;
}

/** Starts `bin/wispd` with the given flags on a free loopback port; resolves once it listens. */
export async function startWispd(args: string[], env: Record<string, string> = {}): Promise<WispdHandle> {
  const proc = Bun.spawn(["node", join(ROOT, "bin", "wispd"), "--listen-address", "127.0.0.1", "--http-port", "0", ...args], {
    // The syslog receiver stays off unless a test asks (--syslog-port wins over the environment):
    // its default port, 514, needs root and is one per host.
    // The workflow service takes any free port (wispdGrpcPort reads it): 42113 is one per host.
    env: { ...process.env, WISP_SYSLOG_PORT: "0", WISP_GRPC_PORT: "0", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Record<string, unknown>[] = [];
  // Waiters for a log line (waitForLog), told of each line as it is parsed.
  const watchers = new Set<(rec: Record<string, unknown>) => void>();
  let stderr = "";
  void new Response(proc.stderr).text().then((t) => (stderr = t));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wispd did not listen within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    void (async () => {
      await readJsonLines(proc.stdout, (rec) => {
        logs.push(rec);
        for (const w of watchers) w(rec);
        if (rec.msg === "http listening") {
          clearTimeout(timer);
          resolve(rec.port as number);
        }
      });
      clearTimeout(timer);
      reject(new Error(`wispd exited before listening (code ${await proc.exited}): ${stderr}`));
    })();
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    proc,
    waitForLog(msg, ms = START_TIMEOUT_MS) {
      const seen = logs.find((l) => l.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = (error?: Error, rec?: Record<string, unknown>) => {
          clearTimeout(timer);
          watchers.delete(watch);
          if (error) reject(error);
          else resolve(rec!);
        };
        const watch = (rec: Record<string, unknown>) => rec.msg === msg && done(undefined, rec);
        const timer = setTimeout(() => done(new Error(`wispd did not log "${msg}" within ${ms} ms: ${stderr}`)), ms);
        watchers.add(watch);
        void proc.exited.then((code) => done(new Error(`wispd exited (code ${code}) before logging "${msg}": ${stderr}`)));
      });
    },
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/** Reads `stream` to its end as lines of JSON, each handed to `onRecord` parsed (a line that is not JSON as `{ raw: line }`). */
export async function readJsonLines(stream: ReadableStream<Uint8Array>, onRecord: (rec: Record<string, unknown>) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { raw: line };
      }
      onRecord(rec);
    }
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/wisp` with arguments and environment (and optional stdin) to completion. */
export async function runWisp(args: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  const proc = Bun.spawn(["node", join(ROOT, "bin", "wisp"), ...args], {
    env: { ...process.env, WISP_TOKEN: "", ...env },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** The shared examples (a real user's manifests), beside the repository as in CI. */
export const EXAMPLES_DIR = join(ROOT, "..", "shared", "examples");

/** Limit for setup hooks that start real services (bun's hook default is 5 s; bunfig's timeout covers tests only). */
export const SETUP_TIMEOUT_MS = 60_000;

/** The workflow service's port of a wispd started with `--grpc-port 0` (its `grpc listening` line). */
export async function wispdGrpcPort(wispd: WispdHandle): Promise<number> {
  return (await wispd.waitForLog("grpc listening")).port as number;
}

/** Whether `pid` is a live process (a zombie waiting for its reaper is not). */
export function processRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
