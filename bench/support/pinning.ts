/**
 * Where a benchmark's processes run: the server under test on one CPU, the load generator on
 * another (taskset), so the two never compete for a core; and the tools a bench needs.
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";

/** The CPU servers are pinned to. */
export const SERVER_CPU = 0;
/** The CPU load generators (wrk, curl, our TFTP client) are pinned to. */
export const CLIENT_CPU = 1;

/** argv run on one CPU. */
export function pinned(cpu: number, argv: readonly string[]): string[] {
  return ["taskset", "-c", String(cpu), ...argv];
}

/** Throws unless the program is on PATH (or in /usr/sbin), naming the Debian package to install. */
export function need(tool: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0) throw new Error(`${tool} is missing: apt-get install -y ${pkg}`);
}

/** Throws unless the server and the client can each have a CPU. */
export function needTwoCpus(): void {
  need("taskset", "util-linux");
  if (cpus().length < 2) throw new Error(`needs two CPUs (server on CPU ${SERVER_CPU}, client on CPU ${CLIENT_CPU})`);
}
