/**
 * What the compiled-agent tests share: the agent built with `bun build --compile` into a temp
 * dir, started as the Hook starts it (a kernel command line file), its JSON log lines watched;
 * the lab each test file runs against (wispd on PGlite, a private dockerd); Tinkerbell
 * manifests for one machine; the workflow read back through the CLI.
 */
import { expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTestContainers, testDocker, type TestDocker } from "../support/docker.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { readJsonLines, runWisp, startWispd, wispdGrpcPort, type WispdHandle } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** Longest wait for an agent to log what a test waits for (a few short containers). */
export const AGENT_WAIT_MS = 40_000;
/** The namespace of every object these tests apply. */
export const NS = "agent-test";

export type Log = Record<string, unknown>;

/** Builds agent/main.ts into `dir/wisp-agent`; resolves to its path. */
export async function compileAgent(dir: string): Promise<string> {
  const binary = join(dir, "wisp-agent");
  const build = Bun.spawn([process.execPath, "build", "--compile", "agent/main.ts", "--outfile", binary], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if ((await build.exited) !== 0) throw new Error(`bun build --compile: ${await new Response(build.stderr).text()}`);
  return binary;
}

/** One machine: Hardware, Template and Workflow named `name`, worker `mac`, with `task` as the template's task body. */
export function manifests(name: string, mac: string, task: string): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: { name: ${name}, namespace: ${NS} }
spec:
  interfaces:
    - dhcp: { mac: "${mac}", hostname: ${name}, arch: x86_64 }
      netboot: { allowPXE: true, allowWorkflow: true }
---
apiVersion: tinkerbell.org/v1alpha1
kind: Template
metadata: { name: ${name}, namespace: ${NS} }
spec:
  data: |
    version: "0.1"
    name: ${name}
    global_timeout: 600
    tasks:
      - name: run
        worker: "{{.device_1}}"
${task.replace(/^/gm, "        ")}
---
apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata: { name: ${name}, namespace: ${NS} }
spec:
  templateRef: ${name}
  hardwareRef: ${name}
  hardwareMap: { device_1: "${mac}" }
`;
}

/** A running compiled agent. */
export interface AgentHandle {
  logs: Log[];
  proc: ReturnType<typeof Bun.spawn>;
  /** The first log line matching `pred` (already logged or when it comes); rejects after `ms` with every line. */
  waitFor(pred: (l: Log) => boolean, what: string, ms?: number): Promise<Log>;
  /** SIGTERM and wait; the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait (the agent dies without a word). */
  kill(): Promise<number>;
}

/** How to start an agent. */
export interface AgentStart {
  binary: string;
  dir: string;
  mac: string;
  grpcAuthority: string;
  token: string;
  dockerSocket: string;
  privileged: boolean;
  /** More `key=value` kernel arguments (docker_registry, registry_username, ...). */
  cmdline?: string[];
}

/** Starts the compiled agent for `mac`, configured as in the Hook: the kernel command line (a file here); the state file is per MAC, so a restart finds it. */
export function startAgent(s: AgentStart): AgentHandle {
  const id = s.mac.replaceAll(":", "");
  const cmdline = join(s.dir, `cmdline-${id}`);
  writeFileSync(cmdline, `console=ttyS0 worker_id=${s.mac} grpc_authority=${s.grpcAuthority} wisp_agent_token=${s.token} ${(s.cmdline ?? []).join(" ")}\n`);
  const proc = Bun.spawn(
    [s.binary, "--cmdline", cmdline, "--docker-socket", s.dockerSocket, "--state-file", join(s.dir, `state-${id}.json`), "--privileged", String(s.privileged), "--log-level", "debug"],
    { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } },
  );
  const logs: Log[] = [];
  const watchers = new Set<(l: Log) => void>();
  void readJsonLines(proc.stdout, (rec) => {
    logs.push(rec);
    for (const w of watchers) w(rec);
  });
  return {
    logs,
    proc,
    waitFor(pred, what, ms = AGENT_WAIT_MS) {
      const seen = logs.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watch);
          reject(new Error(`agent did not log ${what} within ${ms} ms; logs:\n${logs.map((l) => JSON.stringify(l)).join("\n")}`));
        }, ms);
        const watch = (l: Log) => {
          if (!pred(l)) return;
          clearTimeout(timer);
          watchers.delete(watch);
          resolve(l);
        };
        watchers.add(watch);
      });
    },
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
    async kill() {
      proc.kill("SIGKILL");
      return proc.exited;
    },
  };
}

/** The CLI against `server` with the token found in `dataDir`. */
export function cli(server: string, dataDir: string) {
  const env = { WISP_SERVER: server, WISP_DATA_DIR: dataDir };
  return {
    apply: async (text: string) => expect(await runWisp(["apply", "-f", "-"], env, text)).toMatchObject({ code: 0 }),
    workflow: async (name: string) => {
      const r = await runWisp(["get", "wf", name, "-n", NS, "-o", "json"], env);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as { status: { state: string; tasks: { actions: { name: string; state: string; message?: string }[] }[] } };
    },
    /** `wisp logs workflow NAME`: lines without their timestamp. */
    logs: async (name: string) => {
      const r = await runWisp(["logs", "workflow", name, "-n", NS], env);
      expect(r.code).toBe(0);
      return r.stdout.trim().split("\n").map((l) => l.slice(l.indexOf(" ") + 1));
    },
  };
}

/** The agent's acknowledged report of `state` for workflow `name` (`agent-test/name`). */
export const reported = (agent: AgentHandle, name: string, state: string, ms?: number) =>
  agent.waitFor((l) => l.msg === "action status reported" && l.workflowId === `${NS}/${name}` && l.state === state, `${state} for ${name}`, ms);

/** What a compiled-agent test file runs against: the agent binary, a private dockerd, and wispd on PGlite with `--agent-auth token`. */
export interface AgentLab {
  /** A temp dir removed by `stop()` (the binary, kernel command lines, state files, bind mounts). */
  dir: string;
  docker: TestDocker;
  dataDir: string;
  /** The running wispd (another handle after `restartWispd()`). */
  readonly wispd: WispdHandle;
  /** The CLI against the running wispd. */
  wisp(): ReturnType<typeof cli>;
  /** Starts an agent for `mac` with more kernel arguments; `stop()` stops it. */
  agent(mac: string, cmdline?: string[]): AgentHandle;
  /** Starts wispd again on the same data dir and gRPC port (the agents' grpc_authority does not change). */
  restartWispd(): Promise<void>;
  /** Stops the agents and wispd, removes the test containers, the data and the temp dir. */
  stop(): Promise<void>;
}

/** Compiles the agent, starts dockerd and wispd (its first start picks a free gRPC port); cleans up what it made when a step fails. */
export async function startAgentLab(dirPrefix: string): Promise<AgentLab> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const agents: AgentHandle[] = [];
  let docker: TestDocker | undefined;
  let data: { dataDir: string; remove(): void } | undefined;
  let wispd: WispdHandle | undefined;
  const stop = async () => {
    for (const a of agents) await a.stop();
    if (docker) await removeTestContainers(docker);
    if (wispd) await wispd.stop();
    data?.remove();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let binary: string;
    [binary, docker, data] = await Promise.all([compileAgent(dir), testDocker(), pgliteDataDir()]);
    const dataDir = data.dataDir;
    const start = async (grpcPort: number) => {
      wispd = await startWispd(["--data-dir", dataDir, "--tftp-port", "0", "--grpc-port", String(grpcPort), "--agent-auth", "token"]);
      const port = await wispdGrpcPort(wispd);
      await wispd.waitForLog("wispd ready");
      return port;
    };
    const grpcPort = await start(0);
    const token = readFileSync(join(dataDir, "agent-token"), "utf8").trim();
    const base = { binary, dir, grpcAuthority: `127.0.0.1:${grpcPort}`, token, dockerSocket: docker.socket, privileged: docker.privileged };
    return {
      dir,
      docker,
      dataDir,
      get wispd() {
        return wispd!;
      },
      wisp: () => cli(wispd!.url, dataDir),
      agent(mac, cmdline) {
        const a = startAgent({ ...base, mac, cmdline });
        agents.push(a);
        return a;
      },
      restartWispd: async () => void (await start(grpcPort)),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
