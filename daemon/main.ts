/**
 * wispd entry point: the only module that reads argv, the environment and config files. It wires
 * the store, the core and the listeners, and shuts them down cleanly on SIGTERM/SIGINT.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { createApi } from "./api/server.ts";
import { openBmc } from "./bmc/index.ts";
import { startJobRunner } from "./bmc/jobs.ts";
import { startPoller } from "./bmc/poller.ts";
import { resolveApiToken } from "./api/token.ts";
import { helpText, loadConfig, type Config } from "./config.ts";
import { createActionIndex } from "./core/action-index.ts";
import { bridgeChanges } from "./core/change-bridge.ts";
import { createChangeFeed, feedHardwareNotifications } from "./core/changes.ts";
import { createCore } from "./core/core.ts";
import { createHardwareIndex, type HardwareIndex } from "./core/hardware-index.ts";
import type { Core } from "./core/types.ts";
import { DEFAULT_WISP_USER_CLASS } from "./dhcp/classify.ts";
import { decide } from "./dhcp/policy.ts";
import { startDhcpServer, type DhcpServer } from "./dhcp/server.ts";
import type { HardwareLookup } from "./dhcp/types.ts";
import { AGENT_TOKEN_FILE, type AgentAuth } from "./grpc/auth.ts";
import { startGrpcServer, type GrpcServer } from "./grpc/server.ts";
import { bootRoutes } from "./http/boot-routes.ts";
import { parseCidr, type Cidr } from "./http/client-address.ts";
import { WispError } from "./lib/errors.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "./lib/metrics.ts";
import { metadataRoutes } from "./metadata/routes.ts";
import { interfaceIPv4, raiseListenBacklog } from "./net/libc.ts";
import { machineByAddress, machineByAgent } from "./ops/machines.ts";
import { startHeapGovernor } from "./ops/heap-governor.ts";
import { reportMemoryOnSignal } from "./ops/memory-report.ts";
import { registerProcessMetrics } from "./ops/process-metrics.ts";
import { createReadiness } from "./ops/readiness.ts";
import { createNotifier } from "./ops/sd-notify.ts";
import { countActionOutcomes, registerWorkflowGauge, storeQueryObserver } from "./ops/store-metrics.ts";
import { openStore, type Store } from "./store/open.ts";
import { DEFAULT_SYSLOG_PORT, evictionCounter, startSyslogServer, type SyslogServer } from "./syslog/server.ts";
import { createSyslogStore, type SyslogStore } from "./syslog/store.ts";
import { createFileSource, DEFAULT_IPXE_DIR } from "./tftp/files.ts";
import { DEFAULT_TFTP_PORT, startTftpServer, type TftpServer } from "./tftp/server.ts";
import { formatIpv4, parseIpv4 } from "./wire/address.ts";

/** How often the server ends workflows and actions that ran past their timeouts. */
export const TIMEOUT_SWEEP_INTERVAL_MS = 5_000;

/** First non-loopback IPv4 address: what booting machines are told to reach us at by default. */
function defaultPublicIp(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

/** Where booting machines reach us: --public-ip, else the first DHCP link's address, else defaultPublicIp(). */
function choosePublicIp(config: Config): string | undefined {
  if (config.publicIp) return config.publicIp;
  for (const iface of dhcpEnabled(config) ? config.dhcpInterfaces : []) {
    const addr = interfaceIPv4(iface);
    if (addr.ok) return formatIpv4(addr.value.address);
  }
  return defaultPublicIp();
}

// A DHCP server must never answer on a network nobody chose: off until an interface is named.
const dhcpEnabled = (config: Config): boolean => config.dhcpInterfaces.length > 0 && config.dhcpMode !== "off";

/** Starts the DHCP server over the shared hardware index when configured; logs why not otherwise. */
async function startDhcp(
  config: Config,
  index: HardwareIndex,
  metrics: MetricsRegistry,
  publicIp: string | undefined,
  httpPort: number,
  log: Logger,
): Promise<DhcpServer | undefined> {
  if (!dhcpEnabled(config)) {
    const reason = config.dhcpInterfaces.length === 0 ? "no --dhcp-interface named" : "--dhcp-mode off";
    log.info({ mode: config.dhcpMode, interfaces: config.dhcpInterfaces, reason }, "dhcp off");
    return undefined;
  }
  const ip = publicIp === undefined ? undefined : parseIpv4(publicIp);
  if (ip === undefined || !ip.ok) {
    throw new WispError("invalid_argument", "dhcp: no address to give booting machines: set --public-ip", { field: "public-ip" });
  }
  return startDhcpServer({
    interfaces: config.dhcpInterfaces,
    lookup: index,
    decide,
    config: {
      mode: config.dhcpMode,
      publicIp: ip.value,
      httpPort,
      wispUserClass: DEFAULT_WISP_USER_CLASS,
      defaultLeaseTime: config.dhcpLeaseTime,
    },
    // An explicit --public-ip is the server identifier everywhere; else each link's own address.
    serverIdentifier: config.publicIp ? ip.value : undefined,
    logger: log,
    metrics,
  });
}

interface Syslog {
  server: SyslogServer;
  /** The index the receiver made for itself when DHCP (and its index) is off. */
  ownIndex?: HardwareIndex;
}

/** Starts the syslog receiver unless --syslog-port is 0; it reads the DHCP index, or its own. */
async function startSyslog(
  config: Config,
  store: Store,
  logs: SyslogStore | undefined,
  dhcpIndex: HardwareIndex | undefined,
  metrics: MetricsRegistry,
  log: Logger,
): Promise<Syslog | undefined> {
  if (!logs) {
    log.info({ reason: "--syslog-port 0" }, "syslog off");
    return undefined;
  }
  const ownIndex = dhcpIndex ? undefined : await createHardwareIndex(store, { logger: log });
  if (ownIndex) metrics.gaugeFunction("wisp_hardware_index_entries", "Hardware interfaces (by MAC) in the hardware index", () => ownIndex.size);
  const lookup = (dhcpIndex ?? ownIndex)!;
  try {
    const server = await startSyslogServer({ hostname: config.listenAddress, port: config.syslogPort, lookup, store: logs, logger: log, metrics });
    return { server, ownIndex };
  } catch (e) {
    await ownIndex?.close();
    const reason = `cannot bind ${config.listenAddress}:${config.syslogPort}: ${(e as Error).message}`;
    // The well-known port needs root and may be another syslog daemon's: provision without the
    // receiver rather than not at all. A port the operator chose must work.
    if (config.syslogPort !== DEFAULT_SYSLOG_PORT) throw new WispError("invalid_argument", `syslog: ${reason}`, { field: "syslog-port" });
    log.warn({ reason, hint: "free the port, or set --syslog-port (0 = off)" }, "syslog off");
    return undefined;
  }
}

/** Where iPXE binaries and boot artifacts are, for TFTP and HTTP alike; creates the artifacts directory. */
function bootDirs(config: Config, dataDir: string): { ipxeDir: string | undefined; artifactsDir: string } {
  const ipxeDir = config.ipxeDir ?? (existsSync(DEFAULT_IPXE_DIR) ? DEFAULT_IPXE_DIR : undefined);
  const artifactsDir = resolve(config.artifactsDir ?? join(dataDir, "artifacts"));
  mkdirSync(artifactsDir, { recursive: true });
  return { ipxeDir, artifactsDir };
}

/** Starts the TFTP server unless --tftp-port is 0: iPXE binaries by name, artifacts by path. */
async function startTftp(config: Config, dataDir: string, metrics: MetricsRegistry, log: Logger, index: HardwareLookup): Promise<TftpServer | undefined> {
  if (config.tftpPort === 0) {
    log.info({ reason: "--tftp-port 0" }, "tftp off");
    return undefined;
  }
  const { ipxeDir, artifactsDir } = bootDirs(config, dataDir);
  if (ipxeDir === undefined) log.warn({ path: DEFAULT_IPXE_DIR, hint: "apt-get install ipxe, or set --ipxe-dir" }, "tftp has no ipxe binaries");
  const files = createFileSource({ ipxeDir, artifactsDir });
  try {
    const server = await startTftpServer({ hostname: config.listenAddress, port: config.tftpPort, maxTransfers: config.tftpMaxTransfers, files, logger: log, metrics, machine: machineByAddress(index) });
    log.info({ ipxeDir, artifactsDir }, "tftp serving");
    return server;
  } catch (e) {
    const reason = `cannot bind ${config.listenAddress}:${config.tftpPort}: ${(e as Error).message}`;
    // As for syslog: port 69 needs root and may be another TFTP server's; a chosen port must work.
    if (config.tftpPort !== DEFAULT_TFTP_PORT) throw new WispError("invalid_argument", `tftp: ${reason}`, { field: "tftp-port" });
    log.warn({ reason, hint: "free the port, or set --tftp-port (0 = off)" }, "tftp off");
    return undefined;
  }
}

/** Starts the agents' workflow service (gRPC) with its authentication and TLS; a port that cannot be bound fails start-up. */
async function startGrpc(config: Config, dataDir: string, core: Core, metrics: MetricsRegistry, log: Logger, index: HardwareLookup): Promise<GrpcServer> {
  let auth: AgentAuth = { mode: "off" };
  if (config.agentAuth === "token") {
    const { token, path, created } = resolveApiToken(dataDir, config.agentToken, AGENT_TOKEN_FILE);
    if (created) log.info({ path }, "agent token generated");
    auth = { mode: "token", token };
  } else {
    log.warn({ hint: "any caller on the network can fetch actions and report their end" }, "agent auth off");
  }
  const read = (path: string, field: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new WispError("invalid_argument", `--${field} ${path}: ${(e as Error).message}`, { field });
    }
  };
  const tls = config.grpcTlsCert && config.grpcTlsKey ? { cert: read(config.grpcTlsCert, "grpc-tls-cert"), key: read(config.grpcTlsKey, "grpc-tls-key") } : undefined;
  try {
    return await startGrpcServer({ hostname: config.listenAddress, port: config.grpcPort, core, auth, tls, logger: log, metrics, machine: machineByAgent(index) });
  } catch (e) {
    throw new WispError("invalid_argument", `grpc: cannot listen on ${config.listenAddress}:${config.grpcPort}: ${(e as Error).message}`, { field: "grpc-port" });
  }
}

async function run(config: Config, log: Logger): Promise<void> {
  const dataDir = resolve(config.dataDir);
  const started = performance.now();
  // ops: the registry comes first so every store query is timed, migrations included.
  const metrics = createMetricsRegistry();
  const stopProcessMetrics = registerProcessMetrics(metrics);
  const stopMemoryReports = reportMemoryOnSignal(log);
  const gcSeconds = metrics.histogram("wisp_heap_collection_seconds", "Full collections the heap governor asked for (--heap-headroom), by how long they took", [], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]).labels();
  const stopHeapGovernor = startHeapGovernor({
    headroomBytes: config.heapHeadroom * 1048576,
    onCollect: (before, after, seconds) => {
      gcSeconds.observe(seconds);
      log.debug({ beforeMb: Math.round(before / 1048576), afterMb: Math.round(after / 1048576), ms: Math.round(seconds * 1000) }, "heap collected");
    },
  });
  const notifier = createNotifier(process.env, log);
  const store = await openStore({ dataDir, databaseUrl: config.databaseUrl, logger: log, observeQuery: storeQueryObserver(metrics) });
  // location: PGlite's directory, or PostgreSQL's socket file or host:port (the URL is not logged: it may hold a password).
  log.info({ store: config.databaseUrl ? "postgresql" : "pglite", location: store.location, dataDir, ms: Math.round(performance.now() - started) }, "store opened");
  // Committed changes, announced in process (live views; ops counts action outcomes from it).
  const changes = createChangeFeed({ logger: log });
  // console: Hardware changes reach the feed from the store's notifications (any wispd's).
  const stopHardwareFeed = await feedHardwareNotifications(store, changes, log);
  // console: with PostgreSQL shared by several wispd, each one's workflow changes reach the others' feeds.
  const stopChangeBridge = await bridgeChanges(store, changes, { logger: log });
  // ops: /readyz and READY=1 wait for the store and every listener that is started below.
  const readiness = createReadiness(() => store.ping());
  registerWorkflowGauge(metrics, store, changes);
  countActionOutcomes(metrics, changes);
  // Idle agents poll GetAction every few seconds: answered from memory, kept true by NOTIFY.
  const storeCore = createCore(store, { logger: log, changes });
  const actions = await createActionIndex(store, storeCore, { logger: log });
  const core = actions.bind(storeCore);
  const { token, path: tokenPath, created } = resolveApiToken(dataDir, config.apiToken);
  if (created) log.info({ path: tokenPath }, "api token generated");

  // One in-memory index of Hardware for every boot path (DHCP, boot HTTP, syslog attribution).
  const index = await createHardwareIndex(store, { logger: log });
  metrics.gaugeFunction("wisp_hardware_index_entries", "Hardware interfaces (by MAC) in the hardware index", () => index.size);
  const syslogLogs = config.syslogPort === 0 ? undefined : createSyslogStore({ onEvict: evictionCounter(metrics) });
  const publicIp = choosePublicIp(config);
  let httpPort = config.httpPort; // the real one once listening (--http-port 0)
  let grpcPort = config.grpcPort; // likewise (--grpc-port 0)
  let agentToken: string | undefined; // for the Hook's kernel command line, once the gRPC server has it
  const hookRegistry = config.hookRegistry === undefined ? undefined : { host: config.hookRegistry, username: config.hookRegistryUsername, password: config.hookRegistryPassword };
  const boot = bootRoutes({
    lookup: index,
    // From the in-memory index: a boot storm must not read the store per script.
    hardware: async (namespace, name) => index.hardwareByName(namespace, name),
    // Rendered scripts are kept per host until the index changes.
    hardwareChanges: (listener) => index.onChange(listener),
    settings: () =>
      publicIp === undefined ? undefined : { publicIp, httpPort, grpcPort, mode: config.dhcpMode, userClass: DEFAULT_WISP_USER_CLASS, agentToken, registry: hookRegistry },
    ...bootDirs(config, dataDir),
    trustedProxies: config.trustedProxies.map((c) => (parseCidr(c) as { ok: true; value: Cidr }).value),
    logger: log,
    metrics,
  });
  const metadata = metadataRoutes({
    lookup: index,
    trustedProxies: config.trustedProxies.map((c) => (parseCidr(c) as { ok: true; value: Cidr }).value),
    logger: log,
    metrics,
  });
  // ops: each listener is a readiness check from here until it is bound (or turned off).
  const listening = {
    http: readiness.check("http"),
    dhcp: dhcpEnabled(config) ? readiness.check("dhcp") : undefined,
    syslog: config.syslogPort === 0 ? undefined : readiness.check("syslog"),
    tftp: config.tftpPort === 0 ? undefined : readiness.check("tftp"),
    grpc: readiness.check("grpc"),
  };
  const api = createApi({ core, token, logger: log, version: pkg.version, metrics, syslog: syslogLogs, readiness, changes }).use(boot.plugin).use(metadata);
  // The iPXE script's paths go to Bun's router ahead of Elysia (daemon/http/native-routes.ts).
  api.config.serve = { ...api.config.serve, routes: boot.serveRoutes };
  api.listen({ hostname: config.listenAddress, port: config.httpPort });
  httpPort = api.server?.port ?? config.httpPort;
  listening.http.ready(`${config.listenAddress}:${httpPort}`);
  log.info({ address: config.listenAddress, port: httpPort, publicIp, tokenFile: tokenPath }, "http listening");
  deepenBacklog(httpPort, "http", log);
  const dhcp = await startDhcp(config, index, metrics, publicIp, httpPort, log);
  listening.dhcp?.ready(dhcp?.listeners.map((l) => `${l.iface}:${l.port}`).join(" "));
  const syslog = await startSyslog(config, store, syslogLogs, index, metrics, log);
  // A default port that cannot be bound turns the part off (logged); that is not "not ready".
  if (syslog) listening.syslog?.ready(`${config.listenAddress}:${syslog.server.port}`);
  else listening.syslog?.ready("off: see the \"syslog off\" log line");
  const tftp = await startTftp(config, dataDir, metrics, log, index);
  if (tftp) listening.tftp?.ready(`${config.listenAddress}:${tftp.port}`);
  else listening.tftp?.ready("off: see the \"tftp off\" log line");
  metrics.gaugeFunction("wisp_action_index_entries", "Agents whose GetAction answer is held in memory", () => actions.size);
  metrics.counterFunction("wisp_action_index_hits_total", "GetAction answered from memory", () => actions.stats.hits);
  metrics.counterFunction("wisp_action_index_misses_total", "GetAction answered from the store", () => actions.stats.misses);
  const grpc = await startGrpc(config, dataDir, core, metrics, log, index);
  grpcPort = grpc.port;
  deepenBacklog(grpc.port, "grpc", log);
  listening.grpc.ready(`${config.listenAddress}:${grpc.port}`);
  if (config.agentAuth === "token") agentToken = resolveApiToken(dataDir, config.agentToken, AGENT_TOKEN_FILE).token;

  const sweep = setInterval(() => {
    core.sweepTimeouts().then(
      (n) => n > 0 && log.info({ count: n }, "workflows timed out"),
      (e) => log.error({ err: e }, "timeout sweep failed"),
    );
  }, TIMEOUT_SWEEP_INTERVAL_MS);

  // bmc (issue 9): Jobs run against Machines' BMCs (and move netboot workflows out of PREPARING);
  // every Machine's power state is polled.
  const bmcCtx = { db: store.db, now: () => new Date(), logger: log };
  const bmcJobs = await startJobRunner({ ctx: bmcCtx, openBmc, logger: log, onWorkflowChange: (c) => changes.emit({ kind: "Workflow", op: "state", ...c }) });
  const bmcPoller = startPoller({ ctx: bmcCtx, openBmc, logger: log, intervalMs: config.bmcPollInterval * 1000 });

  let stopping = false;
  let stopWatchdog = () => {};
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    notifier.stopping();
    stopWatchdog();
    for (const check of Object.values(listening)) check?.notReady("stopping");
    log.info({ signal }, "shutting down");
    clearInterval(sweep);
    stopProcessMetrics();
    stopMemoryReports();
    stopHeapGovernor();
    dhcp?.close();
    syslog?.server.close();
    await syslog?.ownIndex?.close();
    await tftp?.stop();
    await grpc.stop();
    await bmcPoller.stop(); // bmc
    await bmcJobs.stop(); // bmc
    await actions.close();
    await api.stop();
    await index.close();
    await stopHardwareFeed();
    await stopChangeBridge();
    await core.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // ops: every listener is bound and the store answered: tell systemd (Type=notify).
  const ready = await readiness.report();
  if (!ready.ready) log.warn({ checks: ready.checks }, "not ready at start-up");
  notifier.ready(`serving: http ${httpPort}, grpc ${grpcPort}${tftp ? `, tftp ${tftp.port}` : ""}${dhcp ? `, dhcp ${config.dhcpInterfaces.join(",")}` : ""}${syslog ? `, syslog ${syslog.server.port}` : ""}`);
  stopWatchdog = notifier.startWatchdog();
  log.info({ version: pkg.version, ms: Math.round(performance.now() - started), notify: notifier.enabled }, "wispd ready");
}

/** Accept backlog asked for on the HTTP and gRPC ports (the kernel caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

/**
 * Deepens the accept queue of a TCP listener from the runtime's 512 (daemon/net/libc.ts
 * raiseListenBacklog): thousands of machines connect within a second in a boot storm. Failing
 * to is a warning; the listener works with the shallower queue.
 */
function deepenBacklog(port: number, listener: string, log: Logger): void {
  const r = raiseListenBacklog(port, LISTEN_BACKLOG);
  if (r.ok) log.debug({ listener, port, backlog: LISTEN_BACKLOG, sockets: r.value }, "listen backlog raised");
  else log.warn({ listener, port, error: r.error }, "cannot raise the listen backlog; connection bursts may see SYN retransmissions");
}

/** Parses the command line and runs; exits 2 on a configuration error, 1 on a start-up failure. */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(helpText());
    return;
  }
  if (argv.includes("--version")) {
    console.log(`wispd ${pkg.version}`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig(argv, process.env);
  } catch (e) {
    console.error(`wispd: ${(e as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  try {
    await run(config, log);
  } catch (e) {
    const message = e instanceof WispError ? e.message : (e as Error).message;
    log.fatal({ err: e }, "start-up failed");
    console.error(`wispd: ${message}`);
    process.exit(1);
  }
}

await main();
