/**
 * `--database-url` through a unix-domain socket, really: a throw-away cluster listening on a
 * socket in a temp directory and on no TCP port (bench/support/postgres.ts), reached with the
 * libpq forms psql takes, by openStore and by a real wispd, whose "store opened" line names the
 * socket file and none of whose lines (or refusals) shows the password. And the same parser
 * on TCP against the tests' shared cluster: several hosts, the first refusing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { postgresBin, startPostgres, type BenchPostgres } from "../../bench/support/postgres.ts";
import { openStore, type Store } from "../../daemon/store/open.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { ensurePostgres } from "../support/postgres.ts";
import { SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";

/** initdb and a first start on a loaded 2-core machine. */
const CLUSTER_TIMEOUT_MS = 120_000;
/** Trust authentication ignores it; it is here to be looked for where it must not be. */
const PASSWORD = "Qz9Kx-not-logged";
/** PG* variables the test runner may have: cleared, so only the URL says where to go. */
const NO_PG_ENV = { PGHOST: "", PGPORT: "", PGUSER: "", PGDATABASE: "", PGPASSWORD: "" };

let dir: string;
let pg: BenchPostgres;
let socketDir: string;
let socketFile: string;

/** current_user, and the server address (null over a unix socket) of a store's connection. */
async function whoAndHow(store: Store): Promise<{ user: string; addr: string | null }> {
  const rows = (await store.db.execute(sql`select current_user as "user", inet_server_addr()::text as addr`)) as unknown as { user: string; addr: string | null }[];
  return rows[0]!;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wisp-pgsock-"));
  pg = startPostgres(dir);
  socketDir = pg.socketDir;
  socketFile = join(socketDir, ".s.PGSQL.5432");
  // A killed run leaves no server: pg_ctl finds it by the data directory's postmaster.pid.
  const pgCtl = `${shellQuote(join(postgresBin(), "pg_ctl"))} -D ${shellQuote(join(socketDir, "data"))} -m immediate -w stop`;
  whenProcessGone(`${process.getuid?.() === 0 ? `runuser -u postgres -- ${pgCtl}` : pgCtl} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`);
  await pg.waitReady();
  // The user a socket-only URL without one connects as (postgres.js: the OS user, as libpq).
  const admin = postgres({ path: socketFile, user: "postgres", database: "postgres", max: 1, onnotice: () => {} });
  try {
    const me = userInfo().username;
    if (me !== "postgres") await admin.unsafe(`CREATE ROLE "${me}" LOGIN SUPERUSER`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}, CLUSTER_TIMEOUT_MS);

afterAll(() => {
  pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, CLUSTER_TIMEOUT_MS);

describe("openStore over a unix socket (a cluster with no TCP listener)", () => {
  test.each([
    ["?host=<dir>, no user (the OS user's role)", () => `postgresql:///postgres?host=${socketDir}`, userInfo().username],
    ["a user and password before an empty host, ?host= and ?port=", () => `postgresql://postgres:${PASSWORD}@/postgres?host=${socketDir}&port=5432`, "postgres"],
    ["the directory percent-encoded as the host", () => `postgresql://postgres@${encodeURIComponent(socketDir)}/postgres`, "postgres"],
    ["postgres://, a percent-encoded ?host= and sslmode=disable", () => `postgres://postgres@/postgres?host=${encodeURIComponent(socketDir)}&sslmode=disable`, "postgres"],
  ])(
    "%s",
    async (_name, url, user) => {
      const saved = { ...process.env };
      Object.assign(process.env, NO_PG_ENV);
      let store: Store | undefined;
      try {
        store = await openStore({ databaseUrl: url() });
        expect(store.location).toBe(socketFile);
        await store.ping();
        const who = await whoAndHow(store);
        expect(who.addr).toBeNull();
        expect(who.user).toBe(user);
      } finally {
        await store?.close();
        for (const k of Object.keys(NO_PG_ENV)) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
    },
    SETUP_TIMEOUT_MS,
  );

  test(
    "the wrong port: the error names the socket file it tried",
    async () => {
      let message = "";
      try {
        const store = await openStore({ databaseUrl: `postgresql://postgres:${PASSWORD}@/postgres?host=${socketDir}&port=5499&connect_timeout=10` });
        await store.close();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`postgresql at ${join(socketDir, ".s.PGSQL.5499")}: connect ENOENT`);
      expect(message).not.toContain(PASSWORD);
    },
    SETUP_TIMEOUT_MS,
  );
});

describe("wispd --database-url over a unix socket", () => {
  let wispd: WispdHandle | undefined;
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "wisp-pgsock-data-"));
  });
  afterAll(async () => {
    await wispd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, SETUP_TIMEOUT_MS);

  test(
    "starts on the socket, says where in \"store opened\" without the password, and its pool is on the socket",
    async () => {
      const url = `postgresql://postgres:${PASSWORD}@/postgres?host=${socketDir}&application_name=wisp-socket-test`;
      wispd = await startWispd(["--data-dir", dataDir, "--tftp-port", "0", "--dhcp-mode", "off", "--database-url", url], NO_PG_ENV);
      const opened = await wispd.waitForLog("store opened");
      expect(opened).toMatchObject({ store: "postgresql", location: socketFile });
      expect((await fetch(`${wispd.url}/readyz`)).status).toBe(200);
      // wispd's connections, seen from the server: over the socket (no client address), as postgres.
      const admin = postgres({ path: socketFile, user: "postgres", database: "postgres", max: 1, onnotice: () => {} });
      try {
        const rows = await admin<{ n: number; tcp: number }[]>`select count(*)::int as n, count(client_addr)::int as tcp from pg_stat_activity where application_name = 'wisp-socket-test' and usename = 'postgres'`;
        expect(rows[0]!.n).toBeGreaterThan(0);
        expect(rows[0]!.tcp).toBe(0);
        // The schema wispd migrated is in this cluster.
        const [tables] = await admin<{ n: number }[]>`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = 'hardware'`;
        expect(tables!.n).toBe(1);
      } finally {
        await admin.end({ timeout: 5 });
      }
      expect(await wispd.stop()).toBe(0);
      expect(JSON.stringify(wispd.logs)).not.toContain(PASSWORD);
      wispd = undefined;
    },
    SETUP_TIMEOUT_MS * 2,
  );

  test(
    "a URL it cannot understand: exits at start naming --database-url, without the password",
    async () => {
      let message = "";
      try {
        wispd = await startWispd(["--data-dir", dataDir, "--tftp-port", "0", "--dhcp-mode", "off", "--database-url", `postgresql://postgres:${PASSWORD}/x@/postgres?host=${socketDir}`], NO_PG_ENV);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain("wispd exited before listening");
      expect(message).toContain("--database-url: ");
      expect(message).not.toContain(PASSWORD);
    },
    SETUP_TIMEOUT_MS,
  );
});

describe("TCP URLs through the same parser (the tests' shared cluster)", () => {
  test(
    "several hosts: the first refuses, the next answers; the location lists both",
    async () => {
      const base = new URL(await ensurePostgres());
      // Port 1 on loopback: nothing listens there (a privileged port no test binds).
      const url = `postgresql://${base.username}${base.password ? `:${base.password}` : ""}@127.0.0.1:1,${base.host}${base.pathname}${base.search}`;
      const store = await openStore({ databaseUrl: url });
      try {
        expect(store.location).toBe(`127.0.0.1:1,${base.host}`);
        await store.ping();
        expect((await whoAndHow(store)).addr).not.toBeNull();
      } finally {
        await store.close();
      }
    },
    SETUP_TIMEOUT_MS,
  );
});
