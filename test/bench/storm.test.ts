/**
 * A tiny real boot storm: bench/storm/run.ts with 20 machines (scaled sizes, all at once) against
 * a real wispd in a network namespace of its own, through the relay, TFTP, HTTP, metadata and the
 * agent protocol; every machine must boot and every workflow end in SUCCESS. The run cleans its
 * namespaces and files up however it ends. Skips only when not root (namespaces).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { IS_ROOT } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** wispd's start (PGlite), the apply and the storm on a loaded 2-core machine. */
const STORM_TIMEOUT_MS = 150_000;

describe.skipIf(!IS_ROOT)("boot storm (network namespaces, real wispd)", () => {
  test(
    "20 machines boot with no failure and their 20 workflows end in SUCCESS",
    async () => {
      // A copy of the tests' migrated PGlite template: wispd starts without running the migrations.
      const data = await pgliteDataDir();
      let out: string;
      let err: string;
      let code: number;
      try {
        const argv = ["--quick", "--machines", "20", "--no-baseline", "--no-static", "--no-bound", "--log-level", "warn", "--data-dir", data.dataDir];
        const proc = Bun.spawn([process.execPath, join(ROOT, "bench", "storm", "run.ts"), ...argv], {
          cwd: ROOT,
          stdout: "pipe",
          stderr: "pipe",
          stdin: "ignore",
          env: { ...process.env, WISP_BENCH_OUT_DIR: "" },
        });
        // SIGINT makes the run clean its namespaces and files up before the test's own limit.
        const killer = setTimeout(() => proc.kill("SIGINT"), STORM_TIMEOUT_MS - 10_000);
        [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
        clearTimeout(killer);
        code = await proc.exited;
      } finally {
        data.remove();
      }
      if (code !== 0) throw new Error(`storm exited ${code}:\n${err.slice(-3000)}`);
      const last = out.trim().split("\n").at(-1)!;
      const summary = JSON.parse(last) as { wispd: { machines: number; succeeded: number; failed: number; bytes: number } };
      expect(summary.wispd).toMatchObject({ machines: 20, succeeded: 20, failed: 0 });
      // Per machine: the iPXE binary (74 kB), 256 KiB kernel and 1 MiB initrd, the script and a hostname.
      expect(summary.wispd.bytes).toBeGreaterThan(20 * (74_000 + 262_144 + 1_048_576));
      expect(err).toMatch(/workflows \{"SUCCESS":20\}/);
    },
    STORM_TIMEOUT_MS,
  );
});
