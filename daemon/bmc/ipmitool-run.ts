/**
 * Runs one ipmitool process: in its own process group (so a timeout kills anything it started),
 * with the password only in its environment (IPMI_PASSWORD, read by -E; `ps` shows argv, not
 * the environment of another user's process), bounded by a deadline.
 */
import { spawn } from "node:child_process";

/** How one ipmitool process ended and what it printed. */
export interface RunResult {
  /** Exit status; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when the deadline killed it. */
  timedOut: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT: not installed). */
  spawnError?: string;
}

/** Most a single call may print before it is cut (ipmitool prints a few lines). */
const MAX_OUTPUT = 64 * 1024;

/** Runs `argv` with `IPMI_PASSWORD=password` added to the environment, killed after `timeoutMs`. */
export function runIpmitool(argv: string[], password: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      // Only what ipmitool needs: wispd's own environment (tokens, database URL) stays out of it.
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", IPMI_PASSWORD: password },
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString();
    });
    child.on("error", (e) => finish({ code: null, stdout, stderr, timedOut, spawnError: (e as NodeJS.ErrnoException).code ?? e.message }));
    child.on("close", (code) => {
      finish({ code, stdout, stderr, timedOut });
    });
  });
}
