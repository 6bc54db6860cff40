/**
 * A new PGlite data directory: its cluster is created by a child process (daemon/store/
 * pglite-init.ts) so initdb's WebAssembly memory leaves with it, and the store then opens it as
 * on any restart. Measured in a process of its own, so nothing else in the test run is counted.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../daemon/store/open.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** In-process initdb left wispd at 700-1,000 MB; a cluster created by the child, about 280 MB. */
const RSS_BOUND_MB = 450;

const PROBE = `
import { openStore } from ${JSON.stringify(join(ROOT, "daemon", "store", "open.ts"))};
const lines = [];
const logger = { info: (o, m) => lines.push(m), warn() {}, debug() {}, error() {} };
const store = await openStore({ dataDir: process.argv[2], logger });
await store.ping();
Bun.gc(true);
console.log(JSON.stringify({ rssMb: process.memoryUsage().rss / 1048576, lines }));
await store.close();
`;

test("a new data directory's cluster is made in a child process, and the daemon's RSS stays that of a reopened cluster", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-pglite-create-"));
  try {
    const probe = join(dir, "probe.ts");
    await Bun.write(probe, PROBE);
    const run = async () => {
      const p = Bun.spawn([process.execPath, probe, join(dir, "data")], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(code, err).toBe(0);
      return JSON.parse(out.trim().split("\n").pop()!) as { rssMb: number; lines: string[] };
    };
    const first = await run();
    expect(first.lines).toContain("pglite cluster created");
    expect(existsSync(join(dir, "data", "pglite", "PG_VERSION"))).toBe(true);
    expect(readdirSync(join(dir, "data")).sort()).toEqual(["pglite", "pglite.lock"]); // the directory it was made in is gone
    expect(first.rssMb).toBeLessThan(RSS_BOUND_MB);
    const again = await run();
    expect(again.lines).not.toContain("pglite cluster created");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, SETUP_TIMEOUT_MS * 2);

test("a cluster that cannot be created is an error naming the directory; no directory is a usage error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-pglite-create-"));
  const init = join(ROOT, "daemon", "store", "pglite-init.ts");
  try {
    const notADirectory = join(dir, "a-file");
    await Bun.write(notADirectory, "not a directory");
    const bad = Bun.spawn([process.execPath, init, notADirectory], { stdout: "pipe", stderr: "pipe" });
    expect(await bad.exited).toBe(1);
    expect(await new Response(bad.stderr).text()).toContain(`cannot create the PGlite cluster in ${notADirectory}`);
    const none = Bun.spawn([process.execPath, init], { stdout: "pipe", stderr: "pipe" });
    expect(await none.exited).toBe(2);
    expect(await new Response(none.stderr).text()).toContain("usage:");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, SETUP_TIMEOUT_MS);

test("a pglite directory that holds something but no cluster is refused by name, and left as it was", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-pglite-create-"));
  try {
    const pglite = join(dir, "pglite");
    mkdirSync(pglite);
    writeFileSync(join(pglite, "notes.txt"), "not a cluster");
    const opened = openStore({ dataDir: dir });
    await expect(opened).rejects.toThrow(`cannot put the new PGlite cluster in ${pglite}: the directory is not empty and holds no cluster (no PG_VERSION)`);
    expect(readdirSync(pglite)).toEqual(["notes.txt"]);
    expect(readFileSync(join(pglite, "notes.txt"), "utf8")).toBe("not a cluster");
    expect(readdirSync(dir).sort()).toEqual(["pglite", "pglite.lock"]); // no half-made cluster beside it
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, SETUP_TIMEOUT_MS);
