/**
 * DHCP server benchmark: perfdhcp, as a relay agent across a veth pair between two private
 * network namespaces, against wispd, Kea and dnsmasq in one run, all serving the same host
 * reservations. Per server it finds the highest DORA rate with at most 0.1 % of exchanges lost,
 * and measures latency and the CPU time the server (and perfdhcp) spent per DORA from /proc.
 * Method and recipe: bench/dhcp/method.md (copied into docs/benchmarks/dhcp.md with the results).
 *
 *   sudo npx bun bench/dhcp/run.ts [--servers wispd,kea,dnsmasq] [--hosts 10000] [--period 10]
 *        [--max-rate N] [--quick] ...      (see --help)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchHosts, benchNetwork, macList, MAX_HOSTS } from "./config.ts";
import { createTopology, destroyTopology, inNamespace, sh, topologyNames, type Link, type Topology } from "./netns.ts";
import { doraOutcome, EXIT_WAIT_US, parsePerfdhcp, perfdhcpArgv } from "./perfdhcp.ts";
import { busyShare, clockTicks, cpuTicks, processTicks, runQueueWait, runQueueWaitDelta, udpCounters, udpDelta } from "./proc.ts";
import { generatorBound, MAX_LOSS_RATIO, passed, ramp, type RampPlan } from "./ramp.ts";
import { conditions, markdown, otherLoad, resultTables, type RunRecord, type ServerResult, type Step } from "./report.ts";
import { DEFAULT_SERVERS, PROGRAM_PACKAGES, programVersion, requiredPrograms, SERVER_NAMES, startServer, type RunningServer, type ServerName } from "./servers.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** Where a full run records its figures. */
const DEFAULT_JSON = join(ROOT, "bench", "results", "dhcp.json");
const DEFAULT_MD = join(ROOT, "docs", "benchmarks", "dhcp.md");
const METHOD = join(import.meta.dir, "method.md");

/** Full-run defaults; `--quick` replaces them with a smoke-check size. */
const DEFAULTS = { hosts: 10_000, period: 10, startRate: 500, maxRate: 64_000, refine: 3, retries: 1, latencyRate: 1_000, warmup: 3, idle: 3 };
const QUICK = { hosts: 1_000, period: 2, startRate: 250, maxRate: 1_000, refine: 0, retries: 0, latencyRate: 250, warmup: 1, idle: 1 };
/** A probe: this many DORA at PROBE_RATE, all of which must complete before the server counts as ready. */
const PROBE_RATE = 100;
const PROBE_SECONDS = 1;
const READY_TIMEOUT_MS = 60_000;

/** perfdhcp's receive buffer: the 4 MiB wispd asks for (daemon/dhcp/server.ts RECEIVE_BUFFER_BYTES). */
const DEFAULTS_GENERATOR_RCVBUF = 4 * 1024 * 1024;

const HELP = `usage: npx bun bench/dhcp/run.ts [options]      (as root: it creates network namespaces)

perfdhcp against wispd, Kea and dnsmasq serving the same reservations; writes
${DEFAULT_JSON.replace(ROOT + "/", "")} and ${DEFAULT_MD.replace(ROOT + "/", "")} (not with --quick).

  --servers LIST       comma-separated, in run order (default ${DEFAULT_SERVERS.join(",")}; also
                       wispd-base: the daemon of --baseline-root, to measure a change against its parent)
  --baseline-root DIR  another Wisp checkout for wispd-base, e.g.
                       git archive HEAD~1 | tar -x -C DIR; ln -s $PWD/node_modules DIR/
  --hosts N            reservations (default ${DEFAULTS.hosts}, at most ${MAX_HOSTS})
  --period S           seconds per rate step (default ${DEFAULTS.period})
  --start-rate N       first offered DORA/s (default ${DEFAULTS.startRate}); doubled until loss > ${MAX_LOSS_RATIO * 100} %
  --max-rate N         highest DORA/s tried (default ${DEFAULTS.maxRate})
  --refine N           bisection steps after the first failing rate (default ${DEFAULTS.refine})
  --retries N          times a failing rate is measured again before it counts (default ${DEFAULTS.retries})
  --latency-rate N     offered DORA/s of the latency-percentile step (default ${DEFAULTS.latencyRate})
  --server-cpu N       CPU the server is pinned to (default 0)
  --generator-cpu N    CPU perfdhcp is pinned to (default 1)
  --quick              smoke check: ${QUICK.hosts} hosts, ${QUICK.period} s steps, rates ${QUICK.startRate}-${QUICK.maxRate}; prints only
  --out-json FILE      write the JSON record here (default ${DEFAULT_JSON.replace(ROOT + "/", "")}; with --quick: none)
  --out-md FILE        write the Markdown report here (default ${DEFAULT_MD.replace(ROOT + "/", "")}; with --quick: none)
  --generator-rcvbuf N receive buffer of perfdhcp's socket in bytes (default ${DEFAULTS_GENERATOR_RCVBUF}, as wispd's own; 0:
                       the kernel default), set by an LD_PRELOAD shim built with cc (bench/dhcp/rcvbuf-shim.c)
  --keep               keep the scratch directory (configs, logs, perfdhcp output)
  -h, --help           this text

Debian packages: ${[...new Set(Object.values(PROGRAM_PACKAGES))].join(" ")}`;

interface Options {
  servers: ServerName[];
  generatorRcvbuf: number;
  baselineRoot?: string;
  hosts: number;
  period: number;
  startRate: number;
  maxRate: number;
  refine: number;
  retries: number;
  latencyRate: number;
  warmup: number;
  idle: number;
  serverCpu: number;
  generatorCpu: number;
  quick: boolean;
  outJson?: string;
  outMd?: string;
  keep: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      servers: { type: "string" },
      "baseline-root": { type: "string" },
      "generator-rcvbuf": { type: "string" },
      hosts: { type: "string" },
      period: { type: "string" },
      "start-rate": { type: "string" },
      "max-rate": { type: "string" },
      refine: { type: "string" },
      retries: { type: "string" },
      "latency-rate": { type: "string" },
      "server-cpu": { type: "string" },
      "generator-cpu": { type: "string" },
      quick: { type: "boolean", default: false },
      "out-json": { type: "string" },
      "out-md": { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const base = values.quick ? QUICK : DEFAULTS;
  const int = (name: string, v: string | undefined, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const servers = (values.servers ?? DEFAULT_SERVERS.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of servers) {
    if (!(SERVER_NAMES as readonly string[]).includes(s)) throw new Error(`--servers: unknown server "${s}" (expected ${SERVER_NAMES.join(", ")})`);
  }
  const baselineRoot = values["baseline-root"] === undefined ? undefined : resolve(values["baseline-root"]);
  if (servers.includes("wispd-base") && (baselineRoot === undefined || !existsSync(join(baselineRoot, "daemon", "main.ts")))) {
    throw new Error(`--servers wispd-base: --baseline-root must name a Wisp checkout (with daemon/main.ts), got ${JSON.stringify(values["baseline-root"] ?? "")}`);
  }
  const cpuCount = cpus().length;
  const o: Options = {
    servers: servers as ServerName[],
    baselineRoot,
    generatorRcvbuf: int("generator-rcvbuf", values["generator-rcvbuf"], DEFAULTS_GENERATOR_RCVBUF, 0),
    hosts: int("hosts", values.hosts, base.hosts, 1),
    period: int("period", values.period, base.period, 1),
    startRate: int("start-rate", values["start-rate"], base.startRate, 1),
    maxRate: int("max-rate", values["max-rate"], base.maxRate, 1),
    refine: int("refine", values.refine, base.refine, 0),
    retries: int("retries", values.retries, base.retries, 0),
    latencyRate: int("latency-rate", values["latency-rate"], base.latencyRate, 1),
    warmup: base.warmup,
    idle: base.idle,
    serverCpu: int("server-cpu", values["server-cpu"], 0, 0),
    generatorCpu: int("generator-cpu", values["generator-cpu"], Math.min(1, cpuCount - 1), 0),
    quick: values.quick ?? false,
    outJson: values["out-json"] ?? (values.quick ? undefined : DEFAULT_JSON),
    outMd: values["out-md"] ?? (values.quick ? undefined : DEFAULT_MD),
    keep: values.keep ?? false,
  };
  if (o.hosts > MAX_HOSTS) throw new Error(`--hosts: at most ${MAX_HOSTS}`);
  if (o.serverCpu >= cpuCount || o.generatorCpu >= cpuCount) throw new Error(`--server-cpu/--generator-cpu: this machine has CPUs 0-${cpuCount - 1}`);
  if (o.serverCpu === o.generatorCpu && cpuCount > 1) throw new Error("--server-cpu and --generator-cpu must differ");
  return o;
}

/** Things to undo, most recent first; run once, on success, failure or signal. */
class Cleanup {
  private readonly tasks: { what: string; run: () => unknown }[] = [];
  private done?: Promise<void>;
  add(what: string, run: () => unknown): void {
    this.tasks.push({ what, run });
  }
  run(): Promise<void> {
    this.done ??= (async () => {
      for (const t of this.tasks.reverse()) {
        try {
          await t.run();
        } catch (e) {
          console.error(`bench: cleanup (${t.what}) failed: ${(e as Error).message}`);
        }
      }
    })();
    return this.done;
  }
}

const log = (line: string) => console.error(`bench: ${line}`);

/** Everything one step needs besides the rate. */
interface StepContext {
  generatorNs: string;
  link: Link;
  macFile: string;
  server: RunningServer;
  serverCpu: number;
  generatorCpu: number;
  ticksPerSecond: number;
  /** perfdhcp processes alive right now, so a signal can end them. */
  live: Set<ReturnType<typeof Bun.spawn>>;
  /** Environment that gives perfdhcp's socket its receive buffer (the shim), or none. */
  generatorEnv: Record<string, string>;
}

/**
 * Builds the receive-buffer shim into `dir`; the environment that loads it, or the reason it
 * could not be built (perfdhcp then keeps the kernel default).
 */
export function buildRcvbufShim(dir: string, bytes: number): { env: Record<string, string> } | { error: string } {
  const lib = join(dir, "rcvbuf-shim.so");
  const r = Bun.spawnSync(["cc", "-shared", "-fPIC", "-O2", "-o", lib, join(import.meta.dir, "rcvbuf-shim.c"), "-ldl"], { stderr: "pipe", stdout: "pipe" });
  if (!r.success) return { error: `cc failed: ${r.stderr.toString().trim().split("\n").slice(-1)[0] ?? `exit ${r.exitCode}`}` };
  return { env: { LD_PRELOAD: lib, WISP_BENCH_RCVBUF: String(bytes) } };
}

async function runPerfdhcp(ctx: StepContext, rate: number, seconds: number, timestamps: boolean): Promise<{ text: string; cpuSeconds: number }> {
  const argv = perfdhcpArgv({ server: ctx.link.serverIp, relayIp: ctx.link.relayIp, macFile: ctx.macFile, rate, periodSeconds: seconds, exitWaitUs: EXIT_WAIT_US, timestamps });
  const proc = Bun.spawn(inNamespace(ctx.generatorNs, ctx.generatorCpu, argv), { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...ctx.generatorEnv } });
  ctx.live.add(proc);
  try {
    const [text, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    const code = await proc.exited;
    // 0: every exchange completed; 3: some did not (that is a measurement, not an error).
    if (code !== 0 && code !== 3) throw new Error(`perfdhcp exited ${code}: ${(err || text).trim().split("\n").slice(-3).join(" | ")}`);
    const usage = proc.resourceUsage();
    const cpuSeconds = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : NaN;
    return { text, cpuSeconds };
  } finally {
    ctx.live.delete(proc);
  }
}

async function measureStep(ctx: StepContext, rate: number, seconds: number, timestamps = false): Promise<Step> {
  const cpuBefore = cpuTicks();
  const srvBefore = processTicks(ctx.server.pid);
  const waitBefore = runQueueWait(ctx.server.pid);
  const udpSrv = udpCounters(ctx.link.serverNs);
  const udpGen = udpCounters(ctx.generatorNs);
  const t0 = performance.now();
  const { text, cpuSeconds } = await runPerfdhcp(ctx, rate, seconds, timestamps);
  const wallSeconds = (performance.now() - t0) / 1000;
  const srvAfter = processTicks(ctx.server.pid);
  const waitAfter = runQueueWait(ctx.server.pid);
  const cpuAfter = cpuTicks();
  const srvUdp = udpDelta(udpSrv, udpCounters(ctx.link.serverNs));
  const genUdp = udpDelta(udpGen, udpCounters(ctx.generatorNs));

  const r = parsePerfdhcp(text);
  const { started, completed, lossRatio } = doraOutcome(r);
  const serverCpuSeconds = (srvAfter - srvBefore) / ctx.ticksPerSecond;
  const avg = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : a + b);
  return {
    targetRate: rate,
    periodSeconds: seconds,
    wallSeconds,
    offeredRate: r.discoverOffer.sent / seconds,
    doraPerSecond: completed / seconds,
    lossRatio,
    started,
    completed,
    discoverOffer: { sent: r.discoverOffer.sent, received: r.discoverOffer.received, avgMs: r.discoverOffer.avgMs, maxMs: r.discoverOffer.maxMs },
    requestAck: { sent: r.requestAck.sent, received: r.requestAck.received, avgMs: r.requestAck.avgMs, maxMs: r.requestAck.maxMs },
    doraAvgMs: avg(r.discoverOffer.avgMs, r.requestAck.avgMs),
    serverCpuSeconds,
    serverCpuUsPerDora: completed > 0 ? (serverCpuSeconds * 1e6) / completed : undefined,
    generatorCpuSeconds: cpuSeconds,
    generatorCpuUsPerDora: completed > 0 ? (cpuSeconds * 1e6) / completed : undefined,
    serverCoreBusy: busyShare(cpuBefore, cpuAfter, ctx.serverCpu),
    generatorCoreBusy: busyShare(cpuBefore, cpuAfter, ctx.generatorCpu),
    serverRcvbufErrors: srvUdp.rcvbufErrors,
    generatorRcvbufErrors: genUdp.rcvbufErrors,
    serverWaitSeconds: runQueueWaitDelta(waitBefore, waitAfter),
    percentiles: r.percentiles,
  };
}

function stepLine(name: string, s: Step): string {
  const f = (n: number | undefined, d = 0) => (n === undefined ? "n/a" : n.toFixed(d));
  const flags = [passed(s) ? "pass" : "FAIL", generatorBound(s) ? "generator-bound" : ""].filter(Boolean).join(", ");
  return `${name}: ${s.targetRate}/s asked, ${f(s.offeredRate)} offered, ${f(s.doraPerSecond)} DORA/s, ${(s.lossRatio * 100).toFixed(2)} % lost, ${f(s.doraAvgMs, 3)} ms, server ${f(s.serverCpuUsPerDora)} µs/DORA (core ${(s.serverCoreBusy * 100).toFixed(0)} % busy), perfdhcp ${f(s.generatorCpuUsPerDora)} µs/DORA, rcvbuf ${s.serverRcvbufErrors}/${s.generatorRcvbufErrors}, server waited ${f(s.serverWaitSeconds, 2)} s [${flags}]`;
}

/** Probes until a short run is answered in full: the server is bound, loaded and warm. */
async function waitAnswering(ctx: StepContext): Promise<number> {
  const started = performance.now();
  for (;;) {
    const { text } = await runPerfdhcp(ctx, PROBE_RATE, PROBE_SECONDS, false);
    const o = doraOutcome(parsePerfdhcp(text));
    if (o.started > 0 && o.completed === o.started) return (performance.now() - started) / 1000;
    if (performance.now() - started > READY_TIMEOUT_MS) {
      throw new Error(`${ctx.server.name} answered ${o.completed} of ${o.started} probe exchanges after ${READY_TIMEOUT_MS / 1000} s; see ${ctx.server.logFile}`);
    }
    await Bun.sleep(500);
  }
}

/** What every server's preparation shares. */
interface Shared {
  topology: Topology;
  dir: string;
  macFile: string;
  hosts: ReturnType<typeof benchHosts>;
  ticks: number;
  live: Set<ReturnType<typeof Bun.spawn>>;
  notes: string[];
  generatorEnv: Record<string, string>;
}

/** A server started, answering, warmed up and measured idle; ready for its ramp. */
interface Prepared {
  result: ServerResult;
  ctx: StepContext;
}

/** Starts one server and gets it ready; on failure the result carries the error and no context. */
async function prepareServer(name: ServerName, o: Options, shared: Shared, cleanup: Cleanup): Promise<{ result: ServerResult; ctx?: StepContext }> {
  const result: ServerResult = { name, version: "", setupSeconds: 0, readySeconds: 0, steps: [], limit: "server" };
  try {
    log(`${name}: starting with ${o.hosts} reservations`);
    const link = shared.topology.links[name]!;
    const server = await startServer(name, {
      link,
      dir: join(shared.dir, name),
      hosts: shared.hosts,
      net: benchNetwork(),
      cpu: o.serverCpu,
      root: ROOT,
      baselineRoot: o.baselineRoot,
      note: (m) => {
        log(m);
        shared.notes.push(m);
      },
    });
    cleanup.add(`stop ${name}`, async () => {
      const code = await server.stop();
      if (code !== 0 && code !== null) log(`${name}: exited with ${code} on SIGTERM`);
    });
    result.version = server.version;
    result.setupSeconds = server.setupSeconds;
    const ctx: StepContext = {
      generatorNs: shared.topology.generatorNs,
      link,
      macFile: shared.macFile,
      server,
      serverCpu: o.serverCpu,
      generatorCpu: o.generatorCpu,
      ticksPerSecond: shared.ticks,
      live: shared.live,
      generatorEnv: shared.generatorEnv,
    };
    result.readySeconds = await waitAnswering(ctx);
    log(`${name} ${server.version}: pid ${server.pid}, loaded in ${server.setupSeconds.toFixed(1)} s, answering after ${result.readySeconds.toFixed(1)} s more`);
    // Warm-up (JIT, caches, first leases): measured like a step, not recorded.
    log(stepLine(`${name} warm-up`, await measureStep(ctx, o.startRate, o.warmup)));
    const idleTicks = processTicks(server.pid);
    const idleStarted = performance.now();
    await Bun.sleep(o.idle * 1000);
    result.idleCpuShare = (processTicks(server.pid) - idleTicks) / shared.ticks / ((performance.now() - idleStarted) / 1000);
    log(`${name}: ${(result.idleCpuShare * 100).toFixed(1)} % of a CPU with no traffic`);
    return { result, ctx };
  } catch (e) {
    result.error = (e as Error).message;
    log(`${name}: ${result.error}`);
    return { result };
  }
}

/** One measurement at a time, in the order asked: the servers' ramps take turns step by step. */
class Turns {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** A server's ramp and latency step, each measurement taking its turn with the other servers'. */
async function rampServer(p: Prepared, o: Options, turns: Turns): Promise<void> {
  const { result, ctx } = p;
  try {
    const plan: RampPlan = { startRate: o.startRate, maxRate: o.maxRate, refineSteps: o.refine, minRate: Math.min(50, o.startRate), retries: o.retries };
    const r = await ramp(plan, (rate) =>
      turns.run(async () => {
        const s = await measureStep(ctx, rate, o.period);
        log(stepLine(result.name, s));
        return s;
      }),
    );
    result.steps = r.steps;
    result.best = r.best;
    result.limit = r.limit;
    result.latency = await turns.run(() => measureStep(ctx, o.latencyRate, o.period, true));
    log(stepLine(`${result.name} latency`, result.latency));
  } catch (e) {
    result.error = (e as Error).message;
    log(`${result.name}: ${result.error}`);
  }
}

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
  return m?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
}

async function main(argv: string[], cleanup: Cleanup, live: Set<ReturnType<typeof Bun.spawn>>): Promise<number> {
  const o = parseOptions(argv);
  if (!o) return 0;
  if (process.getuid?.() !== 0) throw new Error("run as root: the benchmark creates network namespaces and a veth pair");
  const missing = requiredPrograms(o.servers).filter((p) => sh(["sh", "-c", `command -v ${p}`], { allowFail: true }).trim() === "");
  if (missing.length) throw new Error(`missing programs: ${missing.join(", ")}; apt-get install -y ${[...new Set(missing.map((p) => PROGRAM_PACKAGES[p]))].join(" ")}`);

  const idleBefore = cpuTicks();
  await Bun.sleep(1000);
  const idleAfter = cpuTicks();
  const loadBefore = loadavg();

  const dir = mkdtempSync(join(tmpdir(), "wisp-bench-dhcp-"));
  cleanup.add("scratch directory", () => (o.keep ? log(`kept ${dir}`) : rmSync(dir, { recursive: true, force: true })));
  const topology = topologyNames(o.servers);
  cleanup.add("namespaces", () => destroyTopology(topology));
  createTopology(topology);
  const links = Object.entries(topology.links).map(([name, l]) => `${l.serverNs} (${name} on ${l.serverIface} ${l.serverIp}, relay ${l.relayIp})`);
  log(`namespaces ${topology.generatorNs} (perfdhcp), ${links.join(", ")}; scratch ${dir}`);

  const hosts = benchHosts(o.hosts);
  const macFile = join(dir, "macs.txt");
  writeFileSync(macFile, macList(hosts));
  const notes: string[] = [];
  const busy = { serverCore: busyShare(idleBefore, idleAfter, o.serverCpu), generatorCore: busyShare(idleBefore, idleAfter, o.generatorCpu) };
  if (busy.serverCore > 0.1 || busy.generatorCore > 0.1) notes.push("the machine was busy with other work before the run (see the busy shares above); figures move with that load");

  // All servers run side by side (each in its namespace, all pinned to the server CPU, idle
  // when it is not their turn) and their ramps alternate step by step, so other load on the
  // machine falls on all of them alike rather than on whichever ran at a bad moment.
  let generatorEnv: Record<string, string> = {};
  if (o.generatorRcvbuf > 0) {
    const shim = buildRcvbufShim(dir, o.generatorRcvbuf);
    if ("env" in shim) {
      generatorEnv = shim.env;
      notes.push(`perfdhcp's UDP receive buffer: ${o.generatorRcvbuf} bytes (SO_RCVBUFFORCE by bench/dhcp/rcvbuf-shim.c through LD_PRELOAD), as wispd's own`);
    } else {
      notes.push(`perfdhcp's UDP receive buffer left at the kernel default: the shim was not built (${shim.error})`);
    }
  } else {
    notes.push("perfdhcp's UDP receive buffer left at the kernel default (--generator-rcvbuf 0)");
  }
  const shared: Shared = { topology, dir, macFile, hosts, ticks: clockTicks(), live, notes, generatorEnv };
  const prepared: { result: ServerResult; ctx?: StepContext }[] = [];
  for (const name of o.servers) prepared.push(await prepareServer(name, o, shared, cleanup));
  const turns = new Turns();
  await Promise.all(prepared.filter((p): p is Prepared => p.ctx !== undefined).map((p) => rampServer(p, o, turns)));
  const results = prepared.map((p) => p.result);
  const contention = otherLoad(results.flatMap((r) => r.steps), "server");
  if (contention && contention.mean > 0.1) notes.push("other work shared the server's CPU during the steps (see above): rates and latencies are lower and noisier than on an idle machine");

  const versions: Record<string, string> = { perfdhcp: programVersion("perfdhcp", ROOT), bun: Bun.version };
  for (const r of results) if (r.version) versions[r.name] = r.version;
  const record: RunRecord = {
    date: new Date().toISOString(),
    hosts: o.hosts,
    periodSeconds: o.period,
    latencyRate: o.latencyRate,
    maxRate: o.maxRate,
    quick: o.quick,
    command: `bun bench/dhcp/run.ts ${argv.join(" ")}`.trim(),
    machine: {
      nproc: cpus().length,
      cpuModel: cpuModel(),
      kernel: release(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg(),
      idleBusyBefore: busy,
      serverCpu: o.serverCpu,
      generatorCpu: o.generatorCpu,
    },
    versions,
    topology: { links: Object.fromEntries(Object.entries(topology.links).map(([n, l]) => [n, { server: l.serverIp, relay: l.relayIp }])), subnet: benchNetwork().subnet },
    servers: results,
    notes,
  };

  console.log(`\n${conditions(record)}\n\n${resultTables(record)}\n`);
  if (o.outJson) {
    mkdirSync(dirname(o.outJson), { recursive: true });
    writeFileSync(o.outJson, JSON.stringify(record, null, 2) + "\n");
    log(`wrote ${o.outJson}`);
  }
  if (o.outMd) {
    mkdirSync(dirname(o.outMd), { recursive: true });
    writeFileSync(o.outMd, markdown(record, readFileSync(METHOD, "utf8")));
    log(`wrote ${o.outMd}`);
  }
  return results.some((r) => r.error) ? 1 : 0;
}

const cleanup = new Cleanup();
const live = new Set<ReturnType<typeof Bun.spawn>>();
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping and cleaning up`);
    for (const p of live) p.kill("SIGTERM");
    void cleanup.run().then(() => process.exit(code));
  });
}
let exitCode = 1;
try {
  exitCode = await main(process.argv.slice(2), cleanup, live);
} catch (e) {
  log((e as Error).message);
} finally {
  await cleanup.run();
}
process.exit(exitCode);
