/**
 * `--baseline DIR`: wispd from another checkout of the repository (an earlier commit, e.g.
 * `git archive <commit> | tar -x -C DIR` with node_modules linked), started like the one under
 * test so a change is measured against the build before it in the same run, under the same load.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pinned, SERVER_CPU } from "../support/pinning.ts";
import { waitLog, type ProcessSet } from "../support/processes.ts";
import type { Wispd } from "../support/wispd.ts";

/** Starts `root`/bin/wispd with the flags of startWispd (bench/support/wispd.ts) plus `extraArgs`; waits for `readyLog` too when given. */
export async function startBaselineWispd(procs: ProcessSet, root: string, dataDir: string, extraArgs: string[] = [], readyLog?: string): Promise<Wispd> {
  const bin = join(root, "bin", "wispd");
  if (!existsSync(bin)) throw new Error(`--baseline ${root}: no bin/wispd there`);
  const argv = ["node", bin, "--data-dir", dataDir, "--listen-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--tftp-port", "0", "--syslog-port", "0", "--log-level", "info", ...extraArgs];
  const [cmd, ...args] = pinned(SERVER_CPU, argv);
  const proc = procs.add(spawn(cmd!, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] }));
  const ready = readyLog === undefined ? undefined : waitLog(proc, readyLog, 60_000);
  const port = (await waitLog(proc, "http listening", 60_000)).port as number;
  await ready;
  proc.stdout!.resume();
  return { url: `http://127.0.0.1:${port}`, token: readFileSync(join(dataDir, "api-token"), "utf8").trim(), pid: proc.pid! };
}
