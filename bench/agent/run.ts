/**
 * Per-action overhead of wisp-agent against `docker run --rm`, in the same run, on the same
 * private dockerd (test/support/docker.ts) and the same busybox image: (a) the peer, N sequential
 * `docker run --rm IMAGE true`; (b) one workflow of N actions `true` run by the compiled
 * wisp-agent against a real wispd (`--agent-auth token`, PGlite in a temp dir), timed from the
 * workflow's RUNNING event to its SUCCESS event (read through the API). wispd on CPU 0, the agent
 * and the docker CLI on CPU 1; dockerd is not pinned. Writes docs/benchmarks/agent.md and
 * bench/results/agent.json.
 *
 *   npx bun bench/agent/run.ts [--actions 50]
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { importBusybox, testDocker } from "../../test/support/docker.ts";
import { clockTicks, treeTicks } from "../support/cpu.ts";
import { CLIENT_CPU, need, needTwoCpus, pinned, SERVER_CPU } from "../support/pinning.ts";
import { benchRun, freeTcpPort, median, versionOf } from "../support/processes.ts";
import { machine, machineLine, writeResults, type RunHeader } from "../support/results.ts";
import { applyAndWait, startWispd, type Wispd } from "../support/wispd.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** The image both sides run: busybox-static with a `true` applet (the tests' image has none). */
const IMAGE = "wisp-bench/busybox:1";
const NS = "bench-agent";
const NAME = "fifty";
const MAC = "02:00:00:00:be:01";
/** How often the bench reads the workflow's state through the API while the agent works. */
const STATE_POLL_MS = 1_000;

type Log = Record<string, unknown>;

/** Median seconds of one `POST /images/create?fromImage=IMAGE` (the agent's pull attempt), which fails here: no registry serves the imported image. */
async function failingPullSeconds(socket: string): Promise<number> {
  const [repo, tag] = IMAGE.split(":");
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const res = await fetch(`http://docker/images/create?fromImage=${encodeURIComponent(repo!)}&tag=${tag}`, { method: "POST", unix: socket } as RequestInit);
    await res.text();
    runs.push((performance.now() - t0) / 1000);
  }
  return median(runs);
}

/** Ticks of dockerd (found by its socket on the command line) and its children: containerd, shims. */
function dockerdTicks(socket: string): number {
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (cmd.startsWith("dockerd\0") && cmd.includes(socket)) return treeTicks(Number(p));
    } catch {
      // gone
    }
  }
  return NaN;
}

/** Ticks this process's reaped children used (the docker CLI runs). */
function reapedChildTicks(): number {
  const rest = readFileSync("/proc/self/stat", "utf8");
  const f = rest.slice(rest.lastIndexOf(")") + 2).split(" ");
  return Number(f[16 - 3]) + Number(f[17 - 3]);
}

function manifests(actions: number): object[] {
  const acts = Array.from({ length: actions }, (_, i) => `      - name: a${i + 1}\n        image: ${IMAGE}\n        timeout: 60\n        command: ["true"]`).join("\n");
  const data = `version: "0.1"\nname: ${NAME}\nglobal_timeout: 3600\ntasks:\n  - name: run\n    worker: "{{.device_1}}"\n    actions:\n${acts}\n`;
  return [
    { apiVersion: "tinkerbell.org/v1alpha1", kind: "Hardware", metadata: { name: NAME, namespace: NS }, spec: { interfaces: [{ dhcp: { mac: MAC, hostname: NAME, arch: "x86_64" }, netboot: { allowPXE: true, allowWorkflow: true } }] } },
    { apiVersion: "tinkerbell.org/v1alpha1", kind: "Template", metadata: { name: NAME, namespace: NS }, spec: { data } },
    { apiVersion: "tinkerbell.org/v1alpha1", kind: "Workflow", metadata: { name: NAME, namespace: NS }, spec: { templateRef: NAME, hardwareRef: NAME, hardwareMap: { device_1: MAC } } },
  ];
}

async function api(wispd: Wispd, path: string): Promise<any> {
  const r = await fetch(`${wispd.url}/api/v1${path}`, { headers: { authorization: `Bearer ${wispd.token}` } });
  if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}: ${await r.text()}`);
  return r.json();
}

/** Seconds between consecutive agent log lines, per phase, summed over all actions. */
function phases(logs: Log[]): Record<string, number> {
  const t = (l: Log) => Date.parse(l.time as string);
  const sums: Record<string, number> = {};
  let prev: Log | undefined;
  const label: Record<string, string> = {
    "action received": "GetAction served -> received (and wait after the previous report)",
    "action status reported": "report RUNNING or SUCCESS (gRPC round trip)",
    "pulling image": "before pull",
    "action started": "pull (one failing try, then the local image) + create + start",
    "action exited": "container runs to exit",
    "action finished": "after exit: remove container",
  };
  for (const l of logs) {
    if (typeof l.time !== "string" || typeof l.msg !== "string") continue;
    if (prev && l.msg in label) sums[label[l.msg]!] = (sums[label[l.msg]!] ?? 0) + (t(l) - t(prev)) / 1000;
    prev = l;
  }
  return sums;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { actions: { type: "string", default: "50" } } });
  const actions = Number(values.actions);
  need("docker", "docker.io");
  need("busybox", "busybox-static");
  needTwoCpus();

  let socket: string | undefined;
  const { dir, procs, cleanup } = benchRun("agent", () => {
    if (!socket) return;
    // Containers the agent may have left, then the image; the private dockerd itself goes with this process (test/support/docker.ts).
    spawnSync("sh", ["-c", `docker -H unix://${socket} ps -aq --filter ancestor=${IMAGE} | xargs -r docker -H unix://${socket} rm -f; docker -H unix://${socket} rmi -f ${IMAGE}`], { stdio: "ignore" });
  });
  try {
    const host = machine();
    const binary = join(dir, "wisp-agent");
    const build = Bun.spawn([process.execPath, "build", "--compile", "agent/main.ts", "--outfile", binary], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const docker = await testDocker();
    socket = docker.socket;
    if ((await build.exited) !== 0) throw new Error(`bun build --compile: ${await new Response(build.stderr).text()}`);
    await importBusybox(socket, IMAGE, ["true", "sh"]);
    const dockerRun = pinned(CLIENT_CPU, ["docker", "-H", `unix://${socket}`, "run", "--rm", IMAGE, "true"]);
    const runOnce = () => {
      const r = spawnSync(dockerRun[0]!, dockerRun.slice(1), { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`docker run: ${r.status} ${r.stderr}`);
    };
    runOnce(); // warm-up: first container on a fresh daemon
    const pullSeconds = await failingPullSeconds(socket);

    // (a) the peer
    const peerDockerd0 = dockerdTicks(socket);
    const peerCli0 = reapedChildTicks();
    const peerRuns: number[] = [];
    const peerStart = performance.now();
    for (let i = 0; i < actions; i++) {
      const t0 = performance.now();
      runOnce();
      peerRuns.push((performance.now() - t0) / 1000);
    }
    const peerSeconds = (performance.now() - peerStart) / 1000;
    const peerCliCpu = (reapedChildTicks() - peerCli0) / clockTicks();
    const peerDockerdCpu = (dockerdTicks(socket) - peerDockerd0) / clockTicks();
    console.log(`docker run --rm: ${actions} in ${peerSeconds.toFixed(2)} s, ${(peerSeconds / actions).toFixed(3)} s each`);

    // (b) wisp-agent
    const grpcPort = freeTcpPort();
    const dataDir = join(dir, "wispd");
    const wispd = await startWispd(procs, dataDir, ["--grpc-port", String(grpcPort), "--agent-auth", "token"], "wispd ready");
    const agentToken = readFileSync(join(dataDir, "agent-token"), "utf8").trim();
    await applyAndWait(wispd, manifests(actions), "/healthz");
    const cmdline = join(dir, "cmdline");
    writeFileSync(cmdline, `console=ttyS0 worker_id=${MAC} grpc_authority=127.0.0.1:${grpcPort} wisp_agent_token=${agentToken}\n`);
    const wispd0 = treeTicks(wispd.pid);
    const dockerd0 = dockerdTicks(socket);
    const agentArgv = pinned(CLIENT_CPU, [binary, "--cmdline", cmdline, "--docker-socket", socket, "--state-file", join(dir, "state.json"), "--privileged", "false", "--log-level", "info"]);
    const agent = procs.add(spawn(agentArgv[0]!, agentArgv.slice(1), { stdio: ["ignore", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "" } }));
    const logs: Log[] = [];
    let buf = "";
    agent.stdout!.on("data", (c: Buffer) => {
      buf += c.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        try {
          logs.push(JSON.parse(buf.slice(0, nl)) as Log);
        } catch {
          // not JSON
        }
        buf = buf.slice(nl + 1);
      }
    });
    // Polled once a second: a tighter poll would itself cost wispd CPU and be counted against it.
    let state = "";
    for (const deadline = performance.now() + actions * 30_000; !["SUCCESS", "FAILED", "TIMEOUT"].includes(state); await Bun.sleep(STATE_POLL_MS)) {
      if (performance.now() > deadline) throw new Error(`the workflow did not end (state ${state})`);
      state = (await api(wispd, `/namespaces/${NS}/workflows/${NAME}`)).status.state;
    }
    const agentCpu = treeTicks(agent.pid!) / clockTicks();
    const wispdCpu = (treeTicks(wispd.pid) - wispd0) / clockTicks();
    const agentDockerdCpu = (dockerdTicks(socket) - dockerd0) / clockTicks();
    if (state !== "SUCCESS") throw new Error(`workflow ended ${state}`);
    const events = (await api(wispd, `/namespaces/${NS}/workflows/${NAME}/events`)) as { type: string; to?: string; at: string }[];
    const at = (to: string) => events.find((e) => e.type === "workflow.state" && e.to === to)?.at;
    const running = at("RUNNING");
    const success = at("SUCCESS");
    if (!running || !success) throw new Error(`no RUNNING/SUCCESS workflow events: ${JSON.stringify(events.slice(0, 5))}`);
    const agentSeconds = (Date.parse(success) - Date.parse(running)) / 1000;
    host.loadavgAfter = loadavg();

    const record: RunRecord = {
      date: new Date().toISOString(),
      command: `npx bun bench/agent/run.ts --actions ${actions}`,
      host,
      versions: { bun: versionOf(["npx", "bun", "--version"]), docker: versionOf(["docker", "-H", `unix://${socket}`, "version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}"]), busybox: versionOf(["busybox"]) },
      settings: { actions, image: IMAGE, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU },
      peer: { seconds: peerSeconds, perActionSeconds: peerSeconds / actions, medianRunSeconds: median(peerRuns), dockerCliCpuSeconds: peerCliCpu, dockerdCpuSeconds: peerDockerdCpu },
      agent: {
        seconds: agentSeconds,
        perActionSeconds: agentSeconds / actions,
        agentCpuSeconds: agentCpu,
        wispdCpuSeconds: wispdCpu,
        dockerdCpuSeconds: agentDockerdCpu,
        phasesSeconds: phases(logs),
      },
      ratio: agentSeconds / actions / (peerSeconds / actions),
      failingPullSeconds: pullSeconds,
    };
    writeResults("agent", record, markdown(record));
    console.log(`wisp-agent: ${actions} actions in ${agentSeconds.toFixed(2)} s, ${record.agent.perActionSeconds.toFixed(3)} s each; ratio ${record.ratio.toFixed(2)}`);
    console.log(JSON.stringify(record.agent, null, 2));
  } finally {
    await cleanup();
  }
}

type RunRecord = RunHeader & {
  settings: { actions: number; image: string; serverCpu: number; clientCpu: number };
  peer: { seconds: number; perActionSeconds: number; medianRunSeconds: number; dockerCliCpuSeconds: number; dockerdCpuSeconds: number };
  agent: { seconds: number; perActionSeconds: number; agentCpuSeconds: number; wispdCpuSeconds: number; dockerdCpuSeconds: number; phasesSeconds: Record<string, number> };
  ratio: number;
  failingPullSeconds: number;
};

function markdown(r: RunRecord): string {
  const f = (n: number, d = 3) => n.toFixed(d);
  const n = r.settings.actions;
  return `# wisp-agent: per-action overhead against \`docker run --rm\`

Generated by \`${r.command}\` on ${r.date}. Do not edit by hand.

Recipe: a private dockerd (\`test/support/docker.ts\`: temp data root, no bridge, no iptables) and an
image made by \`docker import\` of Debian's busybox-static with a \`true\` applet (\`${r.settings.image}\`; no registry).
(a) The peer: one warm-up, then ${n} sequential \`docker run --rm ${r.settings.image} true\` (docker CLI on CPU
${r.settings.clientCpu}), timed from before the first to after the last. (b) wispd (\`bin/wispd --agent-auth token\`,
PGlite in a temp dir, CPU ${r.settings.serverCpu}) with one Hardware, and one Workflow whose template has one task of ${n}
actions \`command: ["true"]\` on that image; the compiled agent (\`bun build --compile agent/main.ts\`, CPU
${r.settings.clientCpu}, \`--privileged false\`) started once the workflow is applied, timed from the workflow's
\`RUNNING\` event to its \`SUCCESS\` event (\`GET .../workflows/${NAME}/events\`). dockerd, containerd and the shims
are not pinned. CPU is utime + stime from /proc of each process tree (children included); the bench reads the workflow's
state through the API once a second meanwhile, which wispd's CPU includes.
**2 CPUs shared with other engineers' work**: absolute figures move from run to run.

## Summary

| | total s | per action s | ratio to docker run |
| --- | ---: | ---: | ---: |
| \`docker run --rm\` × ${n} | ${f(r.peer.seconds, 2)} | ${f(r.peer.perActionSeconds)} | 1.00 |
| wisp-agent, ${n} actions in one workflow | ${f(r.agent.seconds, 2)} | ${f(r.agent.perActionSeconds)} | ${f(r.ratio, 2)} |

Median single \`docker run --rm\`: ${f(r.peer.medianRunSeconds)} s.

## CPU (seconds, whole phase)

| | docker CLI | wisp-agent | wispd | dockerd + containerd + shims |
| --- | ---: | ---: | ---: | ---: |
| \`docker run --rm\` × ${n} | ${f(r.peer.dockerCliCpuSeconds, 2)} | - | - | ${f(r.peer.dockerdCpuSeconds, 2)} |
| wisp-agent | - | ${f(r.agent.agentCpuSeconds, 2)} | ${f(r.agent.wispdCpuSeconds, 2)} | ${f(r.agent.dockerdCpuSeconds, 2)} |

wisp-agent CPU includes its start-up and the whole life of the process until the workflow ended.

## Where the agent's time goes (from its log timestamps, summed over ${n} actions)

| phase (time since the previous log line) | seconds | per action |
| --- | ---: | ---: |
${Object.entries(r.agent.phasesSeconds).map(([k, v]) => `| ${k} | ${f(v, 2)} | ${f(v / n)} |`).join("\n")}

The agent pulls before every action (\`agent/runner.ts\`); when the pull fails and the image is
already present it goes on at once (retries, \`PULL_ATTEMPTS\` 1 s apart, only for a missing image).
No registry serves this imported image, so each pull fails once; one failing pull alone
(\`POST /images/create?fromImage=...\` on the same dockerd, median of 5) takes ${f(r.failingPullSeconds)} s.
\`docker run\` pulls only a missing image.

Conditions: ${machineLine(r.host)} Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.
`;
}

await main();
