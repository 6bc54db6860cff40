/** Cleanup that survives the test process: bun's test runner fires no "exit" event, and a killed run has none. */
import { spawn } from "node:child_process";

/** Runs the shell `command` once this process is gone, however it ends (a detached watcher polls its pid). */
export function whenProcessGone(command: string): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done; ${command}`;
  spawn("sh", ["-c", script], { detached: true, stdio: "ignore" }).unref();
}

/** Quotes `s` for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
