/**
 * The boot storm: N simulated machines, each with its own Hardware and 3-action Workflow
 * (applied through the API before the storm), boot against one wispd at once or spread over a
 * window: DHCP through a relay, TFTP of the real iPXE binary, DHCP as iPXE, the script, kernel
 * and initrd over HTTP, a metadata request and the agent protocol until SUCCESS. Then the same
 * machines' DHCP+TFTP+HTTP stages against dnsmasq and nginx, the static baseline. wispd (or
 * dnsmasq and nginx) run in their own network namespace on CPU 0; the load generator in another
 * on CPU 1. wispd's store is its embedded PGlite or PostgreSQL (a throw-away cluster on CPU 0,
 * reached over a unix socket, or one given by URL). Method: docs/benchmarks/storm.md.
 *
 *   sudo npx bun bench/storm/run.ts [--machines 1000] [--arrival burst|spread:30s]
 *        [--kernel-size 1M] [--initrd-size 4M] [--store pglite|postgres] [--no-baseline] [--quick]
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseDatabaseUrl } from "../../daemon/store/url.ts";
import { benchHosts, benchNetwork, MAX_HOSTS } from "../dhcp/config.ts";
import { createTopology, destroyTopology, sh, topologyNames, type Link } from "../dhcp/netns.ts";
import { clockTicks, treeTicks } from "../support/cpu.ts";
import { startNginx } from "../support/nginx.ts";
import { CLIENT_CPU, need, needTwoCpus, SERVER_CPU } from "../support/pinning.ts";
import { postgresBin, startPostgres, treeMemoryKb, type BenchPostgres } from "../support/postgres.ts";
import { benchRun, versionOf } from "../support/processes.ts";
import { machine } from "../support/results.ts";
import { runWrk } from "../support/wrk.ts";
import type { ClientConfig, ClientResult } from "./client.ts";
import { IPXE_BACKOFF_MS, PXE_BACKOFF_MS, HTTP_RETRY_DELAY_MS, HTTP_TRIES, STAGES, STATIC_STAGES, type BootPlan, type Stage } from "./machine.ts";
import { dropDelta, schedByThread, udpDrops, vmKb, waitBetween } from "./measure.ts";
import { recordRun, type ServerRun, type StoreServer, type StormRun } from "./record.ts";
import { completionCurve, failureSummary, stageSummaries, stormFigures, transferBound } from "./report.ts";
import { GRPC_PORT, INITRD_FILE, IPXE_DIR, IPXE_FILE, KERNEL_FILE, NAMESPACE, Servers, startBaseline, startStormWispd, stormDocuments } from "./servers.ts";

const HELP = `usage: sudo npx bun bench/storm/run.ts [options]   (root: it creates network namespaces)

  --machines N         simulated machines (default 1000; at most ${MAX_HOSTS})
  --arrival A          burst (all at once) or spread:<seconds>s (evenly over the window); default burst
  --kernel-size S      kernel bytes, e.g. 10M (MiB), 512K (KiB); default 1M
  --initrd-size S      initrd bytes; default 4M
  --no-baseline        skip the dnsmasq + nginx run
  --no-static          skip wispd's own DHCP+TFTP+HTTP-only storm (the like-for-like run against the baseline)
  --no-bound           skip the loopback throughput measurement (no efficiency figure)
  --agent-deadline S   seconds an agent keeps at its workflow before it counts as failed (default 180)
  --data-dir DIR       wispd's data directory (default: a new one in the scratch directory; the tests give
                       a copy of their migrated PGlite template, which starts faster)
  --profile DIR        run wispd under Bun's CPU profiler; the profile (.cpuprofile and .md) goes to DIR
  --log-level L        wispd's log level (default info, as deployed)
  --quick              20 machines, 256K kernel, 1M initrd; records nothing
  --no-record          print the figures only (e.g. a run under --profile)
  --store S            wispd's store: pglite (embedded, the default) or postgres (a throw-away cluster of
                       Debian's postgresql on the server CPU, reached over a unix socket in the scratch
                       directory; its CPU and memory are measured beside wispd's)
  --database-url URL   use this PostgreSQL instead of starting one (implies --store postgres; its CPU and
                       memory are not measured). It must be reachable from wispd's network namespace, which
                       has only its link to the load generator: a unix socket, given as postgres:///DB with
                       PGHOST=<socket dir> (and PGUSER) in the environment, which wispd inherits
  --label NAME         key of this run in bench/results/storm.json (default <machines>-<arrival>-<sizes>,
                       with -pg for PostgreSQL)
  --keep               keep the scratch directory (logs, configs)
  -h, --help           this text`;

/** Bytes from "10M", "512K", "1G" (binary units) or a plain number. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new Error(`size "${text}": expected a number with an optional K, M or G (e.g. 10M)`);
  return Math.round(Number(m[1]) * 1024 ** " KMG".indexOf((m[2] || " ").toUpperCase()));
}

/** Milliseconds of an arrival pattern: 0 for burst, the window of spread:<n>s. */
export function parseArrival(text: string): number {
  if (text === "burst") return 0;
  const m = /^spread:(\d+(?:\.\d+)?)s?$/.exec(text);
  if (!m) throw new Error(`--arrival "${text}": expected burst or spread:<seconds>s`);
  return Number(m[1]) * 1000;
}

/** wispd's store for a run: its embedded PGlite, or PostgreSQL (started by the storm unless a URL is given). */
export type StormStore = { kind: "pglite" } | { kind: "postgres"; url?: string };

/** The store from --store and --database-url; throws naming the flag on a bad value or a contradiction. */
export function parseStore(store: string | undefined, databaseUrl: string | undefined): StormStore {
  if (store !== undefined && store !== "pglite" && store !== "postgres") throw new Error(`--store "${store}": expected pglite or postgres`);
  if (databaseUrl === undefined) return { kind: store ?? "pglite" };
  if (store === "pglite") throw new Error("--database-url needs --store postgres (or no --store)");
  const parsed = parseDatabaseUrl(databaseUrl);
  // wispd's own parser: the message names the part that is wrong, never the password.
  if (!parsed.ok) throw new Error(`--database-url: ${parsed.error}`);
  return { kind: "postgres", url: databaseUrl };
}

/** The run's default label: machines, arrival and sizes, with -pg when wispd ran on PostgreSQL. */
export function defaultLabel(machines: number, arrival: string, kernelSize: string, initrdSize: string, store: StormStore): string {
  return `${machines}-${arrival}-${kernelSize}+${initrdSize}${store.kind === "postgres" ? "-pg" : ""}`;
}

const log = (line: string) => console.error(`storm: ${line}`);

/** Random bytes in a file, written in 1 MiB pieces. */
function randomFile(path: string, bytes: number): void {
  const piece = new Uint8Array(1 << 20);
  crypto.getRandomValues(piece.subarray(0, 65536));
  for (let i = 65536; i < piece.length; i += 65536) piece.copyWithin(i, 0, 65536);
  const parts: Uint8Array[] = [];
  for (let left = bytes; left > 0; left -= piece.length) parts.push(piece.subarray(0, Math.min(left, piece.length)));
  writeFileSync(path, Buffer.concat(parts));
}

/** Runs the client in the generator namespace; samples the servers' CPU and RSS between its start and end lines. */
async function runClient(dir: string, name: string, namespaces: { generator: string; server: string }, config: ClientConfig, serverPids: number[], storePid?: number): Promise<{ result: ClientResult; serverCpuSeconds: number; clientCpuSeconds: number; stormSeconds: number; serverWaitSeconds: number; peakRssMb: number; store?: StoreServer; drops: { server: ReturnType<typeof udpDrops>; generator: ReturnType<typeof udpDrops> } }> {
  const before = { server: udpDrops(namespaces.server), generator: udpDrops(namespaces.generator) };
  const generatorNs = namespaces.generator;
  const file = join(dir, `${name}-client.json`);
  writeFileSync(file, JSON.stringify(config));
  const argv = ["ip", "netns", "exec", generatorNs, "taskset", "-c", String(CLIENT_CPU), process.execPath, join(import.meta.dir, "client.ts"), file];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  const sched = () => new Map(serverPids.flatMap((p) => [...schedByThread(p)]));
  let sched0 = new Map<string, { run: number; wait: number }>();
  let serverTicks0 = 0;
  let clientTicks0 = 0;
  let t0 = 0;
  let out: { serverCpuSeconds: number; clientCpuSeconds: number; stormSeconds: number; serverWaitSeconds: number; storeCpuSeconds?: number } | undefined;
  let peakRssKb = 0;
  // The store's server (PostgreSQL), apart: its processes' RSS and PSS summed, at their highest.
  const storePeak = { rss: 0, pss: 0, processes: 0 };
  let storeTicks0 = 0;
  const rss = setInterval(() => {
    for (const pid of serverPids) peakRssKb = Math.max(peakRssKb, vmKb(pid, "VmRSS") || 0);
    if (storePid === undefined) return;
    const m = treeMemoryKb(storePid);
    storePeak.rss = Math.max(storePeak.rss, m.rss);
    storePeak.pss = Math.max(storePeak.pss, m.pss);
    storePeak.processes = Math.max(storePeak.processes, m.processes);
  }, 200);
  const ticks = () => serverPids.reduce((a, p) => a + treeTicks(p), 0);
  let result: ClientResult | undefined;
  let buf = "";
  proc.stdout!.on("data", (c: Buffer) => {
    buf += c.toString("utf8");
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === "storm start") {
        serverTicks0 = ticks();
        sched0 = sched();
        clientTicks0 = treeTicks(proc.pid!);
        if (storePid !== undefined) storeTicks0 = treeTicks(storePid);
        t0 = performance.now();
      } else if (line === "storm end") {
        const hz = clockTicks();
        const s1 = sched();
        out = { serverCpuSeconds: (ticks() - serverTicks0) / hz, clientCpuSeconds: (treeTicks(proc.pid!) - clientTicks0) / hz, stormSeconds: (performance.now() - t0) / 1000, serverWaitSeconds: waitBetween(sched0, s1) };
        if (storePid !== undefined) out.storeCpuSeconds = (treeTicks(storePid) - storeTicks0) / hz;
      } else if (line.startsWith("{")) {
        result = JSON.parse(line) as ClientResult;
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
  clearInterval(rss);
  if (!result || !out) throw new Error(`the storm client exited ${code} without a result`);
  const drops = { server: dropDelta(before.server, udpDrops(namespaces.server)), generator: dropDelta(before.generator, udpDrops(namespaces.generator)) };
  const store = out.storeCpuSeconds === undefined ? undefined : { cpuSeconds: out.storeCpuSeconds, cpuShare: out.storeCpuSeconds / out.stormSeconds, peakRssSumMb: storePeak.rss / 1024, peakPssSumMb: storePeak.pss / 1024, peakProcesses: storePeak.processes };
  return { result, ...out, peakRssMb: peakRssKb / 1024, store, drops };
}

function summarise(label: string, result: ClientResult, stages: readonly Stage[], m: Awaited<ReturnType<typeof runClient>>, bytesPerSecond: number): Omit<ServerRun, "processes"> {
  const figures = stormFigures(result.records);
  return {
    label,
    figures,
    stages: stageSummaries(result.records, stages),
    failures: failureSummary(result.records),
    curve: completionCurve(result.records),
    bound: transferBound(figures.bytes, bytesPerSecond, figures.completionSeconds),
    serverCpuSeconds: m.serverCpuSeconds,
    serverCpuShare: m.serverCpuSeconds / m.stormSeconds,
    clientCpuSeconds: m.clientCpuSeconds,
    peakRssMb: m.peakRssMb,
    dhcp: result.dhcp,
    applySeconds: result.applySeconds,
    udpDrops: m.drops,
    serverWaitSeconds: m.serverWaitSeconds,
    ...(m.store ? { storeServer: m.store } : {}),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      machines: { type: "string" },
      arrival: { type: "string", default: "burst" },
      "kernel-size": { type: "string" },
      "initrd-size": { type: "string" },
      "no-baseline": { type: "boolean", default: false },
      "no-bound": { type: "boolean", default: false },
      "no-static": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      profile: { type: "string" },
      "data-dir": { type: "string" },
      "agent-deadline": { type: "string", default: "180" },
      "no-record": { type: "boolean", default: false },
      store: { type: "string" },
      "database-url": { type: "string" },
      quick: { type: "boolean", default: false },
      label: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const quick = values.quick!;
  const n = Number(values.machines ?? (quick ? 20 : 1000));
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new Error(`--machines: expected an integer 1-${MAX_HOSTS}, got "${values.machines}"`);
  const spreadMs = parseArrival(values.arrival!);
  const kernelBytes = parseSize(values["kernel-size"] ?? (quick ? "256K" : "1M"));
  const initrdBytes = parseSize(values["initrd-size"] ?? (quick ? "1M" : "4M"));
  const store = parseStore(values.store, values["database-url"]);
  if (process.getuid?.() !== 0) throw new Error("the storm creates network namespaces: run it as root");
  needTwoCpus();
  const tools: [string, string][] = [["ip", "iproute2"], ["curl", "curl"], ["ss", "iproute2"]];
  if (!values["no-baseline"]) tools.push(["dnsmasq", "dnsmasq-base"], ["nginx", "nginx-light"]);
  if (!values["no-bound"]) tools.push(["nginx", "nginx-light"], ["wrk", "wrk"]);
  for (const [tool, pkg] of tools) need(tool, pkg);
  // Throws naming the package when Debian's PostgreSQL server is not installed.
  if (store.kind === "postgres" && !store.url) postgresBin();

  // The code wispd runs is the working tree as it starts: the commit then (others may commit during a run).
  const commit = sh(["git", "-C", join(import.meta.dir, "..", ".."), "log", "-1", "--format=%h"], { allowFail: true }).trim() || "unknown";
  const hosts = benchHosts(n);
  const net = benchNetwork();
  const topo = topologyNames(["storm"]);
  const link: Link = topo.links.storm!;
  const servers = new Servers();
  const started = machine();
  const arrival = values.arrival!;
  const label = values.label ?? defaultLabel(n, arrival, values["kernel-size"] ?? (quick ? "256K" : "1M"), values["initrd-size"] ?? (quick ? "1M" : "4M"), store);
  let pg: BenchPostgres | undefined;
  // On SIGINT benchRun's cleanup runs this before the scratch directory (the cluster's) goes.
  const { dir, procs, cleanup } = benchRun("storm", () => {
    servers.terminate();
    pg?.stop();
    destroyTopology(topo);
  });
  try {
    createTopology(topo);
    // Each machine's address on the generator's link, so its TFTP, HTTP and metadata come from it.
    const batch = join(dir, "addresses.batch");
    writeFileSync(batch, hosts.map((h) => `addr add ${h.ip}/32 dev ${link.generatorIface}`).join("\n") + "\n");
    sh(["ip", "-n", topo.generatorNs, "-batch", batch]);

    const artifacts = join(dir, "artifacts");
    mkdirSync(artifacts, { recursive: true });
    randomFile(join(artifacts, KERNEL_FILE), kernelBytes);
    randomFile(join(artifacts, INITRD_FILE), initrdBytes);
    const ipxeBytes = readFileSync(join(IPXE_DIR, IPXE_FILE)).length;

    // The byte-transfer bound: nginx serving the initrd on loopback, wrk with 4 connections.
    let wrk = { bytesPerSecond: NaN };
    if (!values["no-bound"]) {
      const loDir = join(dir, "nginx-lo");
      mkdirSync(loDir, { recursive: true });
      const lo = await startNginx(procs, loDir, artifacts, `/${INITRD_FILE}`);
      wrk = runWrk(`${lo.url}/${INITRD_FILE}`, quick ? 2 : 5, 4);
      log(`loopback HTTP bound (nginx + wrk, ${INITRD_FILE}): ${(wrk.bytesPerSecond / 1e9).toFixed(2)} GB/s`);
      await procs.stop();
    }

    const nss = { generator: topo.generatorNs, server: link.serverNs };
    const plan: BootPlan = { stages: STAGES, pxeBackoffMs: PXE_BACKOFF_MS, ipxeBackoffMs: IPXE_BACKOFF_MS, httpTries: HTTP_TRIES, httpRetryDelayMs: HTTP_RETRY_DELAY_MS, ipxeBytes, kernelBytes, initrdBytes, actions: 3 };
    const limits = { tftpTimeoutMs: 2_000, tftpRetries: 5, tftpBlksize: 1456, httpIdleTimeoutMs: 30_000, agentDeadlineMs: Number(values["agent-deadline"]) * 1000 };
    if (!(limits.agentDeadlineMs > 0)) throw new Error(`--agent-deadline: expected seconds > 0, got "${values["agent-deadline"]}"`);
    const base: Omit<ClientConfig, "plan" | "limits"> = { machines: hosts.map((h, index) => ({ index, ...h })), relayIp: link.relayIp, serverIp: link.serverIp, spreadMs, progressEveryMs: 5_000 };

    log(`wispd: ${n} machines, arrival ${arrival}, kernel ${kernelBytes} B, initrd ${initrdBytes} B`);
    const profileDir = values.profile ? resolve(values.profile) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    let database: { url: string; env: Record<string, string> } | undefined;
    if (store.kind === "postgres" && store.url) database = { url: store.url, env: {} };
    else if (store.kind === "postgres") {
      // Part of the server side: on the server CPU, as wispd.
      pg = startPostgres(dir, SERVER_CPU);
      await pg.waitReady();
      database = { url: pg.url, env: pg.env };
      log(`PostgreSQL: ${pg.version}, pid ${pg.pid}, socket in ${pg.socketDir}`);
    }
    const storeName = store.kind === "pglite" ? "PGlite" : pg ? `PostgreSQL ${/\d+(\.\d+)*/.exec(pg.version)?.[0] ?? ""}, started by the storm (unix socket)` : "PostgreSQL (--database-url)";
    const wispd = await startStormWispd(servers, dir, link, SERVER_CPU, artifacts, values["log-level"]!, profileDir, values["data-dir"] && resolve(values["data-dir"]), database);
    const docs = stormDocuments(hosts, net);
    const grpcLimits = { ...limits, grpcAddress: `${link.serverIp}:${GRPC_PORT}`, agentToken: wispd.agentToken };
    const apply = { url: wispd.url, token: wispd.apiToken, documents: docs, batch: 500, readyPath: `/ipxe/script/${hosts[n - 1]!.mac}/auto.ipxe` };
    // Like for like with the baseline first: the same wispd, DHCP+TFTP+HTTP stages only.
    let wispdStatic: ServerRun | undefined;
    let applySeconds: number | undefined;
    if (!values["no-static"]) {
      log("wispd, DHCP+TFTP+HTTP stages only (as the baseline)");
      const s = await runClient(dir, "wispd-static", nss, { ...base, plan: { ...plan, stages: STATIC_STAGES }, limits: grpcLimits, apply }, [wispd.pid], pg?.pid);
      applySeconds = s.result.applySeconds;
      wispdStatic = { ...summarise("wispd (DHCP, TFTP, HTTP)", s.result, STATIC_STAGES, s, wrk.bytesPerSecond), processes: "wispd (DHCP, TFTP, HTTP)" };
      log(`wispd static: ${wispdStatic.figures.succeeded}/${n} booted in ${wispdStatic.figures.completionSeconds.toFixed(1)} s, ${wispdStatic.figures.failed} failed; CPU ${wispdStatic.serverCpuSeconds.toFixed(1)} s`);
    }
    log("wispd, every stage");
    const w = await runClient(dir, "wispd", nss, { ...base, plan, limits: grpcLimits, apply: wispdStatic ? undefined : apply }, [wispd.pid], pg?.pid);
    const states = JSON.parse(sh(["ip", "netns", "exec", topo.generatorNs, "curl", "-sf", "--max-time", "60", "-H", `authorization: Bearer ${wispd.apiToken}`, `${wispd.url}/api/v1/namespaces/${NAMESPACE}/workflows`])) as { items?: { status?: { state?: string } }[] } | { status?: { state?: string } }[];
    const workflowStates: Record<string, number> = {};
    for (const wf of Array.isArray(states) ? states : (states.items ?? [])) workflowStates[wf.status?.state ?? "?"] = (workflowStates[wf.status?.state ?? "?"] ?? 0) + 1;
    const wispdRun: ServerRun = { ...summarise("wispd", w.result, STAGES, w, wrk.bytesPerSecond), applySeconds: applySeconds ?? w.result.applySeconds, vmHwmMb: vmKb(wispd.pid, "VmHWM") / 1024, processes: "wispd", workflowStates };
    // Bun writes the CPU profile as wispd exits; its clean shutdown may take a while after a storm.
    const stopGraceMs = profileDir ? 120_000 : 10_000;
    const pgLine = wispdRun.storeServer ? `; PostgreSQL server CPU ${wispdRun.storeServer.cpuSeconds.toFixed(1)} s, RSS summed over its processes peak ${wispdRun.storeServer.peakRssSumMb.toFixed(0)} MB (PSS ${wispdRun.storeServer.peakPssSumMb.toFixed(0)} MB, ${wispdRun.storeServer.peakProcesses} processes)` : "";
    log(`wispd (${storeName}): ${wispdRun.figures.succeeded}/${n} booted in ${wispdRun.figures.completionSeconds.toFixed(1)} s, ${wispdRun.figures.failed} failed; workflows ${JSON.stringify(workflowStates)}; wispd CPU ${wispdRun.serverCpuSeconds.toFixed(1)} s (runnable but waiting for a CPU ${wispdRun.serverWaitSeconds?.toFixed(1)} s), RSS peak ${wispdRun.peakRssMb.toFixed(0)} MB (VmHWM ${wispdRun.vmHwmMb!.toFixed(0)} MB)${pgLine}`);
    await servers.stop(stopGraceMs);
    // wispd is gone: the cluster goes too, before the baseline has the server CPU.
    pg?.stop();

    let baseline: ServerRun | undefined;
    if (!values["no-baseline"]) {
      log("baseline: dnsmasq (DHCP, TFTP) + nginx (HTTP)");
      const b = await startBaseline(servers, join(dir, "baseline"), link, SERVER_CPU, hosts, net, artifacts, 1024);
      const r = await runClient(dir, "baseline", nss, { ...base, plan: { ...plan, stages: STATIC_STAGES }, limits }, [b.dnsmasqPid, b.nginxPid]);
      baseline = { ...summarise("dnsmasq + nginx", r.result, STATIC_STAGES, r, wrk.bytesPerSecond), processes: "dnsmasq + nginx" };
      log(`baseline: ${baseline.figures.succeeded}/${n} booted in ${baseline.figures.completionSeconds.toFixed(1)} s, ${baseline.figures.failed} failed; CPU ${baseline.serverCpuSeconds.toFixed(1)} s`);
      await servers.stop();
    }
    started.loadavgAfter = loadavg();
    const run: StormRun = {
      label,
      date: new Date().toISOString(),
      machines: n,
      arrival,
      kernelBytes,
      initrdBytes,
      ipxeBytes,
      loopbackBytesPerSecond: wrk.bytesPerSecond,
      machine: started,
      store: storeName,
      versions: { commit, wispd: JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "package.json"), "utf8")).version, bun: Bun.version, dnsmasq: versionOf(["dnsmasq", "--version"]), nginx: versionOf(["nginx", "-v"]), ...(pg ? { postgresql: pg.version } : {}) },
      wispd: wispdRun,
      wispdStatic,
      baseline,
    };
    const written = values["no-record"] ? [] : recordRun(run, quick);
    for (const f of written) log(`wrote ${f}`);
    for (const r of [wispdStatic, wispdRun, baseline]) if (r && r.figures.failed > 0) log(`${r.processes}: ${r.figures.failed} machines failed: ${JSON.stringify(r.failures.reasons)}`);
    const resources = { cpuSeconds: wispdRun.serverCpuSeconds, waitSeconds: wispdRun.serverWaitSeconds, peakRssMb: wispdRun.peakRssMb, vmHwmMb: wispdRun.vmHwmMb };
    console.log(JSON.stringify({ label, store: storeName, wispd: wispdRun.figures, resources: { wispd: resources, postgres: wispdRun.storeServer }, baseline: baseline?.figures }));
  } finally {
    await servers.stop();
    pg?.stop();
    if (values.keep) log(`kept ${dir}`);
    else await cleanup();
    if (values.keep) destroyTopology(topo);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`storm: ${(e as Error).stack ?? e}`);
    process.exit(1);
  }
}
