/**
 * The workflow service's semantics through the wire, on both stores: a grpc-js client generated
 * from the proto file drives the real server in this process over loopback.
 */
import { status } from "@grpc/grpc-js";
import { expect, test } from "bun:test";
import { createActionIndex } from "../../daemon/core/action-index.ts";
import type { Core } from "../../daemon/core/types.ts";
import type { AgentAuth } from "../../daemon/grpc/auth.ts";
import { ATTEMPT_HEADER, startGrpcServer } from "../../daemon/grpc/server.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry, type MetricsRegistry } from "../../daemon/lib/metrics.ts";
import { exampleManifests, machineYaml, manifests, testClock, type TestClock, testCore, workflow } from "../support/core.ts";
import { forEachStore, type StoreContext } from "../support/stores.ts";
import { agentClient, statusFor, timestamp, wire, type AgentClient, type Reply } from "./agent-client.ts";
import { ATTEMPT_HEADER as AGENT_ATTEMPT_HEADER, workflowClient } from "../../agent/workflow-client.ts";

const MAC = "1c:69:7a:11:22:33";

/** Two actions; environment and volumes at task and action level; namespaces; retries and timeouts as asked. */
function body(opts: { retries?: number; timeout?: number } = {}): string {
  return `version: "0.1"
name: grpc
global_timeout: 600
tasks:
  - name: install
    worker: "{{.device_1}}"
    volumes: [/dev:/dev, /lib/firmware:/lib/firmware:ro]
    environment: { ZED: task, SHARED: task, MIDDLE: task }
    actions:
      - name: stream
        image: quay.io/tinkerbell/actions/image2disk:latest
        timeout: ${opts.timeout ?? 60}
        retries: ${opts.retries ?? 0}
        command: [sh, -c, "echo hi"]
        volumes: [/tmp:/tmp]
        environment: { SHARED: action, ALPHA: "1", DEST_DISK: /dev/nvme0n1 }
        namespaces: { network: host, pid: host }
      - name: reboot
        image: alpine`;
}

interface Service {
  client: AgentClient;
  /** host:port of the service. */
  address: string;
  core: Core;
  clock: TestClock;
  metrics: MetricsRegistry;
}

/** Starts a core (with the GetAction index, as wispd runs it) and the service on port 0 with `opts`, runs `fn` with a client, and stops everything. */
async function withService(ctx: StoreContext, fn: (s: Service) => Promise<void>, opts: { auth?: AgentAuth; token?: string; wf?: string; body?: string } = {}): Promise<void> {
  const clock = testClock();
  const storeCore = testCore(ctx.store, clock);
  const index = await createActionIndex(ctx.store, storeCore);
  const core = index.bind(storeCore);
  const metrics = createMetricsRegistry();
  const server = await startGrpcServer({ hostname: "127.0.0.1", port: 0, core, auth: opts.auth ?? { mode: "off" }, logger: silentLogger(), metrics });
  const client = agentClient(`127.0.0.1:${server.port}`, { token: opts.token });
  try {
    await fn({ client, core, clock, metrics, address: `127.0.0.1:${server.port}` });
  } finally {
    client.close();
    await server.stop();
    await index.close();
  }
}

async function setup(core: Core, opts: Parameters<typeof body>[0] = {}, wfSpec = ""): Promise<void> {
  await core.apply(manifests(machineYaml(MAC, body(opts), wfSpec)));
}

/** GetAction that must succeed. */
async function action(client: AgentClient, agentId = MAC): Promise<Record<string, unknown>> {
  const r = await client.getAction({ agentId });
  expect(r).toMatchObject({ code: status.OK });
  return r.value!;
}

const report = async (client: AgentClient, a: Record<string, unknown>, state: string, extra: Record<string, unknown> = {}): Promise<Reply> =>
  client.reportActionStatus(statusFor(a, state, extra));

forEachStore("grpc workflow service", (ctx) => {
  test("NOT_FOUND for an agent without workflows; INVALID_ARGUMENT for an empty agent_id", async () => {
    await withService(ctx, async ({ client, core }) => {
      expect(await client.getAction({ agentId: MAC })).toEqual({ code: status.NOT_FOUND, details: `no action for agent ${MAC}` });
      await setup(core);
      expect(await client.getAction({ agentId: "aa:bb:cc:dd:ee:ff" })).toMatchObject({ code: status.NOT_FOUND });
      expect(await client.getAction({ agentId: "" })).toEqual({ code: status.INVALID_ARGUMENT, details: "agent_id is empty" });
      expect(await client.getAction({})).toMatchObject({ code: status.INVALID_ARGUMENT });
    });
  });

  test("serve the action in Tinkerbell's shape: workflow_id namespace/name, sorted environment, task ++ action volumes, namespaces", async () => {
    await withService(ctx, async ({ client, core }) => {
      await setup(core);
      const a = await action(client, MAC.toUpperCase());
      const wf = await workflow(core, "default", "wf");
      const first = wf.status.tasks[0]!.actions[0]!;
      expect(a).toEqual({
        workflowId: "default/wf",
        taskId: expect.any(String),
        agentId: MAC.toUpperCase(),
        actionId: first.id,
        name: "stream",
        image: "quay.io/tinkerbell/actions/image2disk:latest",
        timeout: 60,
        command: ["sh", "-c", "echo hi"],
        volumes: ["/dev:/dev", "/lib/firmware:/lib/firmware:ro", "/tmp:/tmp"],
        environment: ["ALPHA=1", "DEST_DISK=/dev/nvme0n1", "MIDDLE=task", "SHARED=action", "ZED=task"],
        pid: "host",
        namespaces: { network: "host", pid: "host" },
      });
      expect(a.taskId).not.toBe("");
    });
  });

  test("FAILED_PRECONDITION for a disabled workflow", async () => {
    await withService(ctx, async ({ client, core }) => {
      await setup(core, {}, "  disabled: true\n");
      expect(await client.getAction({ agentId: MAC })).toEqual({ code: status.FAILED_PRECONDITION, details: "workflow default/wf is disabled" });
    });
  });

  test("drive the examples to SUCCESS through the wire, then FAILED_PRECONDITION", async () => {
    await withService(ctx, async ({ client, core, clock }) => {
      await core.apply(exampleManifests("nuc-demo"));
      const names: string[] = [];
      for (let i = 0; i < 7; i++) {
        const a = await action(client);
        names.push(a.name as string);
        const start = clock.now();
        expect(await report(client, a, "RUNNING", { executionStart: timestamp(start) })).toMatchObject({ code: status.OK, value: {} });
        const stop = clock.advance(10);
        const done = await report(client, a, "SUCCESS", { executionStart: timestamp(start), executionStop: timestamp(stop), executionDuration: "10s", message: { message: "done" } });
        expect(done).toMatchObject({ code: status.OK });
      }
      expect(names).toHaveLength(7);
      const wf = await workflow(core, "tink-system", "demo-wf");
      expect(wf.status.state).toBe("SUCCESS");
      expect(wf.status.tasks[0]!.actions.map((x) => [x.name, x.state, x.message, x.durationSeconds])).toEqual(names.map((n) => [n, "SUCCESS", "done", 10]));
      const after = await client.getAction({ agentId: MAC });
      expect(after.code).toBe(status.FAILED_PRECONDITION);
      expect(after.details).toContain("tink-system/demo-wf");
    });
  });

  test("re-serve the running action after an agent restart; repeated reports are idempotent", async () => {
    await withService(ctx, async ({ client, core }) => {
      await setup(core);
      const a = await action(client);
      expect((await report(client, a, "RUNNING")).code).toBe(status.OK);
      // The agent restarts mid-action and asks again: the same action.
      expect(await action(client)).toEqual(a);
      expect((await report(client, a, "RUNNING")).code).toBe(status.OK);
      expect((await report(client, a, "SUCCESS")).code).toBe(status.OK);
      const events = await core.events("default", "wf");
      // A lost response: the agent sends SUCCESS again; nothing changes.
      expect((await report(client, a, "SUCCESS")).code).toBe(status.OK);
      expect(await core.events("default", "wf")).toEqual(events);
      expect((await action(client)).name).toBe("reboot");
    });
  });

  test("refuse a stale report with FAILED_PRECONDITION and change nothing", async () => {
    await withService(ctx, async ({ client, core }) => {
      await setup(core);
      const a = await action(client);
      await report(client, a, "RUNNING");
      await report(client, a, "SUCCESS");
      await action(client);
      const before = await workflow(core, "default", "wf");
      const stale = await report(client, a, "FAILED");
      expect(stale.code).toBe(status.FAILED_PRECONDITION);
      expect(stale.details).toBe("stale report for action stream (SUCCESS): the current action of workflow default/wf is reboot");
      expect((await report(client, a, "RUNNING", { agentId: "aa:bb:cc:dd:ee:ff" })).code).toBe(status.FAILED_PRECONDITION);
      expect((await report(client, a, "RUNNING", { workflowId: "default/other" })).code).toBe(status.NOT_FOUND);
      expect(await workflow(core, "default", "wf")).toEqual(before);
    });
  });

  test("a failed attempt is retried: the same action again with its next attempt; then FAILED ends the workflow", async () => {
    await withService(ctx, async ({ client, core, address }) => {
      await setup(core, { retries: 1 });
      const a = await action(client);
      await report(client, a, "RUNNING");
      expect((await report(client, a, "FAILED", { message: { message: "exit 1" } })).code).toBe(status.OK);
      const again = await action(client);
      expect(again.actionId).toBe(a.actionId);
      expect((await workflow(core, "default", "wf")).status.tasks[0]!.actions[0]).toMatchObject({ state: "PENDING", attempt: 2, message: "exit 1" });
      expect(AGENT_ATTEMPT_HEADER).toBe(ATTEMPT_HEADER);
      // The attempt travels as a response header (ActionResponse stays Tinkerbell's); the agent's own client reads it.
      const agent = workflowClient(address, { tls: false, insecureTls: false });
      try {
        expect((await agent.getAction(MAC)).attempt).toBe(2);
      } finally {
        agent.close();
      }
      await report(client, again, "RUNNING");
      expect((await report(client, again, "FAILED")).code).toBe(status.OK);
      expect((await workflow(core, "default", "wf")).status.state).toBe("FAILED");
      expect((await client.getAction({ agentId: MAC })).code).toBe(status.FAILED_PRECONDITION);
    });
  });

  test("a TIMEOUT report ends the action and the workflow TIMEOUT", async () => {
    await withService(ctx, async ({ client, core }) => {
      await setup(core, { timeout: 5 });
      const a = await action(client);
      expect(a.timeout).toBe(5);
      await report(client, a, "RUNNING");
      expect((await report(client, a, "TIMEOUT", { message: { message: "action timed out after 5s" } })).code).toBe(status.OK);
      const wf = await workflow(core, "default", "wf");
      expect(wf.status.state).toBe("TIMEOUT");
      expect(wf.status.tasks[0]!.actions[0]).toMatchObject({ state: "TIMEOUT", message: "action timed out after 5s" });
    });
  });

  test("refuse unknown and unspecified states, empty ids and bad timestamps with INVALID_ARGUMENT naming the field", async () => {
    await withService(ctx, async ({ client, core }) => {
      await setup(core);
      const a = await action(client);
      const Status = wire.lookupType("proto.ActionStatusRequest");
      const unknown = Status.encode({ ...statusFor(a, "RUNNING"), actionState: 9 }).finish();
      expect(await client.raw("ReportActionStatus", unknown)).toEqual({
        code: status.INVALID_ARGUMENT,
        details: "action_state 9 is not one of PENDING, RUNNING, FAILED, TIMEOUT, SUCCESS",
      });
      expect((await report(client, a, "UNSPECIFIED")).details).toContain("action_state UNSPECIFIED");
      expect(await report(client, a, "RUNNING", { workflowId: "" })).toEqual({ code: status.INVALID_ARGUMENT, details: "workflow_id is empty" });
      expect((await report(client, a, "RUNNING", { workflowId: "wf" })).details).toBe('workflow_id "wf" is not namespace/name');
      expect(await report(client, a, "RUNNING", { agentId: "" })).toEqual({ code: status.INVALID_ARGUMENT, details: "agent_id is empty" });
      expect(await report(client, a, "RUNNING", { actionId: "" })).toEqual({ code: status.INVALID_ARGUMENT, details: "action_id is empty" });
      expect((await report(client, a, "RUNNING", { executionStart: { seconds: 1, nanos: -1 } })).details).toContain("execution_start");
      // Go's zero time (the stop of a running action) is accepted as "not stopped".
      expect((await report(client, a, "RUNNING", { executionStop: { seconds: -62135596800, nanos: 0 } })).code).toBe(status.OK);
      expect((await workflow(core, "default", "wf")).status.tasks[0]!.actions[0]!.state).toBe("RUNNING");
      // PENDING is a known state, but not one a running action may go back to.
      expect((await report(client, a, "PENDING")).code).toBe(status.FAILED_PRECONDITION);
    });
  });

  test("count calls by method and status", async () => {
    await withService(ctx, async ({ client, core, metrics }) => {
      await client.getAction({ agentId: MAC });
      await setup(core);
      const a = await action(client);
      await report(client, a, "RUNNING");
      expect(metrics.value("wisp_grpc_requests_total", { method: "GetAction", code: "NOT_FOUND" })).toBe(1);
      expect(metrics.value("wisp_grpc_requests_total", { method: "GetAction", code: "OK" })).toBe(1);
      expect(metrics.value("wisp_grpc_requests_total", { method: "ReportActionStatus", code: "OK" })).toBe(1);
      expect(metrics.render()).toContain('wisp_grpc_request_duration_seconds_count{method="GetAction"} 2');
    });
  });

  test("token auth: UNAUTHENTICATED without or with a wrong token, served with the right one", async () => {
    const auth: AgentAuth = { mode: "token", token: "s3cret-agent-token" };
    await withService(ctx, async ({ client }) => {
      expect((await client.getAction({ agentId: MAC })).code).toBe(status.UNAUTHENTICATED);
    }, { auth });
    await withService(ctx, async ({ client }) => {
      expect(await client.getAction({ agentId: MAC })).toEqual({ code: status.UNAUTHENTICATED, details: "agent token is wrong" });
      expect((await client.reportActionStatus({ agentId: MAC })).code).toBe(status.UNAUTHENTICATED);
    }, { auth, token: "s3cret-agent-tokeN" });
    await withService(ctx, async ({ client }) => {
      expect((await client.getAction({ agentId: MAC })).code).toBe(status.NOT_FOUND);
    }, { auth, token: "s3cret-agent-token" });
  });
});
