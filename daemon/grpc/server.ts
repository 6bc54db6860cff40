/**
 * The agents' workflow service (and Wisp's action log service, wisp.v1.ActionLogs) over gRPC (@grpc/grpc-js; Elysia cannot send trailers, so it has
 * its own port): receive -> authenticate -> decode -> policy -> core -> encode. The only file
 * here that touches sockets. Requests are decoded by us, not by grpc-js, so a malformed message
 * is an INVALID_ARGUMENT we count and log, never an exception.
 */
import * as grpc from "@grpc/grpc-js";
import type { ActionAssignment, Core } from "../core/types.ts";
import { WispError, type ErrorCode } from "../lib/errors.ts";
import { machineFields, type Logger, type MachineFields } from "../lib/log.ts";
import type { MetricsRegistry } from "../lib/metrics.ts";
import { checkAgentAuth, type AgentAuth } from "./auth.ts";
import { createWorkflowCodec, SERVICE_NAME, WORKFLOW_PROTO } from "./codec.ts";
import { createLogCodec, LOGS_PROTO, LOGS_SERVICE_NAME } from "./log-codec.ts";
import { toActionLogReport } from "./log-policy.ts";
import { checkAgentId, toActionReport, toActionResponse, type BadField } from "./policy.ts";

/** Largest request accepted (an ActionRequest's inventory is a few KiB; grpc-js allows 4 MiB). */
export const MAX_REQUEST_BYTES = 1 << 20;
/** How long stop() lets calls in flight finish before cutting them off. */
const SHUTDOWN_GRACE_MS = 2_000;

export interface GrpcServerOptions {
  hostname: string;
  /** 0: any free port (see `port` on the result). */
  port: number;
  core: Pick<Core, "getAction" | "reportAction" | "appendActionLogs">;
  auth: AgentAuth;
  /** PEM; TLS on the port when given. */
  tls?: { cert: Buffer; key: Buffer };
  logger: Logger;
  metrics: MetricsRegistry;
  protoFile?: string;
  logsProtoFile?: string;
  /** ops: the machine an agent is (its MAC and Hardware), so each call's log line carries it. */
  machine?: (agentId: string) => MachineFields;
}

/** A running workflow service. */
export interface GrpcServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** What a call ends with: a status, and the response bytes when OK. */
interface Outcome {
  code: grpc.status;
  details?: string;
  body?: Uint8Array;
  /** Log fields of the call (agentId, workflowId, actionId, state). */
  fields: Record<string, unknown>;
  /** Response headers (initial metadata); Tinkerbell's agents ignore them. */
  headers?: Record<string, string>;
  err?: unknown;
}

/**
 * GetAction's response header with the action's attempt (1, then 2 after a retried failure):
 * ActionResponse has no such field and must stay byte-identical to Tinkerbell's, but the agent
 * numbers its log lines per attempt (agent/workflow-client.ts reads it).
 */
export const ATTEMPT_HEADER = "wisp-action-attempt";

type Method = "GetAction" | "ReportActionStatus" | "PushLogs";

const GRPC_CODE: Partial<Record<ErrorCode, grpc.status>> = {
  not_found: grpc.status.NOT_FOUND,
  invalid_state: grpc.status.FAILED_PRECONDITION,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unauthorized: grpc.status.UNAUTHENTICATED,
  conflict: grpc.status.ABORTED,
};

// Raw bytes both ways: decoding is ours (codec.ts), so grpc-js never sees a message it could choke on.
const raw = (b: Buffer): Buffer => b;
const methodDefinition = (name: Method, service = SERVICE_NAME): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/${service}/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});

/** Starts the service on hostname:port; resolves once bound (the log line `grpc listening` gives the port). */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const { core, logger: log, metrics } = opts;
  const codec = createWorkflowCodec(opts.protoFile ?? WORKFLOW_PROTO);
  const logCodec = createLogCodec(opts.logsProtoFile ?? LOGS_PROTO);
  const requests = metrics.counter("wisp_grpc_requests_total", "Agent workflow service calls by method and gRPC status", ["method", "code"]);
  const seconds = metrics.histogram("wisp_grpc_request_duration_seconds", "Agent workflow service call latency", ["method"]);

  const invalid = (bad: BadField, fields: Record<string, unknown>): Outcome => ({ code: grpc.status.INVALID_ARGUMENT, details: bad.message, fields: { ...fields, field: bad.field } });

  async function getAction(body: Buffer): Promise<Outcome> {
    const msg = codec.decodeActionRequest(body);
    if (!msg.ok) return invalid({ field: "ActionRequest", message: `malformed ActionRequest: ${msg.error}` }, {});
    const agentId = checkAgentId(msg.value.agentId);
    if (!agentId.ok) return invalid(agentId.error, {});
    let a: ActionAssignment;
    try {
      a = await core.getAction(agentId.value);
    } catch (e) {
      // The core says "no workflow"; the agent asked for an action.
      if (e instanceof WispError && e.code === "not_found") return { code: grpc.status.NOT_FOUND, details: `no action for agent ${agentId.value}`, fields: { agentId: agentId.value } };
      return failure(e, { agentId: agentId.value });
    }
    const fields = { agentId: a.agentId, workflowId: a.workflowId, actionId: a.actionId, action: a.name, attempt: a.attempt };
    return { code: grpc.status.OK, body: codec.encodeActionResponse(toActionResponse(a)), fields, headers: { [ATTEMPT_HEADER]: String(a.attempt) } };
  }

  async function reportActionStatus(body: Buffer): Promise<Outcome> {
    const msg = codec.decodeActionStatus(body);
    if (!msg.ok) return invalid({ field: "ActionStatusRequest", message: `malformed ActionStatusRequest: ${msg.error}` }, {});
    const m = msg.value;
    const fields = { agentId: m.agentId, workflowId: m.workflowId, actionId: m.actionId, action: m.actionName };
    const report = toActionReport(m);
    if (!report.ok) return invalid(report.error, fields);
    try {
      await core.reportAction(report.value);
    } catch (e) {
      return failure(e, { ...fields, state: report.value.state });
    }
    return { code: grpc.status.OK, body: codec.encodeActionStatusResponse(), fields: { ...fields, state: report.value.state, duration: m.executionDuration || undefined } };
  }

  async function pushLogs(body: Buffer): Promise<Outcome> {
    const msg = logCodec.decodeLogBatch(body);
    if (!msg.ok) return invalid({ field: "LogBatch", message: `malformed LogBatch: ${msg.error}` }, {});
    const m = msg.value;
    const fields = { agentId: m.agentId, workflowId: m.workflowId, actionId: m.actionId, attempt: m.attempt, lines: m.lines.length };
    const report = toActionLogReport(m, new Date());
    if (!report.ok) return invalid(report.error, fields);
    try {
      const ack = await core.appendActionLogs(report.value);
      return { code: grpc.status.OK, body: logCodec.encodeLogAck(ack.lastSeq), fields: { ...fields, stored: ack.stored, lastSeq: ack.lastSeq } };
    } catch (e) {
      return failure(e, fields);
    }
  }

  const handlers: Record<Method, (body: Buffer) => Promise<Outcome>> = { GetAction: getAction, ReportActionStatus: reportActionStatus, PushLogs: pushLogs };

  function unary(method: Method): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const started = performance.now();
      const peer = call.getPeer();
      const denied = checkAgentAuth(call.metadata.get("authorization"), opts.auth);
      const outcome: Promise<Outcome> = denied
        ? Promise.resolve({ code: grpc.status.UNAUTHENTICATED, details: denied, fields: {} })
        : handlers[method](call.request).catch((e: unknown) => failure(e, {}));
      void outcome.then((o) => {
        requests.labels(method, grpc.status[o.code]).inc();
        seconds.labels(method).observe((performance.now() - started) / 1000);
        logOutcome(log, method, peer, o, opts.machine);
        if (o.headers) {
          const md = new grpc.Metadata();
          for (const [k, v] of Object.entries(o.headers)) md.set(k, v);
          call.sendMetadata(md);
        }
        if (o.code === grpc.status.OK) callback(null, Buffer.from(o.body!.buffer, o.body!.byteOffset, o.body!.byteLength));
        else callback({ code: o.code, details: o.details ?? grpc.status[o.code] });
      });
    };
  }

  // Channelz (grpc-js's introspection service) is not served, so its per-connection and per-call
  // bookkeeping (traces, call counters, timestamps) would only cost memory: thousands of agents
  // each hold a connection during a boot storm.
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_REQUEST_BYTES, "grpc.enable_channelz": 0 });
  server.addService(
    { GetAction: methodDefinition("GetAction"), ReportActionStatus: methodDefinition("ReportActionStatus") },
    { GetAction: unary("GetAction"), ReportActionStatus: unary("ReportActionStatus") },
  );
  // Beyond Tinkerbell, as a service of its own so proto.WorkflowService stays as Tinkerbell's agents know it.
  server.addService({ PushLogs: methodDefinition("PushLogs", LOGS_SERVICE_NAME) }, { PushLogs: unary("PushLogs") });
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const host = opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port}`, creds, (e, bound) => (e ? reject(e) : resolve(bound))),
  );
  log.info({ address: opts.hostname, port, tls: opts.tls !== undefined, agentAuth: opts.auth.mode }, "grpc listening");
  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (server.forceShutdown(), resolve()), SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => (clearTimeout(timer), resolve()));
      });
    },
  };
}

/** A thrown error as a status: domain errors keep their message, anything else is INTERNAL (and logged with its stack). */
function failure(e: unknown, fields: Record<string, unknown>): Outcome {
  const code = e instanceof WispError ? GRPC_CODE[e.code] : undefined;
  if (code !== undefined) return { code, details: (e as WispError).message, fields };
  return { code: grpc.status.INTERNAL, details: "internal error (see the wispd log)", fields, err: e };
}

function logOutcome(log: Logger, method: Method, peer: string, o: Outcome, machine?: (agentId: string) => MachineFields): void {
  const agentId = typeof o.fields.agentId === "string" ? o.fields.agentId : undefined;
  const workflow = typeof o.fields.workflowId === "string" && o.fields.workflowId !== "" ? o.fields.workflowId : undefined;
  const who = machineFields({ ...(agentId !== undefined ? machine?.(agentId) : {}), workflow });
  const line = { method, peer, code: grpc.status[o.code], ...o.fields, ...who, ...(o.code === grpc.status.OK ? {} : { reason: o.details }) };
  switch (o.code) {
    case grpc.status.OK:
      // Log batches come several times a second while an action runs.
      if (method === "PushLogs") log.debug(line, "action log lines received");
      else log.info(line, method === "GetAction" ? "action served" : "action status reported");
      return;
    case grpc.status.INTERNAL:
      log.error({ ...line, err: o.err }, "agent call failed");
      return;
    // Agents poll every few seconds while they have nothing to do.
    case grpc.status.NOT_FOUND:
      log.debug(line, "no action for agent");
      return;
    case grpc.status.FAILED_PRECONDITION:
      if (method === "GetAction") log.debug(line, "no runnable action for agent");
      else if (method === "PushLogs") log.warn(line, "agent log lines refused");
      else log.warn(line, "agent report refused");
      return;
    default:
      log.warn(line, "agent call refused");
  }
}
