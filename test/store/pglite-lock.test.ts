/**
 * One process at a time on a PGlite cluster (daemon/store/open.ts lockPgliteDir): two wispd on
 * one data directory each ran a PostgreSQL on the same files and both answered /readyz. The
 * second is now refused with the holder's pid; the lock goes when the holder closes or dies.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../daemon/store/open.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { processRunning, SETUP_TIMEOUT_MS, startWispd } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
const QUIET = ["--dhcp-mode", "off", "--tftp-port", "0"];

test("a second store on the same directory in this process is refused until the first is closed", async () => {
  const dir = await pgliteDataDir();
  try {
    const first = await openStore({ dataDir: dir.dataDir });
    const pglite = join(dir.dataDir, "pglite");
    await expect(openStore({ dataDir: dir.dataDir })).rejects.toThrow(
      `the PGlite store in ${pglite} is in use by another process (pid ${process.pid}): two processes on one cluster would corrupt it; stop the other wispd or give this one its own --data-dir`,
    );
    expect(readFileSync(`${pglite}.lock`, "utf8")).toBe(`pid ${process.pid}\n`);
    await first.ping(); // the first is untouched
    await first.close();
    const again = await openStore({ dataDir: dir.dataDir });
    await again.ping();
    await again.close();
  } finally {
    dir.remove();
  }
}, SETUP_TIMEOUT_MS);

test("a second wispd on a data directory in use exits with the holder's pid; once the holder is killed, it starts", async () => {
  const dir = await pgliteDataDir();
  const lock = join(dir.dataDir, "pglite.lock");
  let holderPid = 0;
  try {
    const first = await startWispd(["--data-dir", dir.dataDir, ...QUIET]);
    await first.waitForLog("wispd ready");
    const holder = readFileSync(lock, "utf8").trim();
    expect(holder).toMatch(/^pid \d+$/);
    holderPid = Number(holder.slice(4));
    expect(readFileSync(`/proc/${holderPid}/cmdline`, "utf8")).toContain(join(ROOT, "daemon", "main.ts"));

    const second = Bun.spawn(["node", join(ROOT, "bin", "wispd"), "--data-dir", dir.dataDir, "--listen-address", "127.0.0.1", "--http-port", "0", ...QUIET], {
      env: { ...process.env, WISP_SYSLOG_PORT: "0", WISP_GRPC_PORT: "0" },
      stdout: "ignore",
      stderr: "pipe",
    });
    const [code, stderr] = await Promise.all([second.exited, new Response(second.stderr).text()]);
    expect(code).toBe(1);
    expect(stderr).toContain(`wispd: the PGlite store in ${join(dir.dataDir, "pglite")} is in use by another process (${holder})`);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200); // the first serves on

    process.kill(holderPid, "SIGKILL"); // a crash: no clean-up runs, the kernel drops the lock
    await first.proc.exited;
    const third = await startWispd(["--data-dir", dir.dataDir, ...QUIET]);
    await third.waitForLog("wispd ready");
    expect(readFileSync(lock, "utf8")).not.toBe(`${holder}\n`);
    expect(await third.stop()).toBe(0);
  } finally {
    if (holderPid && processRunning(holderPid)) process.kill(holderPid, "SIGKILL");
    if (existsSync(dir.dataDir)) dir.remove();
  }
}, SETUP_TIMEOUT_MS);
