/**
 * The storm's throw-away PostgreSQL cluster (bench/support/postgres.ts), really started: reached
 * over its unix socket from another network namespace the way wispd reaches it (postgres.js, the
 * URL and the PGHOST/PGUSER environment the storm gives wispd), listening on no TCP port, pinned
 * to the server CPU with its backends, measured, and gone after stop(). Root only (the
 * namespace, and the cluster runs as the postgres user).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { treeProcesses, treeTicks } from "../../bench/support/cpu.ts";
import { SERVER_CPU } from "../../bench/support/pinning.ts";
import { postgresBin, postgresSettings, startPostgres, treeMemoryKb, type BenchPostgres } from "../../bench/support/postgres.ts";
import { createNetLab, execHost, IS_ROOT } from "../support/netns.ts";
import { processRunning } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** initdb and a first start on a loaded 2-core machine. */
const CLUSTER_TIMEOUT_MS = 90_000;

describe("the storm's PostgreSQL settings", () => {
  test("only where it listens: no TCP, the socket in the run's directory; the rest are PostgreSQL's defaults", () => {
    expect(postgresSettings("/tmp/x/postgres")).toEqual({ listen_addresses: "", unix_socket_directories: "/tmp/x/postgres", port: "5432" });
  });

  test("no server binaries names the package to install", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-no-pg-"));
    try {
      const saved = process.env.WISP_BENCH_PG_BIN;
      delete process.env.WISP_BENCH_PG_BIN;
      try {
        expect(() => postgresBin(dir)).toThrow("apt-get install -y postgresql");
      } finally {
        if (saved !== undefined) process.env.WISP_BENCH_PG_BIN = saved;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!IS_ROOT)("the storm's PostgreSQL cluster (real server, network namespace)", () => {
  test(
    "reached over its socket from another namespace as wispd reaches it, no TCP, pinned, measured, gone after stop()",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "wisp-storm-pg-"));
      const lab = await createNetLab();
      let pg: BenchPostgres | undefined;
      try {
        pg = startPostgres(dir, SERVER_CPU);
        await pg.waitReady();
        // wispd's way in: postgres.js with the URL and the environment the storm gives it.
        const ns = await lab.namespace("wispd");
        const script = `import postgres from "postgres"; const sql = postgres(${JSON.stringify(pg.url)}, { max: 1 }); const [r] = await sql\`select current_user as "user", inet_server_addr() as addr, current_setting('listen_addresses') as listen\`; console.log(JSON.stringify(r)); await sql.end();`;
        const proc = ns.spawn([process.execPath, "-e", script], { env: pg.env, cwd: ROOT });
        const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
        if (code !== 0) throw new Error(`client in ${ns.name} exited ${code}: ${err}`);
        // A unix-socket connection has no server address; the server listens on no TCP address.
        expect(JSON.parse(out.trim())).toEqual({ user: "postgres", addr: null, listen: "" });
        const tcp = await execHost(["ss", "-Hltnp"]);
        expect(tcp.stdout).not.toContain(`pid=${pg.pid},`);

        const tree = [...treeProcesses(pg.pid).keys()];
        // The postmaster and its background processes, all on the server CPU.
        expect(tree.length).toBeGreaterThanOrEqual(3);
        for (const p of tree) {
          const allowed = /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1];
          expect(`${p}: ${allowed}`).toBe(`${p}: ${SERVER_CPU}`);
        }
        const mem = treeMemoryKb(pg.pid);
        expect(mem.processes).toBe(tree.length);
        expect(mem.pss).toBeGreaterThan(0);
        expect(mem.rss).toBeGreaterThanOrEqual(mem.pss);
        expect(treeTicks(pg.pid)).toBeGreaterThanOrEqual(0);

        pg.stop();
        expect(processRunning(pg.pid)).toBe(false);
        for (const p of tree) expect(`${p}: ${processRunning(p)}`).toBe(`${p}: false`);
        pg.stop(); // idempotent
      } finally {
        pg?.stop();
        await lab.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    CLUSTER_TIMEOUT_MS,
  );
});
