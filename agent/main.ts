/**
 * wisp-agent: runs workflow actions inside the Hook. The only file that reads argv, the
 * environment and the kernel command line; everything else receives its configuration.
 */
import { readFileSync } from "node:fs";
import pino from "pino";
import { cmdlineFile, ConfigError, helpText, loadAgentConfig, type AgentConfig } from "./config.ts";
import { dockerClient } from "./docker.ts";
import { actionLogs } from "./action-log.ts";
import { logsClient } from "./log-shipper.ts";
import { fileStateStore, runLoop } from "./loop.ts";
import { runAction } from "./runner.ts";
import { syslogForwarder, type SyslogForwarder } from "./syslog.ts";
import { workflowClient } from "./workflow-client.ts";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(helpText());
  process.exit(0);
}

let config: AgentConfig;
try {
  const file = cmdlineFile(argv, process.env);
  let cmdline = "";
  try {
    cmdline = readFileSync(file, "utf8");
  } catch (e) {
    // Outside Linux (or a test without the file), flags and the environment still configure the agent.
    if (argv.includes("--cmdline") || argv.some((a) => a.startsWith("--cmdline="))) throw new ConfigError(`--cmdline ${file}: ${(e as Error).message}`, "cmdline");
  }
  config = loadAgentConfig(argv, process.env, cmdline);
} catch (e) {
  console.error(`wisp-agent: ${(e as Error).message}`);
  process.exit(2);
}

// JSON lines on stdout, and to syslog_host when set; no transports (they do not work in a compiled binary).
const stdout = pino.destination({ dest: 1, sync: true });
let syslog: SyslogForwarder | undefined;
try {
  syslog = config.syslogHost ? syslogForwarder(config.syslogHost, stdout) : undefined;
} catch (e) {
  console.error(`wisp-agent: ${(e as Error).message}`);
  process.exit(2);
}
const log = pino({ name: "wisp-agent", level: config.logLevel, base: { name: "wisp-agent" }, timestamp: pino.stdTimeFunctions.isoTime }, syslog ?? stdout);
const docker = dockerClient(config.dockerSocket, { registry: config.registry });
const client = workflowClient(config.grpcAuthority, { tls: config.tls, insecureTls: config.insecureTls, token: config.token });
// wispd serves the log service on the same port, behind the same token.
const logs = logsClient(config.grpcAuthority, { tls: config.tls, insecureTls: config.insecureTls, token: config.token });
const stop = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    log.info({ signal: sig }, "wisp-agent stopping");
    stop.abort();
  });
}

log.info({ workerId: config.workerId, grpcAuthority: config.grpcAuthority, tls: config.tls, dockerSocket: config.dockerSocket, token: config.token !== undefined, syslogHost: config.syslogHost }, "wisp-agent started");
await runLoop({
  workerId: config.workerId,
  client,
  run: (action, hooks) => runAction(docker, action, { privileged: config.privileged, logger: log, owner: config.workerId, ...hooks }),
  openLog: actionLogs(logs, config.workerId, log),
  state: fileStateStore(config.stateFile, log),
  logger: log,
  signal: stop.signal,
});
client.close();
logs.close();
log.info({ syslogSent: syslog?.stats.sent, syslogDropped: syslog?.stats.dropped }, "wisp-agent stopped");
syslog?.close();
