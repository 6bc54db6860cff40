/**
 * The workflow service under many agents: a real wispd (`--agent-auth token`, PGlite in a temp
 * dir) on CPU 0 with N workflows, each for its own Hardware/MAC, from one 3-action template
 * (applied in batches through the API); simulated agents (bench/grpc/load.ts, two processes on
 * CPU 1, one gRPC channel per agent) loop GetAction -> RUNNING -> SUCCESS until their workflow
 * ends, backing off 1 s -> 5 s on NOT_FOUND like tink-agent. Measures requests/s, p50/p99 per
 * RPC, wispd CPU per request (/proc), errors and the time until every workflow ended; then an
 * idle phase (agents with no workflow polling and getting NOT_FOUND). Writes
 * docs/benchmarks/grpc.md and bench/results/grpc.json.
 *
 *   npx bun bench/grpc/run.ts [--workflows 1000] [--idle-agents 1000] [--idle-seconds 40] [--batch 100]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { clockTicks, treeTicks } from "../support/cpu.ts";
import { CLIENT_CPU, needTwoCpus, pinned, SERVER_CPU } from "../support/pinning.ts";
import { benchRun, freeTcpPort, ProcessSet, versionOf, waitUntil } from "../support/processes.ts";
import { machine, machineLine, writeResults, type RunHeader } from "../support/results.ts";
import { startWispd, type Wispd } from "../support/wispd.ts";

const NS = "bench-grpc";
const TEMPLATE = "three-actions";
/** Load generator processes (all on CLIENT_CPU). */
const LOADERS = 2;
const ACTIONS = 3;
/** How long wispd's CPU is read with no agent calling. */
const QUIET_SECONDS = 10;

const mac = (prefix: number, i: number) => `02:00:${prefix.toString(16).padStart(2, "0")}:${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;

const template = {
  apiVersion: "tinkerbell.org/v1alpha1",
  kind: "Template",
  metadata: { name: TEMPLATE, namespace: NS },
  spec: {
    data: `version: "0.1"\nname: ${TEMPLATE}\nglobal_timeout: 3600\ntasks:\n  - name: os\n    worker: "{{.device_1}}"\n    actions:\n${["wipe", "image", "configure"].map((a) => `      - name: ${a}\n        image: quay.io/tinkerbell/actions/${a}:latest\n        timeout: 600\n        environment: { DEST_DISK: /dev/sda }`).join("\n")}\n`,
  },
};

function machineDocs(i: number): object[] {
  const name = `m${i}`;
  return [
    { apiVersion: "tinkerbell.org/v1alpha1", kind: "Hardware", metadata: { name, namespace: NS }, spec: { interfaces: [{ dhcp: { mac: mac(0, i), hostname: name, arch: "x86_64" }, netboot: { allowPXE: true, allowWorkflow: true } }] } },
    { apiVersion: "tinkerbell.org/v1alpha1", kind: "Workflow", metadata: { name, namespace: NS }, spec: { templateRef: TEMPLATE, hardwareRef: name, hardwareMap: { device_1: mac(0, i) } } },
  ];
}

async function apply(wispd: Wispd, documents: object[]): Promise<void> {
  const r = await fetch(`${wispd.url}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${wispd.token}`, "content-type": "application/json" },
    body: JSON.stringify({ sources: documents.map((d, i) => ({ name: `bench-${i}.json`, text: JSON.stringify(d) })) }),
  });
  if (r.status !== 200) throw new Error(`apply: HTTP ${r.status}: ${await r.text()}`);
}

async function workflowStates(wispd: Wispd): Promise<Record<string, number>> {
  const r = await fetch(`${wispd.url}/api/v1/namespaces/${NS}/workflows`, { headers: { authorization: `Bearer ${wispd.token}` } });
  if (r.status !== 200) throw new Error(`list workflows: HTTP ${r.status}`);
  const body = (await r.json()) as { items?: { status?: { state?: string } }[] } | { status?: { state?: string } }[];
  const items = Array.isArray(body) ? body : (body.items ?? []);
  const out: Record<string, number> = {};
  for (const w of items) out[w.status?.state ?? "?"] = (out[w.status?.state ?? "?"] ?? 0) + 1;
  return out;
}

interface LoadResult {
  agents: number;
  seconds: number;
  lastSuccessSeconds: number;
  workflowsDone: number;
  windowCalls: number;
  windowSeconds: number;
  getActionOk: CallSummary;
  getActionIdle: CallSummary;
  report: CallSummary;
  other: CallSummary;
  errors: string[];
  errorCount: number;
}
interface CallSummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  codes: Record<string, number>;
}

/** Starts LOADERS load generators over `macs`; `onLine` sees their non-JSON lines; resolves to their results. */
function runLoad(procs: ProcessSet, args: string[], macs: string[], onLine: (line: string) => void): Promise<LoadResult[]> {
  const per = Math.ceil(macs.length / LOADERS);
  const runs: Promise<LoadResult>[] = [];
  for (let k = 0; k < LOADERS; k++) {
    const part = macs.slice(k * per, (k + 1) * per);
    if (part.length === 0) continue;
    const argv = pinned(CLIENT_CPU, [process.execPath, join(import.meta.dir, "load.ts"), ...args, "--macs", part.join(",")]);
    const proc: ChildProcess = procs.add(spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] }));
    runs.push(
      new Promise((resolve, reject) => {
        let buf = "";
        let result: LoadResult | undefined;
        proc.stdout!.on("data", (c: Buffer) => {
          buf += c.toString("utf8");
          for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.startsWith("{")) result = JSON.parse(line) as LoadResult;
            else if (k === 0) onLine(line);
          }
        });
        proc.on("exit", (code) => (result ? resolve(result) : reject(new Error(`load generator exited ${code} without a result`))));
      }),
    );
  }
  return Promise.all(runs);
}

/** Merges the load generators' summaries of one call kind: counts add; percentiles are the worst of the two (each has half the agents). */
function merge(rs: LoadResult[], pick: (r: LoadResult) => CallSummary): CallSummary {
  const codes: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(pick(r).codes)) codes[k] = (codes[k] ?? 0) + v;
  const worst = (f: (c: CallSummary) => number) => Math.max(...rs.map((r) => f(pick(r))).filter((x) => !Number.isNaN(x)));
  return { count: rs.reduce((a, r) => a + pick(r).count, 0), p50Ms: worst((c) => c.p50Ms), p99Ms: worst((c) => c.p99Ms), maxMs: worst((c) => c.maxMs), codes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workflows: { type: "string", default: "1000" },
      "idle-agents": { type: "string", default: "1000" },
      "idle-seconds": { type: "string", default: "40" },
      batch: { type: "string", default: "100" },
    },
  });
  const n = Number(values.workflows);
  const idleAgents = Number(values["idle-agents"]);
  const idleSeconds = Number(values["idle-seconds"]);
  const batch = Number(values.batch);
  needTwoCpus();

  const { dir, procs, cleanup } = benchRun("grpc");
  try {
    const host = machine();
    const grpcPort = freeTcpPort();
    const dataDir = join(dir, "wispd");
    const wispd = await startWispd(procs, dataDir, ["--grpc-port", String(grpcPort), "--agent-auth", "token"], "wispd ready");
    const token = readFileSync(join(dataDir, "agent-token"), "utf8").trim();
    const address = `127.0.0.1:${grpcPort}`;
    const ticks = () => treeTicks(wispd.pid) / clockTicks();

    // Apply: the template, then machines in batches.
    const applyStart = performance.now();
    const applyCpu0 = ticks();
    await apply(wispd, [template]);
    for (let i = 0; i < n; i += batch) await apply(wispd, Array.from({ length: Math.min(batch, n - i) }, (_, j) => machineDocs(i + j)).flat());
    await waitUntil("workflows did not all become PENDING", async () => (await workflowStates(wispd)).PENDING === n, 300_000);
    const applySeconds = (performance.now() - applyStart) / 1000;
    const applyCpu = ticks() - applyCpu0;
    console.log(`applied ${n} workflows in ${applySeconds.toFixed(1)} s`);

    // wispd's own background CPU with no agent calling (timers, sweeps), to read the phases against.
    const quiet0 = ticks();
    const quietT0 = performance.now();
    await Bun.sleep(QUIET_SECONDS * 1000);
    const quiet = { seconds: (performance.now() - quietT0) / 1000, wispdCpuSeconds: ticks() - quiet0 };

    // Work phase.
    const workMacs = Array.from({ length: n }, (_, i) => mac(0, i));
    const workCpu0 = ticks();
    const workStart = performance.now();
    const work = await runLoad(procs, ["--address", address, "--token", token, "--mode", "work", "--actions", String(ACTIONS)], workMacs, () => {});
    const workSeconds = (performance.now() - workStart) / 1000;
    const workCpu = ticks() - workCpu0;
    const finalStates = await workflowStates(wispd);
    const workRequests = work.reduce((a, r) => a + r.getActionOk.count + r.getActionIdle.count + r.report.count + r.other.count, 0);
    const workErrors = work.reduce((a, r) => a + r.errorCount, 0);
    console.log(`work: ${workRequests} requests in ${workSeconds.toFixed(1)} s, states ${JSON.stringify(finalStates)}, errors ${workErrors}`);

    // Idle phase: agents with no workflow.
    const idleMacs = Array.from({ length: idleAgents }, (_, i) => mac(1, i));
    const windowAfter = Math.min(15, Math.floor(idleSeconds / 2));
    let windowCpu0 = NaN;
    let windowCpu = NaN;
    let windowT0 = 0;
    let windowWall = NaN;
    const idle = await runLoad(procs, ["--address", address, "--token", token, "--mode", "idle", "--seconds", String(idleSeconds), "--window-after", String(windowAfter)], idleMacs, (line) => {
      if (line === "window start") {
        windowCpu0 = ticks();
        windowT0 = performance.now();
      } else if (line === "window end") {
        windowCpu = ticks() - windowCpu0;
        windowWall = (performance.now() - windowT0) / 1000;
      }
    });
    const idleWindowCalls = idle.reduce((a, r) => a + r.windowCalls, 0);
    host.loadavgAfter = loadavg();
    const actionIndex = await actionIndexCounters(wispd);

    const record: RunRecord = {
      date: new Date().toISOString(),
      command: `npx bun bench/grpc/run.ts --workflows ${n} --idle-agents ${idleAgents} --idle-seconds ${idleSeconds} --batch ${batch}`,
      host,
      versions: { bun: versionOf(["npx", "bun", "--version"]), "@grpc/grpc-js": JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "node_modules", "@grpc", "grpc-js", "package.json"), "utf8")).version },
      settings: { workflows: n, actionsPerWorkflow: ACTIONS, batch, idleAgents, idleSeconds, idleWindowAfterSeconds: windowAfter, loadGenerators: LOADERS, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU, store: "PGlite" },
      apply: { seconds: applySeconds, wispdCpuSeconds: applyCpu },
      quiet,
      work: {
        seconds: workSeconds,
        lastWorkflowEndedSeconds: Math.max(...work.map((r) => r.lastSuccessSeconds)),
        workflowsDone: work.reduce((a, r) => a + r.workflowsDone, 0),
        finalStates,
        ...serverLoad(workRequests, workSeconds, workCpu),
        getActionOk: merge(work, (r) => r.getActionOk),
        getActionNotFound: merge(work, (r) => r.getActionIdle),
        report: merge(work, (r) => r.report),
        other: merge(work, (r) => r.other),
        errors: workErrors,
        errorSamples: work.flatMap((r) => r.errors).slice(0, 10),
      },
      actionIndex,
      idle: {
        windowSeconds: windowWall,
        ...serverLoad(idleWindowCalls, windowWall, windowCpu),
        getAction: merge(idle, (r) => r.getActionIdle),
        other: merge(idle, (r) => r.other),
        errors: idle.reduce((a, r) => a + r.errorCount, 0),
      },
    };
    writeResults("grpc", record, markdown(record));
    console.log(JSON.stringify({ apply: record.apply, quiet, work: record.work, idle: record.idle }, null, 2));
  } finally {
    await cleanup();
  }
}

/** Requests served in a phase and what they cost wispd. */
type ServerLoad = { requests: number; requestsPerSecond: number; wispdCpuSeconds: number; wispdCpuShare: number; wispdCpuMsPerRequest: number };

/** `requests` answered in `seconds` of wall time with `cpuSeconds` of wispd's CPU: rates and shares. */
function serverLoad(requests: number, seconds: number, cpuSeconds: number): ServerLoad {
  return { requests, requestsPerSecond: requests / seconds, wispdCpuSeconds: cpuSeconds, wispdCpuShare: cpuSeconds / seconds, wispdCpuMsPerRequest: (cpuSeconds * 1000) / requests };
}

type RunRecord = RunHeader & {
  settings: { workflows: number; actionsPerWorkflow: number; batch: number; idleAgents: number; idleSeconds: number; idleWindowAfterSeconds: number; loadGenerators: number; serverCpu: number; clientCpu: number; store: string };
  apply: { seconds: number; wispdCpuSeconds: number };
  quiet: { seconds: number; wispdCpuSeconds: number };
  work: ServerLoad & {
    seconds: number;
    lastWorkflowEndedSeconds: number;
    workflowsDone: number;
    finalStates: Record<string, number>;
    getActionOk: CallSummary;
    getActionNotFound: CallSummary;
    report: CallSummary;
    other: CallSummary;
    errors: number;
    errorSamples: string[];
  };
  /** GetAction answers from memory and from the store over the whole run (wispd's /metrics); absent before the index. */
  actionIndex?: { hits: number; misses: number };
  idle: ServerLoad & { windowSeconds: number; getAction: CallSummary; other: CallSummary; errors: number };
};

/** Figures of a run without the index. */
interface BeforeRun {
  date: string;
  /** Where they come from and how the machine was. */
  source: string;
  workRequestsPerSecond: number;
  workCpuMsPerRequest: number;
  workSeconds: number;
  workErrors: number;
  getActionOkP50Ms: number;
  getActionOkP99Ms: number;
  idleRequestsPerSecond: number;
  idleCpuMsPerRequest: number;
  idleCpuShare: number;
  idleErrors: number;
  idleP50Ms: number;
  idleP99Ms: number;
}

/**
 * Runs without daemon/core/action-index.ts, by --workflows: the last committed result before it
 * (1000), and the same bench run from a copy of the tree before it (commit 171396e) right before
 * a run with it, on the same busy machine (200).
 */
const BEFORE: Record<number, BeforeRun> = {
  1000: {
    date: "2026-11-22T06:31:24Z",
    source: "bench/results/grpc.json as committed before the index (load average 0.5-0.9)",
    workRequestsPerSecond: 356.7,
    workCpuMsPerRequest: 2.75,
    workSeconds: 25.2,
    workErrors: 0,
    getActionOkP50Ms: 2399.3,
    getActionOkP99Ms: 4258.9,
    idleRequestsPerSecond: 200.3,
    idleCpuMsPerRequest: 2.01,
    idleCpuShare: 0.402,
    idleErrors: 0,
    idleP50Ms: 12.3,
    idleP99Ms: 1039.5,
  },
  200: {
    date: "2026-11-22T07:34:39Z",
    source: "commit 171396e's tree, run just before this one (load average 16-19: other engineers' benches and tests)",
    workRequestsPerSecond: 21.5,
    workCpuMsPerRequest: 7.42,
    workSeconds: 116.0,
    workErrors: 1353,
    getActionOkP50Ms: 6861.3,
    getActionOkP99Ms: 10018.4,
    idleRequestsPerSecond: 77.7,
    idleCpuMsPerRequest: 2.69,
    idleCpuShare: 0.209,
    idleErrors: 3147,
    idleP50Ms: 7063.0,
    idleP99Ms: 9974.1,
  },
};

/** wispd's GetAction index counters (wisp_action_index_hits_total, ..._misses_total) from /metrics. */
async function actionIndexCounters(wispd: Wispd): Promise<{ hits: number; misses: number } | undefined> {
  const text = await (await fetch(`${wispd.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  const hits = read("wisp_action_index_hits_total");
  const misses = read("wisp_action_index_misses_total");
  return Number.isFinite(hits) && Number.isFinite(misses) ? { hits, misses } : undefined;
}

function beforeTable(r: RunRecord, f: (x: number, d?: number) => string): string {
  const b = BEFORE[r.settings.workflows];
  if (!b) return `\nNo run without the index with --workflows ${r.settings.workflows} to compare with.\n`;
  return `"Before": ${b.source}, ${b.date}, same command.

| | before | this run |
| --- | ---: | ---: |
| work: requests/s | ${f(b.workRequestsPerSecond, 0)} | ${f(r.work.requestsPerSecond, 0)} |
| work: wispd CPU per request | ${f(b.workCpuMsPerRequest, 2)} ms | ${f(r.work.wispdCpuMsPerRequest, 2)} ms |
| work: time until every workflow ended | ${f(b.workSeconds)} s | ${f(r.work.seconds)} s |
| work: GetAction served, p50 / p99 | ${f(b.getActionOkP50Ms, 0)} / ${f(b.getActionOkP99Ms, 0)} ms | ${f(r.work.getActionOk.p50Ms, 0)} / ${f(r.work.getActionOk.p99Ms, 0)} ms |
| work: errors (calls past their 10 s deadline) | ${b.workErrors} | ${r.work.errors} |
| idle: NOT_FOUND polls/s | ${f(b.idleRequestsPerSecond, 0)} | ${f(r.idle.requestsPerSecond, 0)} |
| idle: wispd CPU per NOT_FOUND poll | ${f(b.idleCpuMsPerRequest, 2)} ms | ${f(r.idle.wispdCpuMsPerRequest, 2)} ms |
| idle: wispd CPU share of one core | ${f(b.idleCpuShare * 100, 1)} % | ${f(r.idle.wispdCpuShare * 100, 1)} % |
| idle: GetAction NOT_FOUND p50 / p99 | ${f(b.idleP50Ms, 1)} / ${f(b.idleP99Ms, 0)} ms | ${f(r.idle.getAction.p50Ms, 1)} / ${f(r.idle.getAction.p99Ms, 0)} ms |
| idle: errors | ${b.idleErrors} | ${r.idle.errors} |
${r.actionIndex ? `\nGetAction over the whole run (wispd's \`wisp_action_index_hits_total\` and \`..._misses_total\`): ${r.actionIndex.hits} answered from memory, ${r.actionIndex.misses} from the store.\n` : ""}`;
}

function markdown(r: RunRecord): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
  const s = r.settings;
  const row = (name: string, c: CallSummary) => `| ${name} | ${c.count} | ${f(c.p50Ms, 2)} | ${f(c.p99Ms, 2)} | ${f(c.maxMs, 2)} | ${Object.entries(c.codes).map(([k, v]) => `${k} ${v}`).join(", ") || "-"} |`;
  return `# Workflow service (gRPC) under ${s.workflows} simulated agents

Generated by \`${r.command}\` on ${r.date}. Do not edit by hand.

Recipe: wispd (\`bin/wispd --agent-auth token\`, ${s.store} in a temp dir, log level info) on CPU ${s.serverCpu}. One
Template of ${s.actionsPerWorkflow} actions, then ${s.workflows} Hardware + Workflow pairs (each its own MAC) applied through
\`POST /api/v1/apply\` in batches of ${s.batch} machines, waited on until every workflow is PENDING. Then
${s.workflows} simulated agents (\`bench/grpc/load.ts\`, ${s.loadGenerators} Bun processes on CPU ${s.clientCpu}, one gRPC channel
per agent, token in the metadata, messages built from \`daemon/grpc/workflow.proto\` by
\`test/grpc/agent-client.ts\`) start within 1 s of each other and loop \`GetAction\` -> \`ReportActionStatus\`
RUNNING -> SUCCESS (no container: the server's cost only), asking again at once after a success and
backing off 1 s -> 5 s with ±10 % jitter (\`agent/backoff.ts\`, tink-agent's schedule) on NOT_FOUND or
FAILED_PRECONDITION, until their ${s.actionsPerWorkflow} actions are done. No peer implementation runs here:
the figures are absolute. Latency is per call as the load generator sees it (two load processes
share one CPU, so their event loops add to it); p50/p99 of the two processes are merged as the
worse of the two. wispd CPU is utime + stime of its process tree from /proc.
Idle phase: ${s.idleAgents} agents whose MACs have no workflow poll for ${s.idleSeconds} s (all get NOT_FOUND and
settle at one call per ~5 s each); figures over the last ${s.idleSeconds - s.idleWindowAfterSeconds} s, once the back-off has reached its cap.
**2 CPUs shared with other engineers' work**: absolute figures move from run to run.

## Summary

| | figure |
| --- | ---: |
| apply ${s.workflows} machines (batches of ${s.batch}) until all PENDING | ${f(r.apply.seconds)} s, wispd CPU ${f(r.apply.wispdCpuSeconds)} s |
| no agents calling (${f(r.quiet.seconds)} s after apply): wispd CPU | ${f(r.quiet.wispdCpuSeconds, 2)} s (${f((r.quiet.wispdCpuSeconds / r.quiet.seconds) * 100, 1)} % of one core) |
| work: time until every workflow ended | ${f(r.work.seconds)} s (last SUCCESS acknowledged at ${f(r.work.lastWorkflowEndedSeconds)} s) |
| work: workflows ended (load generator / API states) | ${r.work.workflowsDone} / ${Object.entries(r.work.finalStates).map(([k, v]) => `${k} ${v}`).join(", ")} |
| work: requests, requests/s | ${r.work.requests}, ${f(r.work.requestsPerSecond, 0)} |
| work: wispd CPU (share of one core), per request | ${f(r.work.wispdCpuSeconds)} s (${f(r.work.wispdCpuShare * 100, 0)} %), ${f(r.work.wispdCpuMsPerRequest, 2)} ms |
| work: errors | ${r.work.errors} |
| idle: requests/s (NOT_FOUND polls) | ${f(r.idle.requestsPerSecond, 0)} (${r.idle.requests} in ${f(r.idle.windowSeconds)} s) |
| idle: wispd CPU (share of one core), per request | ${f(r.idle.wispdCpuSeconds, 2)} s (${f(r.idle.wispdCpuShare * 100, 1)} %), ${f(r.idle.wispdCpuMsPerRequest, 2)} ms |
| idle: errors | ${r.idle.errors} |

## Calls (work phase)

| call | count | p50 ms | p99 ms | max ms | codes |
| --- | ---: | ---: | ---: | ---: | --- |
${row("GetAction served an action", r.work.getActionOk)}
${row("GetAction, nothing to run (back-off)", r.work.getActionNotFound)}
${row("ReportActionStatus (RUNNING and SUCCESS)", r.work.report)}
${row("GetAction, other outcome", r.work.other)}

## Calls (idle phase, whole run)

| call | count | p50 ms | p99 ms | max ms | codes |
| --- | ---: | ---: | ---: | ---: | --- |
${row("GetAction NOT_FOUND", r.idle.getAction)}
${row("GetAction, other outcome", r.idle.other)}
## Before and after the in-memory GetAction index

\`daemon/core/action-index.ts\` (since 2026-11-22) answers GetAction from memory: each agent's last answer is kept until
a \`wisp_workflow\` notification (a trigger on workflows, workflow_tasks and workflow_actions, migration
\`0003_workflow_notify\`) or a write in this process names its worker. Reports still run the transaction.
${beforeTable(r, f)}
Where wispd's time went before (a separate profiling run, by hand): \`bun --cpu-prof-md daemon/main.ts ...\` (same
flags, CPU 0) under \`bench/grpc/load.ts --mode idle\` with 1000 agents for 20 s: about 72 % of wispd's samples sat
under PGlite (the WASM PostgreSQL running in wispd's own thread: each GetAction was one join query, and a NOT_FOUND
a second one), about 8-10 % in drizzle building the SQL text again on every call, and most of the rest in the
HTTP/2 and gRPC layers. In the work phase every report still changes the store (and so forgets that agent's
answer): there the index saves the re-reads of agents that poll while their action runs, not the transactions.
${r.work.errorSamples.length ? `\nFirst errors: ${r.work.errorSamples.map((e) => `\`${e}\``).join("; ")}\n` : ""}
Conditions: ${machineLine(r.host)} Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.
`;
}

await main();
