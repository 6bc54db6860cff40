/**
 * A throw-away PostgreSQL cluster for a benchmark: Debian's server binaries, initdb into a
 * directory of the run, listening on a unix-domain socket in that directory only (no TCP), the
 * postmaster pinned to a CPU (its backends inherit the pinning). A socket is a file, so a server
 * in another network namespace reaches it. As root the cluster runs as the `postgres` user (the
 * server refuses root). PostgreSQL's settings are its defaults but for where it listens.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { treeProcesses } from "./cpu.ts";
import { pinned } from "./pinning.ts";

/** The server refuses to run as root; as root it runs as this user (Debian's postgresql package makes it). */
const PG_USER = "postgres";
/** The port names the socket file (.s.PGSQL.<port>); nothing listens on TCP. */
const PG_PORT = 5432;
/** Bytes of a unix socket path the kernel allows (sun_path less the NUL). */
const SUN_PATH_MAX = 107;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** A running cluster. */
export interface BenchPostgres {
  /** The postmaster; its backends are its children. */
  pid: number;
  /** The directory holding the socket `.s.PGSQL.5432`. */
  socketDir: string;
  /** `postgres (PostgreSQL) 15.x`. */
  version: string;
  /**
   * The URL a postgres.js client (wispd) is given, and the environment it needs beside it:
   * postgres.js 3.4 ignores libpq's `?host=/dir` and an empty host after a user is not a URL to
   * Bun, so the socket directory and the user go in PGHOST and PGUSER, which postgres.js reads.
   */
  url: string;
  env: Record<string, string>;
  logFile: string;
  /** Resolves once the server accepts connections on its socket; throws (having stopped it) if it exits or takes over a minute. */
  waitReady(): Promise<void>;
  /** Fast shutdown (SIGINT), waited for (bounded), SIGKILL to the tree after; idempotent and synchronous, so it also serves a SIGINT handler. */
  stop(): void;
}

/** The newest `/usr/lib/postgresql/<major>/bin` (or WISP_BENCH_PG_BIN); throws naming the package when none. */
export function postgresBin(root = "/usr/lib/postgresql"): string {
  const fromEnv = process.env.WISP_BENCH_PG_BIN;
  if (fromEnv) return fromEnv;
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, "bin", "postgres"))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server under ${root}: apt-get install -y postgresql (or set WISP_BENCH_PG_BIN)`);
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0]!, "bin");
}

/** The settings the benchmark gives the server: where it listens, nothing else (PostgreSQL's defaults stand). */
export function postgresSettings(socketDir: string): Record<string, string> {
  return { listen_addresses: "", unix_socket_directories: socketDir, port: String(PG_PORT) };
}

/** argv prefix running a program as the postgres user when we are root (setpriv execs: the pid stays the server's). */
function asPgUser(argv: string[]): string[] {
  if (process.getuid?.() !== 0) return argv;
  return ["setpriv", `--reuid=${PG_USER}`, `--regid=${PG_USER}`, "--init-groups", ...argv];
}

function userIds(): { uid: number; gid: number } {
  const uid = spawnSync("id", ["-u", PG_USER], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", PG_USER], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`user ${PG_USER} not found: apt-get install -y postgresql`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** True once `pid` is gone or a zombie (exited, not yet reaped). */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/**
 * initdb into `<parent>/postgres/data` and starts the server there, socket in `<parent>/postgres`,
 * on `cpu` when given. Returns at once, so a caller can keep the handle for its SIGINT cleanup
 * before it awaits waitReady(). The caller stops it (stop()), also on failure; the directory goes
 * with the run's scratch directory.
 */
export function startPostgres(parent: string, cpu?: number): BenchPostgres {
  const bin = postgresBin();
  const home = join(parent, "postgres");
  const data = join(home, "data");
  const socket = join(home, `.s.PGSQL.${PG_PORT}`);
  if (Buffer.byteLength(socket) > SUN_PATH_MAX) throw new Error(`PostgreSQL's socket path ${socket} is longer than ${SUN_PATH_MAX} bytes: use a shorter TMPDIR`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds();
    chownSync(home, uid, gid);
    // The postgres user must reach its directory: the run's scratch directory (mkdtemp, 0700) gets o+x.
    const mode = statSync(parent).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(parent, mode | 0o001);
    for (let d = dirname(parent); d !== dirname(d); d = dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) throw new Error(`${d} is not searchable by others: the ${PG_USER} user cannot reach ${home} (use another TMPDIR)`);
    }
  }
  const [initdbCmd, ...initdbArgs] = asPgUser([join(bin, "initdb"), "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const initdb = spawnSync(initdbCmd!, initdbArgs, { encoding: "utf8" });
  if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}): ${initdb.stderr}${initdb.stdout}`);
  const version = spawnSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim();

  const logFile = join(home, "server.log");
  const settings = Object.entries(postgresSettings(home)).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
  const argv = asPgUser([join(bin, "postgres"), "-D", data, ...settings]);
  const proc = Bun.spawn(cpu === undefined ? argv : pinned(cpu, argv), { stdout: Bun.file(logFile), stderr: Bun.file(logFile), stdin: "ignore" });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (ended(proc.pid)) return;
    // SIGINT: fast shutdown (clients are cut off, no waiting for them to leave).
    process.kill(proc.pid, "SIGINT");
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!ended(proc.pid) && Date.now() < deadline) Bun.sleepSync(50);
    if (!ended(proc.pid)) for (const p of treeProcesses(proc.pid).keys()) process.kill(p, "SIGKILL");
  };
  const waitReady = async () => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    try {
      for (;;) {
        if (ended(proc.pid)) throw new Error(`postgres exited (${proc.exitCode ?? proc.signalCode}); see ${logFile}: ${tail(logFile)}`);
        if (spawnSync(join(bin, "pg_isready"), ["-q", "-h", home, "-p", String(PG_PORT), "-U", PG_USER]).status === 0) return;
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections on ${socket} within ${READY_TIMEOUT_MS} ms; see ${logFile}`);
        await Bun.sleep(100);
      }
    } catch (e) {
      stop();
      throw e;
    }
  };
  return { pid: proc.pid, socketDir: home, version, url: "postgres:///postgres", env: { PGHOST: home, PGPORT: String(PG_PORT), PGUSER: PG_USER }, logFile, waitReady, stop };
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-3).join(" | ");
  } catch {
    return "";
  }
}

/**
 * Memory of `pid` and its live descendants, summed: RSS (each process's resident pages, so pages
 * shared between them, PostgreSQL's shared buffers, count once per process that touched them)
 * and PSS (shared pages divided among the processes sharing them: what the tree holds). kB.
 */
export function treeMemoryKb(pid: number): { rss: number; pss: number; processes: number } {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const p of treeProcesses(pid).keys()) {
    try {
      rss += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      processes++;
    } catch {
      // exited while we looked
    }
  }
  return { rss, pss, processes };
}
