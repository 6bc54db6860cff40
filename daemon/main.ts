/**
 * wispd entry point: the only module that reads argv, the environment and config files. It wires
 * the store, the core and the listeners, and shuts them down cleanly on SIGTERM/SIGINT.
 */
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { createApi } from "./api/server.ts";
import { resolveApiToken } from "./api/token.ts";
import { helpText, loadConfig, type Config } from "./config.ts";
import { createCore } from "./core/core.ts";
import { WispError } from "./lib/errors.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { openStore } from "./store/open.ts";

/** How often the server ends workflows and actions that ran past their timeouts. */
export const TIMEOUT_SWEEP_INTERVAL_MS = 5_000;

/** First non-loopback IPv4 address: what booting machines are told to reach us at by default. */
function defaultPublicIp(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

async function run(config: Config, log: Logger): Promise<void> {
  const dataDir = resolve(config.dataDir);
  const started = performance.now();
  const store = await openStore({ dataDir, databaseUrl: config.databaseUrl, logger: log });
  log.info({ store: config.databaseUrl ? "postgresql" : "pglite", dataDir, ms: Math.round(performance.now() - started) }, "store opened");
  const core = createCore(store, { logger: log });
  const { token, path: tokenPath, created } = resolveApiToken(dataDir, config.apiToken);
  if (created) log.info({ path: tokenPath }, "api token generated");

  const api = createApi({ core, token, logger: log, version: pkg.version });
  api.listen({ hostname: config.listenAddress, port: config.httpPort });
  const publicIp = config.publicIp ?? defaultPublicIp();
  log.info({ address: config.listenAddress, port: api.server?.port, publicIp, tokenFile: tokenPath }, "http listening");

  const sweep = setInterval(() => {
    core.sweepTimeouts().then(
      (n) => n > 0 && log.info({ count: n }, "workflows timed out"),
      (e) => log.error({ err: e }, "timeout sweep failed"),
    );
  }, TIMEOUT_SWEEP_INTERVAL_MS);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    clearInterval(sweep);
    await api.stop();
    await core.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  log.info({ version: pkg.version, ms: Math.round(performance.now() - started) }, "wispd ready");
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
