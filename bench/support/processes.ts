/**
 * Child processes of a benchmark: started ones are remembered so `stop()` ends them (and waits,
 * bounded) however the run ends; a wispd log line can be awaited; free loopback ports; versions.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The servers a run started; stop() ends them in finally. */
export class ProcessSet {
  private readonly procs: ChildProcess[] = [];

  add<P extends ChildProcess>(proc: P): P {
    this.procs.push(proc);
    return proc;
  }

  /** SIGTERM to each still running, then waits up to `graceMs` for them to exit; SIGKILL after. */
  async stop(graceMs = 10_000): Promise<void> {
    const alive = this.procs.filter((p) => p.exitCode === null && p.signalCode === null);
    const exited = alive.map((p) => new Promise((r) => p.once("exit", r)));
    for (const p of alive) p.kill("SIGTERM");
    await Promise.race([Promise.all(exited), Bun.sleep(graceMs)]);
    for (const p of alive) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
}

/** A run's scratch directory and processes; cleanup() stops them, runs `extra`, removes the directory (also on SIGINT). */
export function benchRun(name: string, extra?: () => void): { dir: string; procs: ProcessSet; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), `wisp-bench-${name}-`));
  const procs = new ProcessSet();
  const cleanup = async () => {
    // Servers first, and waited for (bounded), before their files go.
    await procs.stop();
    extra?.();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  return { dir, procs, cleanup };
}

/** Waits for a JSON log line with this message on the process's stdout; resolves to it. */
export function waitLog(proc: ChildProcess, msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms`)), timeoutMs);
    proc.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec.msg === msg) {
            clearTimeout(timer);
            resolve(rec);
          }
        } catch {
          // not a log line
        }
      }
    });
    proc.on("exit", (code) => reject(new Error(`process exited (${code}) before "${msg}"`)));
  });
}

/** A free loopback TCP port (bound and released). */
export function freeTcpPort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** A free loopback UDP port (bound and released). */
export async function freeUdpPort(): Promise<number> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = socket.port;
  socket.close();
  return port;
}

/** First line of a program's version output (stdout or stderr). */
export function versionOf(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] || "unknown";
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Waits until `probe` resolves true, every 25 ms, up to `timeoutMs`. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}
