/**
 * A PostgreSQL server for tests: `WISP_TEST_DATABASE_URL` when set, else a throw-away cluster
 * started once per test process under a temp dir and removed at exit (also after a failure).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { shellQuote, whenProcessGone } from "./cleanup.ts";

/** Where Debian puts the PostgreSQL 15 server binaries; override with WISP_TEST_PG_BIN. */
const PG_BIN = process.env.WISP_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";
/** The server refuses to run as root; as root we run it as this user. */
const PG_USER = "postgres";

// One cluster per test process, shared by every suite: starting one costs ~2 s.
let cluster: Promise<string> | undefined;

/** A base connection URL (to the `postgres` database) of a server tests may create databases on. */
export function ensurePostgres(): Promise<string> {
  const fromEnv = process.env.WISP_TEST_DATABASE_URL;
  if (fromEnv) return Promise.resolve(fromEnv);
  return (cluster ??= startCluster());
}

/** A uniquely named, empty database for one suite; `drop()` removes it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = await ensurePostgres();
  const name = `wisp_test_${process.pid}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

async function startCluster(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "wisp-pg-"));
  const data = join(dir, "data");
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { uid, gid } = pgUserIds();
    chownSync(dir, uid, gid);
  }
  const stop = () => {
    run(asRoot, ["pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], { quiet: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    run(asRoot, ["initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    // Unix socket in our dir, TCP only on loopback; fsync off: a test cluster need not survive a crash.
    appendFileSync(
      join(data, "postgresql.conf"),
      `listen_addresses='127.0.0.1'\nport=${port}\nunix_socket_directories='${dir}'\nfsync=off\nfull_page_writes=off\nsynchronous_commit=off\nmax_connections=200\n`,
    );
    run(asRoot, ["pg_ctl", "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
    watchExit(asRoot, data, dir);
    return `postgres://postgres@127.0.0.1:${port}/postgres`;
  } catch (e) {
    stop();
    throw e;
  }
}

/** Stops the cluster and removes its dir once this process is gone, so no server outlives a run. */
function watchExit(asRoot: boolean, data: string, dir: string): void {
  const pgCtl = `${shellQuote(join(PG_BIN, "pg_ctl"))} -D ${shellQuote(data)} -m immediate -w stop`;
  const stop = asRoot ? `runuser -u ${PG_USER} -- ${pgCtl}` : pgCtl;
  whenProcessGone(`${stop} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`);
}

function run(asRoot: boolean, argv: string[], opts: { quiet?: boolean } = {}): void {
  const [cmd, ...args] = argv as [string, ...string[]];
  const exe = join(PG_BIN, cmd);
  const res = asRoot
    ? spawnSync("runuser", ["-u", PG_USER, "--", exe, ...args], { encoding: "utf8" })
    : spawnSync(exe, args, { encoding: "utf8" });
  if (res.status !== 0 && !opts.quiet) {
    throw new Error(`${cmd} failed (${res.error?.message ?? `exit ${res.status}`}): ${res.stderr}${res.stdout}`);
  }
}

function pgUserIds(): { uid: number; gid: number } {
  const res = spawnSync("id", ["-u", PG_USER], { encoding: "utf8" });
  const gidRes = spawnSync("id", ["-g", PG_USER], { encoding: "utf8" });
  if (res.status !== 0 || gidRes.status !== 0) {
    throw new Error(`user ${PG_USER} not found: install PostgreSQL or set WISP_TEST_DATABASE_URL`);
  }
  return { uid: Number(res.stdout.trim()), gid: Number(gidRes.stdout.trim()) };
}

/** A TCP port free right now on loopback (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}
