/**
 * Simulated agents for bench/grpc/run.ts, one process (pinned by the caller): each agent has its
 * own channel (as each machine has) and loops as wisp-agent and tink-agent do: GetAction; on OK
 * report RUNNING then SUCCESS and ask again at once; on NOT_FOUND or FAILED_PRECONDITION back off
 * 1 s -> 5 s with jitter (agent/backoff.ts). In `work` mode an agent stops after `actions`
 * successes (its workflow is over); in `idle` mode agents poll for `seconds`. Prints
 * `window start` / `window end` lines for the caller's CPU sampling, then one JSON result line.
 *
 *   bun bench/grpc/load.ts --address H:P --token T --macs m1,m2,... --mode work|idle [--actions 3] [--seconds 30] [--window-after 10]
 */
import { status } from "@grpc/grpc-js";
import { parseArgs } from "node:util";
import { Backoff } from "../../agent/backoff.ts";
import { agentClient, statusFor, timestamp, type AgentClient } from "../../test/grpc/agent-client.ts";

/** Latencies (ms) of one kind of call, and how it ended. */
class Calls {
  readonly ms: number[] = [];
  readonly codes: Record<string, number> = {};
  add(ms: number, code: status): void {
    this.ms.push(ms);
    this.codes[status[code]] = (this.codes[status[code]] ?? 0) + 1;
  }
}

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    token: { type: "string" },
    macs: { type: "string" },
    mode: { type: "string", default: "work" },
    actions: { type: "string", default: "3" },
    seconds: { type: "string", default: "30" },
    "window-after": { type: "string", default: "10" },
    stagger: { type: "string", default: "1000" },
  },
});
const macs = values.macs!.split(",");
const work = values.mode === "work";
const actions = Number(values.actions);
const endAt = performance.now() + Number(values.seconds) * 1000;
const windowAfterMs = Number(values["window-after"]) * 1000;

const calls = { getActionOk: new Calls(), getActionIdle: new Calls(), report: new Calls(), other: new Calls() };
const errors: string[] = [];
let inWindow = false;
let windowCalls = 0;
const started = performance.now();
let lastSuccessMs = 0;
let workflowsDone = 0;

async function timed(c: AgentClient, fn: (c: AgentClient) => ReturnType<AgentClient["getAction"]>) {
  const t0 = performance.now();
  const r = await fn(c);
  if (inWindow) windowCalls++;
  return { r, ms: performance.now() - t0 };
}

async function agent(mac: string): Promise<void> {
  const client = agentClient(values.address!, { token: values.token });
  const backoff = new Backoff();
  let done = 0;
  await Bun.sleep(Math.random() * Number(values.stagger)); // machines do not all boot in the same millisecond
  try {
    while (work ? done < actions : performance.now() < endAt) {
      const { r, ms } = await timed(client, (c) => c.getAction({ agentId: mac }));
      if (r.code === status.NOT_FOUND || r.code === status.FAILED_PRECONDITION) {
        calls.getActionIdle.add(ms, r.code);
        await Bun.sleep(backoff.next());
        continue;
      }
      if (r.code !== status.OK) {
        calls.other.add(ms, r.code);
        errors.push(`${mac} GetAction ${status[r.code]}: ${r.details}`);
        await Bun.sleep(backoff.next());
        continue;
      }
      calls.getActionOk.add(ms, r.code);
      backoff.reset();
      const action = r.value!;
      const begun = new Date();
      for (const state of ["RUNNING", "SUCCESS"]) {
        const extra = state === "SUCCESS" ? { executionStart: timestamp(begun), executionStop: timestamp(new Date()), executionDuration: "0s", message: { message: "ok" } } : {};
        const rep = await timed(client, (c) => c.reportActionStatus(statusFor(action, state, extra)));
        calls.report.add(rep.ms, rep.r.code);
        if (rep.r.code !== status.OK) errors.push(`${mac} ReportActionStatus ${state} ${status[rep.r.code]}: ${rep.r.details}`);
      }
      done++;
      if (done === actions) {
        workflowsDone++;
        lastSuccessMs = performance.now() - started;
      }
    }
  } finally {
    client.close();
  }
}

if (!work) {
  setTimeout(() => {
    inWindow = true;
    console.log("window start");
  }, windowAfterMs);
  setTimeout(() => {
    inWindow = false;
    console.log("window end");
  }, endAt - performance.now());
}
const windowSeconds = work ? 0 : Number(values.seconds) - windowAfterMs / 1000;
await Promise.all(macs.map(agent));

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const summary = (c: Calls) => ({ count: c.ms.length, p50Ms: pct(c.ms, 50), p99Ms: pct(c.ms, 99), maxMs: pct(c.ms, 100), codes: c.codes });
console.log(
  JSON.stringify({
    agents: macs.length,
    seconds: (performance.now() - started) / 1000,
    lastSuccessSeconds: lastSuccessMs / 1000,
    workflowsDone,
    windowCalls,
    windowSeconds,
    getActionOk: summary(calls.getActionOk),
    getActionIdle: summary(calls.getActionIdle),
    report: summary(calls.report),
    other: summary(calls.other),
    errors: errors.slice(0, 20),
    errorCount: errors.length,
  }),
);
process.exit(0);
