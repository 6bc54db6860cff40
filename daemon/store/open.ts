/**
 * Opens the store: PostgreSQL through postgres.js when a URL is given, else embedded PGlite in
 * the data directory. Both drizzle drivers yield a `PgDatabase`, so every query is written once.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { lockExclusive } from "../net/libc.ts";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema.ts";
import { parseDatabaseUrl, postgresConnection } from "./url.ts";

/** The schema type every repository function is written against. */
export type Schema = typeof schema;

/** A drizzle database or transaction over either driver. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/** The logger slice the store uses (pino-compatible). */
export interface StoreLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** An open database with its lifecycle. */
export interface Store {
  readonly db: Db;
  readonly driver: "pglite" | "postgres";
  /** Where it is: PGlite's directory, PostgreSQL's socket file or host:port (never a password). */
  readonly location: string;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  /**
   * LISTENs on `channel` (NOTIFY payloads go to `onNotify`); resolves once listening and to a
   * function that stops. `onReconnect` runs when a lost listening connection is back, since
   * notifications sent while it was down are gone (postgres only; PGlite never disconnects).
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

type Listen = Store["listen"];

/** Where the store lives; `databaseUrl` wins over `dataDir`. */
export interface OpenStoreOptions {
  dataDir?: string;
  databaseUrl?: string;
  logger?: StoreLogger;
  /** Told of every query's duration and outcome (ops: wisp_store_query_duration_seconds). */
  observeQuery?: QueryObserver;
}

/** Receives each store query's seconds and whether it succeeded. */
export type QueryObserver = (seconds: number, ok: boolean) => void;

/** Default data directory when neither option is given. */
export const DEFAULT_DATA_DIR = "var";
/** Connections postgres.js keeps per daemon. */
const POSTGRES_POOL_SIZE = 10;

/** The committed drizzle-kit migrations, resolved from this file so the cwd does not matter. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * Opens (and migrates) the store described by `opts`. A `databaseUrl` is a libpq connection URI
 * (daemon/store/url.ts); PG* variables of the environment fill what it leaves out, as postgres.js reads them.
 */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const store = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts.logger, opts.observeQuery)
    : await openPglite(join(opts.dataDir ?? DEFAULT_DATA_DIR, "pglite"), opts.logger, opts.observeQuery);
  return store;
}

async function openPostgres(text: string, logger?: StoreLogger, observe?: QueryObserver): Promise<Store> {
  const parsed = parseDatabaseUrl(text);
  const connection = parsed.ok ? postgresConnection(parsed.value, process.env) : parsed;
  if (!connection.ok) throw new Error(`database URL: ${connection.error}`);
  const { url, options, location } = connection.value;
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migrate } = await import("drizzle-orm/postgres-js/migrator");
  // Migrations print NOTICEs ("schema already exists, skipping"); they are noise at debug.
  const client = postgres(url, {
    // postgres.js 3.4 takes host and port arrays, one entry per host (src/index.js parseOptions), though its types say one of each.
    ...(options as Pick<import("postgres").Options<{}>, "host" | "port">),
    max: POSTGRES_POOL_SIZE,
    onnotice: (n) => logger?.debug({ notice: n.message }, "postgres notice"),
  });
  const db = drizzle(observe ? timedPostgres(client, observe) : client, { schema });
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (e) {
    await client.end({ timeout: 1 });
    throw withLocation(e, location);
  }
  const listen: Listen = async (channel, onNotify, onReconnect) => {
    let listening = false;
    // postgres.js keeps a connection of its own for LISTEN and calls `onlisten` on every (re)connect.
    const request = await client.listen(channel, onNotify, () => {
      if (listening) onReconnect?.();
      listening = true;
    });
    return () => request.unlisten();
  };
  return wrap(db, "postgres", location, () => client.end({ timeout: 5 }), listen);
}

/** A failed start names where it went and why: drizzle's "Failed query" wraps the driver's reason (connect ENOENT, an authentication error). */
function withLocation(e: unknown, location: string): unknown {
  if (!(e instanceof Error)) return e;
  const failed = e.message.split("\n")[0];
  e.message = `postgresql at ${location}: ${e.cause instanceof Error ? `${e.cause.message} (${failed})` : failed}`;
  return e;
}

async function openPglite(dir: string, logger?: StoreLogger, observe?: QueryObserver): Promise<Store> {
  await mkdir(dirname(dir), { recursive: true });
  const unlock = lockPgliteDir(dir, logger);
  try {
    return await openLockedPglite(dir, unlock, logger, observe);
  } catch (e) {
    unlock();
    throw e;
  }
}

/**
 * Locks `<dir>.lock` (flock, exclusive) for as long as the store is open: PGlite is a whole
 * PostgreSQL in the process, and two processes opening one cluster would each write its files
 * from their own buffers and corrupt it. Both used to start and answer /readyz. The file holds
 * the holder's pid for the refusal's message; the kernel releases the lock however the holder
 * ends, so a crash leaves nothing to clean up. Returns the release.
 */
function lockPgliteDir(dir: string, logger?: StoreLogger): () => void {
  const path = `${dir}.lock`;
  const fd = openSync(path, "a+", 0o600);
  const locked = lockExclusive(fd);
  if (!locked.ok) {
    // Without glibc there is no flock through bun:ffi: run, but say the guard is off.
    logger?.warn({ path, error: locked.error }, "pglite data directory not locked: do not start a second wispd on it");
    return () => closeSync(fd);
  }
  if (locked.value === "held") {
    const holder = readFileSync(path, "utf8").trim();
    closeSync(fd);
    throw new Error(
      `the PGlite store in ${dir} is in use by another process${holder ? ` (${holder})` : ""}: two processes on one cluster would corrupt it; stop the other wispd or give this one its own --data-dir`,
    );
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `pid ${process.pid}\n`);
  return () => closeSync(fd);
}

async function openLockedPglite(dir: string, unlock: () => void, logger?: StoreLogger, observe?: QueryObserver): Promise<Store> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, "PG_VERSION"))) await createPgliteCluster(dir, logger);
  logger?.debug({ path: dir }, "opening pglite");
  // drizzle's identity parsers (dates and intervals as text) are set once on the instance, so
  // no query carries them: PGlite merges a query's parsers into a copy of its whole parser table
  // on every query (10 % of wispd's CPU in a 3,000-machine storm, bench/storm --profile).
  const client = await PGlite.create(dir, { parsers: Object.fromEntries(TEXT_AS_IS_TYPES.map((oid) => [oid, asIs])) });
  const db = drizzle(pgliteClient(client, observe), { schema });
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (e) {
    await client.close();
    throw e;
  }
  const listen: Listen = async (channel, onNotify) => {
    const stop = await client.listen(channel, onNotify);
    return () => stop();
  };
  return wrap(db, "pglite", dir, () => client.close().finally(unlock), listen);
}

/** The script that creates a cluster (run by Bun in a child process). */
const PGLITE_INIT = fileURLToPath(new URL("./pglite-init.ts", import.meta.url));

/**
 * Creates the PGlite cluster in `dir` in a child process, so initdb's WebAssembly memory goes
 * with it (see pglite-init.ts); wispd then opens the cluster as it opens one at every restart.
 */
async function createPgliteCluster(dir: string, logger?: StoreLogger): Promise<void> {
  const started = performance.now();
  // Made beside `dir` and renamed into place when complete, so a failed or interrupted creation
  // never leaves a half-made cluster for the next start to open. `dir` must be empty: rename(2)
  // refuses a directory with anything in it, and the error names it.
  const making = await mkdtemp(`${dir}.creating-`);
  try {
    const child = Bun.spawn([process.execPath, PGLITE_INIT, making], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    if (code !== 0) throw new Error(stderr.trim() || `creating the PGlite cluster in ${making} failed (exit ${code})`);
    await rename(making, dir).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot put the new PGlite cluster in ${dir}: ${e.code === "ENOTEMPTY" || e.code === "EEXIST" ? "the directory is not empty and holds no cluster (no PG_VERSION)" : e.message}`);
    });
  } finally {
    await rm(making, { recursive: true, force: true });
  }
  logger?.info({ path: dir, ms: Math.round(performance.now() - started) }, "pglite cluster created");
}

function wrap(db: Db, driver: Store["driver"], location: string, close: () => Promise<void>, listen: Listen): Store {
  let closed: Promise<void> | undefined;
  return {
    db,
    driver,
    location,
    async ping() {
      await db.execute(sql`select 1`);
    },
    listen,
    // Idempotent: tests and shutdown paths may both close.
    close: () => (closed ??= close()),
  };
}

/** Type OIDs drizzle's PGlite driver passes through as text: timestamp(tz), interval, date and their arrays. */
const TEXT_AS_IS_TYPES = [1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182];
const asIs = (value: string): string => value;
/** How long store operations may run back to back before the event loop gets a turn. */
const STORE_SLICE_MS = 10;

/** True when a query's `parsers` option changes nothing the instance does not already do. */
function redundantParsers(parsers: Record<string, unknown>): boolean {
  for (const [oid, fn] of Object.entries(parsers)) {
    if (!TEXT_AS_IS_TYPES.includes(Number(oid)) || typeof fn !== "function" || fn("2000-01-01") !== "2000-01-01") return false;
  }
  return true;
}

/**
 * The PGlite client drizzle is given. PGlite runs each query synchronously inside its WASM, and
 * hands its lock to the next waiting query in a promise continuation: a thousand queued queries
 * would then run back to back without the event loop ever polling a socket (a TFTP transfer of 51
 * blocks took 46 s in a 5,000-machine storm). Here queries and transactions run one at a time,
 * and after STORE_SLICE_MS of them the next waits for a macrotask turn (setImmediate), so DHCP,
 * TFTP and HTTP are served at least that often however long the store's queue is. Statements
 * inside a transaction are not gated (the transaction is the operation). Redundant per-query
 * `parsers` are dropped (see TEXT_AS_IS_TYPES). With `observe`, every query and exec is timed,
 * its wait for the gate included (ops: wisp_store_query_duration_seconds).
 */
function pgliteClient<T extends object>(client: T, observe?: QueryObserver): T {
  let tail: Promise<unknown> = Promise.resolve();
  let sliceStarted = -Infinity;
  // Store operations run back to back for up to STORE_SLICE_MS, then the loop gets a turn: a
  // turn before every operation starved the store instead (a 3,000-machine storm's reports
  // outlived the agents' deadlines and were sent again and again).
  const turn = (): Promise<void> | undefined => {
    if (performance.now() - sliceStarted < STORE_SLICE_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        sliceStarted = performance.now();
        resolve();
      }),
    );
  };
  const gate = <R>(op: () => Promise<R>): Promise<R> => {
    const run = tail.then(turn).then(op);
    tail = run.catch(() => undefined);
    return run;
  };
  const time = <A extends unknown[], R>(run: (...args: A) => Promise<R>) => (observe ? timed(run, observe) : run);
  const strip = (args: unknown[]): unknown[] => {
    const options = args[2] as { parsers?: Record<string, unknown> } | undefined;
    if (!options?.parsers || !redundantParsers(options.parsers)) return args;
    const { parsers: _, ...rest } = options;
    return [args[0], args[1], rest, ...args.slice(3)];
  };
  // `gated`: the client's own calls wait for the gate; a transaction's handle runs at once.
  const wrap = <U extends object>(target: U, gated: boolean): U =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t) as unknown;
        if (typeof value !== "function") return value;
        const fn = (value as (...a: unknown[]) => Promise<unknown>).bind(t);
        const call = gated ? (...args: unknown[]) => gate(() => fn(...args)) : fn;
        if (prop === "query") return time((...args: unknown[]) => call(...strip(args)));
        if (prop === "exec") return time(call);
        if (prop === "transaction" && gated) return (cb: (tx: object) => Promise<unknown>) => call((tx: object) => cb(wrap(tx, false)));
        return fn;
      },
    });
  return wrap(client, true);
}

// Store latency is measured at the driver, the one place every drizzle query (transactions
// included) goes through: PGlite's query/exec and postgres.js's unsafe, on the client and on
// each transaction handle it gives out.

function timed<A extends unknown[], R>(run: (...args: A) => Promise<R>, observe: QueryObserver): (...args: A) => Promise<R> {
  return async (...args) => {
    const started = performance.now();
    let ok = false;
    try {
      const r = await run(...args);
      ok = true;
      return r;
    } finally {
      observe((performance.now() - started) / 1000, ok);
    }
  };
}

type PostgresQuery = PromiseLike<unknown> & { then: PromiseLike<unknown>["then"] };

/** A postgres.js `sql` (or transaction) whose queries are timed from execution to result. */
function timedPostgres<T extends object>(sqlFn: T, observe: QueryObserver): T {
  return new Proxy(sqlFn, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (prop === "unsafe") {
        return (...args: unknown[]) => {
          // postgres.js runs a query when it is first awaited (after .values() and the like), so
          // the clock starts in `then`; the query object stays the same (its methods return it).
          const query = fn(...args) as PostgresQuery;
          const then = query.then.bind(query);
          query.then = ((onValue, onError) => {
            const started = performance.now();
            return then(
              (v) => (observe((performance.now() - started) / 1000, true), onValue ? onValue(v) : v),
              (e) => {
                observe((performance.now() - started) / 1000, false);
                if (onError) return onError(e);
                throw e;
              },
            );
          }) as PostgresQuery["then"];
          return query;
        };
      }
      if (prop === "begin" || prop === "savepoint") {
        return (...args: unknown[]) => {
          const i = args.findIndex((a) => typeof a === "function");
          const cb = args[i] as (tx: object) => unknown;
          args[i] = (tx: object) => cb(timedPostgres(tx, observe));
          return fn(...args);
        };
      }
      return fn;
    },
  });
}
