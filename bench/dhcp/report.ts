/**
 * The benchmark's record (JSON) and its Markdown rendering. Every figure comes from the run's
 * record; the prose around the tables describes the method only.
 */
import type { Percentiles } from "./perfdhcp.ts";
import { MAX_LOSS_RATIO, passed, type RampLimit, type StepOutcome } from "./ramp.ts";

/** One measured step: perfdhcp at one offered rate against one server. */
export interface Step extends StepOutcome {
  periodSeconds: number;
  wallSeconds: number;
  started: number;
  completed: number;
  discoverOffer: { sent: number; received: number; avgMs?: number; maxMs?: number };
  requestAck: { sent: number; received: number; avgMs?: number; maxMs?: number };
  /** Sum of the two stages' average delays: the server's share of a DORA's latency. */
  doraAvgMs?: number;
  serverCpuSeconds: number;
  serverCpuUsPerDora?: number;
  generatorCpuSeconds: number;
  generatorCpuUsPerDora?: number;
  /** Busy share (0-1) of the server's and the generator's CPU over the step, all processes. */
  serverCoreBusy: number;
  generatorCoreBusy: number;
  /** UDP receive-buffer overflows during the step in each namespace. */
  serverRcvbufErrors: number;
  generatorRcvbufErrors: number;
  /** Seconds the server's threads were runnable but waiting for a CPU during the step (schedstat). */
  serverWaitSeconds?: number;
  percentiles?: { discoverOffer?: Percentiles; requestAck?: Percentiles };
}

/** One server's part of the run. */
export interface ServerResult {
  name: string;
  version: string;
  /** Seconds from spawn until bound and loaded with every reservation. */
  setupSeconds: number;
  /** Seconds from loaded until the first probe was fully answered. */
  readySeconds: number;
  /** Share of its CPU the server used with no DHCP traffic (after warm-up). */
  idleCpuShare?: number;
  steps: Step[];
  best?: Step;
  limit: RampLimit;
  latency?: Step;
  error?: string;
}

/** The whole record written to bench/results/dhcp.json. */
export interface RunRecord {
  date: string;
  hosts: number;
  periodSeconds: number;
  latencyRate: number;
  maxRate: number;
  quick: boolean;
  command: string;
  machine: {
    nproc: number;
    cpuModel: string;
    kernel: string;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
    /** Busy share of the two CPUs over an idle second before the run (other users' load). */
    idleBusyBefore: { serverCore: number; generatorCore: number };
    serverCpu: number;
    generatorCpu: number;
  };
  versions: Record<string, string>;
  /** Per server: its address and the relay address (giaddr) perfdhcp uses on its link; the client network. */
  topology: { links: Record<string, { server: string; relay: string }>; subnet: string };
  servers: ServerResult[];
  notes: string[];
}

const fmt = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(digits));
const pct = (n: number | undefined, digits = 1): string => (n === undefined ? "n/a" : `${(n * 100).toFixed(digits)} %`);
/** "own % + others %" of one CPU: a process's share and what the rest of the machine used of it. */
const shares = (own: number, busy: number): string => `${(own * 100).toFixed(0)} + ${(Math.max(0, busy - own) * 100).toFixed(0)} %`;
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? "n/a" : `${(a / b).toFixed(2)}`);

/** The highest rate at which every server that ran had a passing step, and each one's step there. */
export function commonRate(servers: readonly ServerResult[]): { rate: number; steps: Map<string, Step> } | undefined {
  const ran = servers.filter((s) => s.steps.length > 0);
  if (ran.length === 0) return undefined;
  const passing = ran.map((s) => new Map(s.steps.filter(passed).map((st) => [st.targetRate, st])));
  const rates = [...passing[0]!.keys()].filter((r) => passing.every((m) => m.has(r))).sort((a, b) => b - a);
  const rate = rates[0];
  if (rate === undefined) return undefined;
  return { rate, steps: new Map(ran.map((s, i) => [s.name, passing[i]!.get(rate)!])) };
}

/** The deciding (last) measurement at each rate, by rate. */
export function finalSteps(steps: readonly Step[]): Map<number, Step> {
  return new Map(steps.map((st) => [st.targetRate, st]));
}

/** Server CPU per DORA less what it spends idle over the same time: the cost of the traffic itself. */
export function aboveIdleUsPerDora(st: Step | undefined, idleShare: number | undefined): number | undefined {
  if (!st || idleShare === undefined || st.completed === 0) return undefined;
  return (Math.max(0, st.serverCpuSeconds - idleShare * st.wallSeconds) * 1e6) / st.completed;
}

/** Mean and highest share of a CPU used by other work than the measured process, over steps. */
export function otherLoad(steps: readonly Step[], which: "server" | "generator"): { mean: number; max: number } | undefined {
  if (steps.length === 0) return undefined;
  const others = steps.map((st) =>
    which === "server" ? Math.max(0, st.serverCoreBusy - st.serverCpuSeconds / st.wallSeconds) : Math.max(0, st.generatorCoreBusy - st.generatorCpuSeconds / st.wallSeconds),
  );
  return { mean: others.reduce((a, b) => a + b, 0) / others.length, max: Math.max(...others) };
}

// "Stopped by server" means perfdhcp offered the rate in full; the receive-buffer counters say
// whose socket overflowed, which is not always the server's (perfdhcp's is the kernel default).
function whereDropped(st: Step): string {
  if (st.serverRcvbufErrors === 0 && st.generatorRcvbufErrors === 0) return "";
  if (st.serverRcvbufErrors === 0) return ` (dropped by perfdhcp's receive buffer: ${st.generatorRcvbufErrors}, the server's: 0)`;
  if (st.generatorRcvbufErrors === 0) return ` (dropped by the server's receive buffer: ${st.serverRcvbufErrors})`;
  return ` (receive-buffer drops: server ${st.serverRcvbufErrors}, perfdhcp ${st.generatorRcvbufErrors})`;
}

function limitText(s: ServerResult): string {
  if (s.error) return `error: ${s.error}`;
  const fail = [...finalSteps(s.steps).values()].filter((st) => !passed(st)).sort((a, b) => a.targetRate - b.targetRate)[0];
  switch (s.limit) {
    case "server":
      return fail ? `server: ${pct(fail.lossRatio, 2)} lost at ${fail.targetRate}/s${whereDropped(fail)}` : "server";
    case "generator": {
      const top = [...s.steps].sort((a, b) => b.targetRate - a.targetRate)[0];
      return top ? `generator: offered ${fmt(top.offeredRate)} of ${top.targetRate}/s` : "generator";
    }
    case "max-rate":
      return "--max-rate reached";
  }
}

/** The summary table, the ratio table, latency percentiles and every step, in Markdown. */
export function resultTables(r: RunRecord): string {
  const out: string[] = [];
  const common = commonRate(r.servers);
  out.push(
    `| server | version | highest DORA/s with ≤ ${MAX_LOSS_RATIO * 100} % lost | stopped by | avg latency DO+RA (ms) | server CPU µs/DORA | of which above idle | server CPU share (idle) | generator CPU µs/DORA |${common ? ` server CPU µs/DORA at ${common.rate}/s |` : ""}`,
    `| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |${common ? " ---: |" : ""}`,
  );
  for (const s of r.servers) {
    const b = s.best;
    const share = b ? b.serverCpuSeconds / b.wallSeconds : undefined;
    const atCommon = common?.steps.get(s.name);
    out.push(
      `| ${s.name} | ${s.version} | ${fmt(b?.doraPerSecond)} | ${limitText(s)} | ${fmt(b?.doraAvgMs, 3)} | ${fmt(b?.serverCpuUsPerDora)} | ${fmt(aboveIdleUsPerDora(b, s.idleCpuShare))} | ${pct(share, 0)} (${pct(s.idleCpuShare, 1)}) | ${fmt(b?.generatorCpuUsPerDora)} |${common ? ` ${fmt(atCommon?.serverCpuUsPerDora)} |` : ""}`,
    );
  }

  const wispd = r.servers.find((s) => s.name === "wispd");
  const others = r.servers.filter((s) => s.name !== "wispd" && s.best);
  if (wispd?.best && others.length > 0) {
    out.push("", `| wispd / other | ${others.map((o) => o.name).join(" | ")} |`, `| --- |${others.map(() => " ---: |").join("")}`);
    out.push(`| highest DORA/s | ${others.map((o) => ratio(wispd.best!.doraPerSecond, o.best!.doraPerSecond)).join(" | ")} |`);
    out.push(`| server CPU per DORA, each at its highest rate | ${others.map((o) => ratio(wispd.best!.serverCpuUsPerDora, o.best!.serverCpuUsPerDora)).join(" | ")} |`);
    out.push(
      `| server CPU per DORA above idle, each at its highest rate | ${others.map((o) => ratio(aboveIdleUsPerDora(wispd.best, wispd.idleCpuShare), aboveIdleUsPerDora(o.best, o.idleCpuShare))).join(" | ")} |`,
    );
    if (common) {
      out.push(
        `| server CPU per DORA, all at ${common.rate}/s | ${others.map((o) => ratio(common.steps.get("wispd")?.serverCpuUsPerDora, common.steps.get(o.name)?.serverCpuUsPerDora)).join(" | ")} |`,
      );
    }
  }

  const withLatency = r.servers.filter((s) => s.latency?.percentiles);
  if (withLatency.length > 0) {
    out.push(
      "",
      `Latency at ${r.latencyRate} DORA/s offered (perfdhcp \`-x t\` timestamps, milliseconds; DO = DISCOVER→OFFER, RA = REQUEST→ACK):`,
      "",
      "| server | lost | DO p50 | DO p90 | DO p99 | RA p50 | RA p90 | RA p99 | DO max | RA max |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const s of withLatency) {
      const l = s.latency!;
      const d = l.percentiles?.discoverOffer;
      const a = l.percentiles?.requestAck;
      out.push(
        `| ${s.name} | ${pct(l.lossRatio, 2)} | ${fmt(d?.p50, 3)} | ${fmt(d?.p90, 3)} | ${fmt(d?.p99, 3)} | ${fmt(a?.p50, 3)} | ${fmt(a?.p90, 3)} | ${fmt(a?.p99, 3)} | ${fmt(l.discoverOffer.maxMs, 3)} | ${fmt(l.requestAck.maxMs, 3)} |`,
      );
    }
  }

  out.push(
    "",
    "Every step, in order (offered = DISCOVERs sent per second; a rate listed twice was measured again after failing; CPU 0/1 = share of that CPU used by the server/perfdhcp + by everything else, from /proc; rcvbuf = UDP receive-buffer overflows in the server/generator namespace; server waited = seconds its threads were runnable but waiting for a CPU, from schedstat):",
    "",
    "| server | asked/s | offered/s | DORA/s | lost | DO+RA avg ms | server µs/DORA | generator µs/DORA | server CPU: server + other | generator CPU: perfdhcp + other | rcvbuf srv/gen | server waited s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const s of r.servers) {
    for (const st of s.steps) {
      out.push(
        `| ${s.name} | ${st.targetRate} | ${fmt(st.offeredRate)} | ${fmt(st.doraPerSecond)} | ${pct(st.lossRatio, 2)} | ${fmt(st.doraAvgMs, 3)} | ${fmt(st.serverCpuUsPerDora)} | ${fmt(st.generatorCpuUsPerDora)} | ${shares(st.serverCpuSeconds / st.wallSeconds, st.serverCoreBusy)} | ${shares(st.generatorCpuSeconds / st.wallSeconds, st.generatorCoreBusy)} | ${st.serverRcvbufErrors}/${st.generatorRcvbufErrors} | ${fmt(st.serverWaitSeconds, 2)} |`,
      );
    }
  }
  return out.join("\n");
}

/** The run's conditions: machine, load, versions. */
export function conditions(r: RunRecord): string {
  const m = r.machine;
  const steps = r.servers.flatMap((s) => [...s.steps, ...(s.latency ? [s.latency] : [])]);
  const srv = otherLoad(steps, "server");
  const gen = otherLoad(steps, "generator");
  const during = srv && gen ? `; during the steps, other work used CPU ${m.serverCpu} ${pct(srv.mean, 0)} on average (up to ${pct(srv.max, 0)}), CPU ${m.generatorCpu} ${pct(gen.mean, 0)} (up to ${pct(gen.max, 0)})` : "";
  return [
    `- date: ${r.date}`,
    `- machine: ${m.nproc} CPUs, ${m.cpuModel}, Linux ${m.kernel}; server pinned to CPU ${m.serverCpu}, perfdhcp to CPU ${m.generatorCpu}`,
    `- load average before / after: ${m.loadAverageBefore.map((n) => n.toFixed(2)).join(" ")} / ${m.loadAverageAfter.map((n) => n.toFixed(2)).join(" ")}; busy before the run (other users): CPU ${m.serverCpu} ${pct(m.idleBusyBefore.serverCore, 0)}, CPU ${m.generatorCpu} ${pct(m.idleBusyBefore.generatorCore, 0)}${during}`,
    `- versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `- ${r.hosts} reservations, ${r.periodSeconds} s per step${r.quick ? " (--quick: a smoke run, not a measurement)" : ""}; command: \`${r.command}\``,
    ...r.notes.map((n) => `- ${n}`),
  ].join("\n");
}

/** The whole docs/benchmarks/dhcp.md: method, recipe, then this run's conditions and tables. */
export function markdown(r: RunRecord, method: string): string {
  return [method.trim(), "", "## Last run", "", conditions(r), "", resultTables(r), ""].join("\n");
}
