/**
 * wisp.v1.ActionLogs through the wire, on both stores: lines pushed by a client built from
 * wisp_logs.proto land in the store once (a retried batch is not duplicated), only from the
 * action's worker for its current (or just finished) action, within the bounds, behind the agent
 * token; and the API reads them back as JSON lines.
 */
import { status } from "@grpc/grpc-js";
import { expect, test } from "bun:test";
import { createApi } from "../../daemon/api/server.ts";
import { WORKFLOW_STATE_HEADER } from "../../daemon/api/workflow-log-routes.ts";
import type { Core } from "../../daemon/core/types.ts";
import type { AgentAuth } from "../../daemon/grpc/auth.ts";
import { MAX_LOG_BATCH_LINES, MAX_PUSHED_LINE_CHARS } from "../../daemon/grpc/log-policy.ts";
import { startGrpcServer } from "../../daemon/grpc/server.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { machineYaml, manifests, testClock, testCore } from "../support/core.ts";
import { forEachStore, type StoreContext } from "../support/stores.ts";
import { agentClient, statusFor, type AgentClient } from "./agent-client.ts";
import { logsTestClient, type LogsTestClient } from "./logs-client.ts";

const MAC = "1c:69:7a:11:22:33";
const OTHER = "1c:69:7a:99:99:99";
const TOKEN = "agent-secret";
const API_TOKEN = "api-secret";

const BODY = `version: "0.1"
name: logs
global_timeout: 600
tasks:
  - name: install
    worker: "{{.device_1}}"
    actions:
      - name: stream
        image: alpine
        retries: 1
      - name: reboot
        image: alpine`;

interface Service {
  agent: AgentClient;
  logs: LogsTestClient;
  core: Core;
  address: string;
}

async function withService(ctx: StoreContext, fn: (s: Service) => Promise<void>, auth: AgentAuth = { mode: "token", token: TOKEN }): Promise<void> {
  const core = testCore(ctx.store, testClock());
  const server = await startGrpcServer({ hostname: "127.0.0.1", port: 0, core, auth, logger: silentLogger(), metrics: createMetricsRegistry() });
  const address = `127.0.0.1:${server.port}`;
  const agent = agentClient(address, { token: TOKEN });
  const logs = logsTestClient(address, { token: TOKEN });
  try {
    await core.apply(manifests(machineYaml(MAC, BODY)));
    await fn({ agent, logs, core, address });
  } finally {
    agent.close();
    logs.close();
    await server.stop();
  }
}

/** The ActionResponse of the agent's current action. */
async function current(agent: AgentClient): Promise<Record<string, unknown>> {
  const r = await agent.getAction({ agentId: MAC });
  expect(r.code).toBe(status.OK);
  return r.value!;
}

const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const T0 = Date.parse("2026-03-01T10:00:00.000Z");

/** A LogBatch for `a` with lines numbered `from`.. (text "line <seq>"). */
function batch(a: Record<string, unknown>, from: number, count: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const lines = Array.from({ length: count }, (_, i) => ({ seq: from + i, at: at(T0 + (from + i) * 10), stream: (from + i) % 2 ? "STDOUT" : "STDERR", line: `line ${from + i}` }));
  return { workflowId: a.workflowId, agentId: a.agentId, actionId: a.actionId, attempt: 1, lines, ...extra };
}

const texts = async (core: Core, opts: { action?: string; since?: number } = {}) => (await core.workflowLogs("default", "wf", opts)).lines.map((l) => l.line);

forEachStore("grpc action logs", (ctx) => {
  test("pushed lines are stored with time, stream, action and attempt; the ack gives the last seq", async () => {
    await withService(ctx, async ({ agent, logs, core }) => {
      const a = await current(agent);
      expect(await logs.push(batch(a, 1, 3))).toEqual({ code: status.OK, details: "", value: { lastSeq: 3 } });
      const page = await core.workflowLogs("default", "wf");
      expect(page.state).toBe("PENDING");
      expect(page.lines.map(({ id: _, ...l }) => l)).toEqual([
        { at: new Date(T0 + 10).toISOString(), actionId: a.actionId as string, actionName: "stream", attempt: 1, stream: "stdout", line: "line 1" },
        { at: new Date(T0 + 20).toISOString(), actionId: a.actionId as string, actionName: "stream", attempt: 1, stream: "stderr", line: "line 2" },
        { at: new Date(T0 + 30).toISOString(), actionId: a.actionId as string, actionName: "stream", attempt: 1, stream: "stdout", line: "line 3" },
      ]);
    });
  });

  test("a retried batch is stored once; an overlapping one adds only its new lines", async () => {
    await withService(ctx, async ({ agent, logs, core }) => {
      const a = await current(agent);
      expect((await logs.push(batch(a, 1, 3))).value).toEqual({ lastSeq: 3 });
      expect((await logs.push(batch(a, 1, 3))).value).toEqual({ lastSeq: 3 });
      expect((await logs.push(batch(a, 2, 4))).value).toEqual({ lastSeq: 5 });
      expect(await texts(core)).toEqual(["line 1", "line 2", "line 3", "line 4", "line 5"]);
      // An empty batch asks where the server is.
      expect((await logs.push(batch(a, 1, 0))).value).toEqual({ lastSeq: 5 });
    });
  });

  test("FAILED_PRECONDITION: another agent, an action that is not current, an attempt not begun; NOT_FOUND: no such workflow", async () => {
    await withService(ctx, async ({ agent, logs, core }) => {
      const a = await current(agent);
      const wf = (await core.get("Workflow", "default", "wf")) as { status: { tasks: { actions: { id: string }[] }[] } };
      const second = wf.status.tasks[0]!.actions[1]!.id;
      const wrongAgent = await logs.push(batch(a, 1, 1, { agentId: OTHER }));
      expect(wrongAgent).toEqual({ code: status.FAILED_PRECONDITION, details: `agent ${OTHER} is not the worker of task install in workflow default/wf (worker ${MAC})` });
      const notCurrent = await logs.push(batch(a, 1, 1, { actionId: second }));
      expect(notCurrent).toEqual({ code: status.FAILED_PRECONDITION, details: "action reboot is not the current action of workflow default/wf (stream): its lines are refused" });
      expect(await logs.push(batch(a, 1, 1, { attempt: 2 }))).toMatchObject({ code: status.FAILED_PRECONDITION, details: "action stream is at attempt 1; lines for attempt 2 are refused" });
      expect(await logs.push(batch(a, 1, 1, { actionId: "00000000-0000-0000-0000-000000000000" }))).toMatchObject({ code: status.FAILED_PRECONDITION });
      expect(await logs.push(batch(a, 1, 1, { workflowId: "default/nope" }))).toEqual({ code: status.NOT_FOUND, details: "workflow default/nope not found" });
      expect(await texts(core)).toEqual([]);

      // A failed attempt is retried: attempt 2 numbers its lines from 1 again.
      expect((await agent.reportActionStatus(statusFor(a, "RUNNING"))).code).toBe(status.OK);
      expect((await agent.reportActionStatus(statusFor(a, "FAILED"))).code).toBe(status.OK);
      expect((await logs.push(batch(a, 1, 1, { attempt: 2 }))).value).toEqual({ lastSeq: 1 });
      expect((await logs.push(batch(a, 1, 2))).value).toEqual({ lastSeq: 2 }); // attempt 1's last lines, late
      expect((await core.workflowLogs("default", "wf")).lines.map((l) => [l.attempt, l.line])).toEqual([[2, "line 1"], [1, "line 1"], [1, "line 2"]]);

      // After SUCCESS the action just finished still takes its last lines; the next is current now.
      expect((await agent.reportActionStatus(statusFor(a, "SUCCESS"))).code).toBe(status.OK);
      expect((await logs.push(batch(a, 2, 1, { attempt: 2 }))).code).toBe(status.OK);
      const b = await current(agent);
      expect(b.name).toBe("reboot");
      expect((await logs.push(batch(b, 1, 1))).code).toBe(status.OK);
      expect((await agent.reportActionStatus(statusFor(b, "SUCCESS"))).code).toBe(status.OK);
      // The workflow is over: two actions back is not the most recent any more.
      expect((await logs.push(batch(a, 3, 1, { attempt: 2 }))).code).toBe(status.FAILED_PRECONDITION);
      expect(await texts(core, { action: "reboot" })).toEqual(["line 1"]);
      expect((await core.workflowLogs("default", "wf", { action: a.actionId as string })).lines).toHaveLength(4);
    });
  });

  test("INVALID_ARGUMENT names the field: batch size, line length, seq, stream, timestamp, ids, malformed bytes", async () => {
    await withService(ctx, async ({ agent, logs, core }) => {
      const a = await current(agent);
      const cases: [Record<string, unknown>, string][] = [
        [batch(a, 1, MAX_LOG_BATCH_LINES + 1), `lines: ${MAX_LOG_BATCH_LINES + 1} in one batch, more than ${MAX_LOG_BATCH_LINES}`],
        [{ ...batch(a, 1, 1), lines: [{ seq: 1, stream: "STDOUT", line: "x".repeat(MAX_PUSHED_LINE_CHARS + 1) }] }, `lines[0].line: ${MAX_PUSHED_LINE_CHARS + 1} characters, more than ${MAX_PUSHED_LINE_CHARS}`],
        [{ ...batch(a, 1, 1), lines: [{ seq: 0, stream: "STDOUT", line: "x" }] }, "lines[0].seq: must be 1 or more"],
        [{ ...batch(a, 1, 1), lines: [{ seq: 2, stream: "STDOUT", line: "x" }, { seq: 2, stream: "STDOUT", line: "y" }] }, "lines[1].seq: 2 does not follow 2"],
        [{ ...batch(a, 1, 1), lines: [{ seq: 1, line: "x" }] }, "lines[0].stream: 0 is not STDOUT (1) or STDERR (2)"],
        [{ ...batch(a, 1, 1), lines: [{ seq: 1, stream: "STDOUT", line: "x", at: { seconds: 1e12 } }] }, "lines[0].at: not a valid timestamp (seconds 1000000000000, nanos 0)"],
        [batch(a, 1, 1, { attempt: 0 }), "attempt must be 1 or more"],
        [batch(a, 1, 1, { agentId: "" }), "agent_id is empty"],
        [batch(a, 1, 1, { workflowId: "wf" }), 'workflow_id "wf" is not namespace/name'],
      ];
      for (const [b, details] of cases) expect(await logs.push(b)).toEqual({ code: status.INVALID_ARGUMENT, details });
      // A line at the bound is fine; a line without a time gets the server's.
      const full = { ...batch(a, 1, 1), lines: [{ seq: 1, stream: "STDOUT", line: "y".repeat(MAX_PUSHED_LINE_CHARS) }] };
      expect((await logs.push(full)).code).toBe(status.OK);
      expect((await logs.raw(new Uint8Array([0x0a, 0xff])))).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("malformed LogBatch") });
      expect((await logs.push(batch(a, 2, MAX_LOG_BATCH_LINES))).value).toEqual({ lastSeq: MAX_LOG_BATCH_LINES + 1 });
      expect((await core.workflowLogs("default", "wf", { limit: 2 })).lines.map((l) => l.line.length)).toEqual([MAX_PUSHED_LINE_CHARS, 6]);
    });
  });

  test("the agent token guards PushLogs as it guards WorkflowService", async () => {
    await withService(ctx, async ({ agent, address }) => {
      const a = await current(agent);
      for (const [token, code] of [[undefined, status.UNAUTHENTICATED], ["wrong", status.UNAUTHENTICATED], [TOKEN, status.OK]] as const) {
        const c = logsTestClient(address, { token });
        try {
          expect((await c.push(batch(a, 1, 1))).code).toBe(code);
        } finally {
          c.close();
        }
      }
    });
  });

  test("a rerun starts the logs afresh; the API gives JSON lines by action name or id, after an id, behind the API token", async () => {
    await withService(ctx, async ({ agent, logs, core }) => {
      const a = await current(agent);
      await logs.push(batch(a, 1, 3));
      expect((await agent.reportActionStatus(statusFor(a, "SUCCESS"))).code).toBe(status.OK);
      const b = await current(agent);
      await logs.push(batch(b, 1, 2));
      expect((await agent.reportActionStatus(statusFor(b, "SUCCESS"))).code).toBe(status.OK);

      const api = createApi({ core, token: API_TOKEN, logger: silentLogger(), version: "0.0.0" });
      const get = (q: string, token = API_TOKEN) => api.handle(new Request(`http://wisp/api/v1/namespaces/default/workflows/wf/logs${q}`, { headers: { authorization: `Bearer ${token}` } }));
      const rows = async (r: Response) => (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

      const all = await get("");
      expect(all.status).toBe(200);
      expect(all.headers.get("content-type")).toBe("application/x-ndjson");
      expect(all.headers.get(WORKFLOW_STATE_HEADER)).toBe("SUCCESS");
      const lines = await rows(all);
      expect(lines.map((l) => `${l.actionName}[${l.attempt}] ${l.stream} ${l.line}`)).toEqual([
        "stream[1] stdout line 1", "stream[1] stderr line 2", "stream[1] stdout line 3", "reboot[1] stdout line 1", "reboot[1] stderr line 2",
      ]);
      expect(Object.keys(lines[0]!).sort()).toEqual(["actionId", "actionName", "at", "attempt", "id", "line", "stream"]);
      expect((await rows(await get("?action=reboot"))).map((l) => l.line)).toEqual(["line 1", "line 2"]);
      expect((await rows(await get(`?action=${b.actionId}&limit=1`))).map((l) => l.line)).toEqual(["line 1"]);
      expect((await rows(await get(`?since=${lines[3]!.id}`))).map((l) => l.line)).toEqual(["line 2"]);
      expect((await get("?action=nope")).status).toBe(404);
      expect((await get("?limit=0")).status).toBe(400);
      expect((await get("", "wrong")).status).toBe(401);
      expect((await api.handle(new Request("http://wisp/api/v1/namespaces/default/workflows/none/logs", { headers: { authorization: `Bearer ${API_TOKEN}` } }))).status).toBe(404);

      await core.rerunWorkflow("default", "wf");
      expect(await texts(core)).toEqual([]);
      const again = await current(agent);
      expect((await logs.push(batch(again, 1, 1))).value).toEqual({ lastSeq: 1 });
      expect(await texts(core)).toEqual(["line 1"]);
    });
  });
});
