/**
 * Real processes for end-to-end tests: `wispd` started through its npm bin shim, and the `wisp`
 * CLI run as a user would run it. Everything started here is stopped by the returned handles.
 */
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
  /** Sends SIGTERM and waits; returns the exit code. */
  stop(): Promise<number>;
}

/** Starts `bin/wispd` with the given flags on a free loopback port; resolves once it listens. */
export async function startWispd(args: string[], env: Record<string, string> = {}): Promise<WispdHandle> {
  const proc = Bun.spawn(["node", join(ROOT, "bin", "wispd"), "--listen-address", "127.0.0.1", "--http-port", "0", ...args], {
    // The syslog receiver stays off unless a test asks (--syslog-port wins over the environment):
    // its default port, 514, needs root and is one per host.
    env: { ...process.env, WISP_SYSLOG_PORT: "0", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  void new Response(proc.stderr).text().then((t) => (stderr = t));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wispd did not listen within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    void (async () => {
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of proc.stdout) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            const rec = JSON.parse(line) as Record<string, unknown>;
            logs.push(rec);
            if (rec.msg === "http listening") {
              clearTimeout(timer);
              resolve(rec.port as number);
            }
          } catch {
            logs.push({ raw: line });
          }
        }
      }
      clearTimeout(timer);
      reject(new Error(`wispd exited before listening (code ${await proc.exited}): ${stderr}`));
    })();
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
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
