/**
 * A tiny real boot storm: bench/storm/run.ts with 20 machines (scaled sizes, all at once) against
 * a real wispd in a network namespace of its own, through the relay, TFTP, HTTP, metadata and the
 * agent protocol; every machine must boot and every workflow end in SUCCESS. Once on wispd's
 * embedded PGlite, once on the storm's own PostgreSQL cluster (reached over a unix socket from
 * wispd's namespace), and a run interrupted by SIGINT must leave neither the cluster nor its
 * files behind. The runs clean their namespaces and files up however they end. Skips only when
 * not root (namespaces).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { IS_ROOT } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { processRunning } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** wispd's start (PGlite, or initdb and PostgreSQL), the apply and the storm on a loaded 2-core machine. */
const STORM_TIMEOUT_MS = 150_000;
const QUICK = ["--quick", "--machines", "20", "--no-baseline", "--no-static", "--no-bound", "--log-level", "warn"];
/** The storm's log line once its cluster accepts connections. */
const PG_LINE = /PostgreSQL: .*, pid (\d+), socket in (\S+)/;

interface StormSummary {
  label: string;
  store: string;
  wispd: { machines: number; succeeded: number; failed: number; bytes: number };
  resources: { wispd: { cpuSeconds: number; peakRssMb: number }; postgres?: { cpuSeconds: number; peakRssSumMb: number; peakPssSumMb: number; peakProcesses: number } };
}

/**
 * Runs the storm with `args`; `onErr` sees its stderr as it comes. SIGINT makes the run clean its
 * namespaces and files up before the test's own limit.
 */
async function runStorm(args: string[], onErr?: (soFar: string, proc: ReturnType<typeof Bun.spawn>) => void): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "bench", "storm", "run.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, WISP_BENCH_OUT_DIR: "" } });
  const killer = setTimeout(() => proc.kill("SIGINT"), STORM_TIMEOUT_MS - 10_000);
  let err = "";
  const readErr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      err += decoder.decode(chunk, { stream: true });
      onErr?.(err, proc);
    }
  })();
  const out = await new Response(proc.stdout).text();
  await readErr;
  clearTimeout(killer);
  return { code: await proc.exited, out, err };
}

/** Live processes whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p) && processRunning(Number(p))).flatMap((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ");
      return cmd.includes(text) ? [`${p}: ${cmd}`] : [];
    } catch {
      return [];
    }
  });
}

function summaryOf(run: { code: number; out: string; err: string }): StormSummary {
  if (run.code !== 0) throw new Error(`storm exited ${run.code}:\n${run.err.slice(-3000)}`);
  return JSON.parse(run.out.trim().split("\n").at(-1)!) as StormSummary;
}

describe.skipIf(!IS_ROOT)("boot storm (network namespaces, real wispd)", () => {
  test(
    "20 machines boot with no failure and their 20 workflows end in SUCCESS",
    async () => {
      // A copy of the tests' migrated PGlite template: wispd starts without running the migrations.
      const data = await pgliteDataDir();
      let run: Awaited<ReturnType<typeof runStorm>>;
      try {
        run = await runStorm([...QUICK, "--data-dir", data.dataDir]);
      } finally {
        data.remove();
      }
      const summary = summaryOf(run);
      expect(summary.store).toBe("PGlite");
      expect(summary.wispd).toMatchObject({ machines: 20, succeeded: 20, failed: 0 });
      // Per machine: the iPXE binary (74 kB), 256 KiB kernel and 1 MiB initrd, the script and a hostname.
      expect(summary.wispd.bytes).toBeGreaterThan(20 * (74_000 + 262_144 + 1_048_576));
      expect(summary.resources.postgres).toBeUndefined();
      expect(run.err).toMatch(/workflows \{"SUCCESS":20\}/);
    },
    STORM_TIMEOUT_MS,
  );

  test(
    "on PostgreSQL over a unix socket: 20 machines boot, the server's CPU and memory are measured apart, and it is gone afterwards",
    async () => {
      const run = await runStorm([...QUICK, "--store", "postgres"]);
      const summary = summaryOf(run);
      expect(summary.label).toBe("20-burst-256K+1M-pg");
      expect(summary.store).toMatch(/^PostgreSQL \d+\.\d+, started by the storm \(unix socket\)$/);
      expect(summary.wispd).toMatchObject({ machines: 20, succeeded: 20, failed: 0 });
      expect(run.err).toMatch(/workflows \{"SUCCESS":20\}/);
      // 20 workflows of 3 actions went through PostgreSQL: its backends did work, apart from wispd's.
      const pg = summary.resources.postgres!;
      expect(pg.cpuSeconds).toBeGreaterThan(0);
      expect(pg.peakProcesses).toBeGreaterThanOrEqual(3);
      expect(pg.peakPssSumMb).toBeGreaterThan(0);
      expect(pg.peakRssSumMb).toBeGreaterThanOrEqual(pg.peakPssSumMb);
      expect(summary.resources.wispd.cpuSeconds).toBeGreaterThan(0);
      const [, pid, socketDir] = PG_LINE.exec(run.err) ?? [];
      expect(processRunning(Number(pid))).toBe(false);
      expect(existsSync(socketDir!)).toBe(false);
    },
    STORM_TIMEOUT_MS,
  );

  test(
    "SIGINT once the cluster is up: the run stops it and removes its scratch directory",
    async () => {
      let seen: RegExpExecArray | null = null;
      const run = await runStorm([...QUICK, "--store", "postgres"], (err, proc) => {
        if (seen) return;
        seen = PG_LINE.exec(err);
        if (seen) proc.kill("SIGINT");
      });
      if (!seen) throw new Error(`no PostgreSQL line before the storm ended (exit ${run.code}):\n${run.err.slice(-3000)}`);
      const [, pid, socketDir] = seen as RegExpExecArray;
      expect(run.code).toBe(130);
      expect(processRunning(Number(pid))).toBe(false);
      // <scratch>/postgres: the whole scratch directory is gone, and wispd (SIGTERM, not waited for) ends.
      const scratch = dirname(socketDir!);
      expect(existsSync(scratch)).toBe(false);
      const deadline = Date.now() + 30_000;
      while (processesMentioning(scratch).length > 0 && Date.now() < deadline) await Bun.sleep(200);
      expect(processesMentioning(scratch)).toEqual([]);
    },
    STORM_TIMEOUT_MS,
  );
});
