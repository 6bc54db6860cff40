/**
 * The agent's side of the workflow service (Tinkerbell's proto.WorkflowService), built from the
 * same daemon/grpc/workflow.proto the server ships, embedded as text so the compiled binary needs
 * no file beside it. The only file of the agent that touches the network.
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import protoText from "../daemon/grpc/workflow.proto" with { type: "text" };

/** Per-call deadline: a call that hangs (server gone without a reset) is retried. */
export const CALL_DEADLINE_MS = 10_000;
const SERVICE = "proto.WorkflowService";
/**
 * Response header a server may send with GetAction: the action's attempt (1, 2 for its first
 * retry, ...), which Tinkerbell's ActionResponse has no field for. Today's wispd does not send it;
 * without it the agent counts attempts itself (agent/loop.ts).
 */
export const ATTEMPT_HEADER = "wisp-action-attempt";

/** A finished call: the status, and the decoded response when OK. */
export interface Reply {
  code: grpc.status;
  details: string;
  value?: Record<string, unknown>;
  /** The ATTEMPT_HEADER response header, when the server sent a valid one. */
  attempt?: number;
}

/** The two calls of the service. */
export interface WorkflowClient {
  getAction(agentId: string): Promise<Reply>;
  reportActionStatus(report: Record<string, unknown>): Promise<Reply>;
  close(): void;
}

/** The ActionStatusRequest for `action` (an ActionResponse as received) in `state`, with `extra` fields (message, execution times). */
export function statusRequest(action: Record<string, unknown>, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    workflowId: action.workflowId,
    agentId: action.agentId,
    taskId: action.taskId,
    actionId: action.actionId,
    actionName: action.name,
    actionState: state,
    ...extra,
  };
}

/** Parses the embedded proto (with google.protobuf.Timestamp, which it imports). */
export function workflowRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // protobufjs ships google/protobuf/timestamp.proto as JSON; the import is resolved from there.
  root.addJSON(protobuf.common.get("google/protobuf/timestamp.proto")!.nested!);
  protobuf.parse(protoText, root, { keepCase: false });
  root.resolveAll();
  return root;
}

/** Connects to `authority` (host:port), plain text or TLS; sends `token` as `authorization: Bearer`. */
export function workflowClient(authority: string, opts: { tls: boolean; insecureTls: boolean; token?: string }): WorkflowClient {
  const root = workflowRoot();
  const service = root.lookupService(SERVICE);
  const creds = opts.tls
    ? grpc.credentials.createSsl(null, null, null, opts.insecureTls ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {})
    : grpc.credentials.createInsecure();
  const client = new grpc.Client(authority, creds);

  function call(method: "GetAction" | "ReportActionStatus", req: Record<string, unknown>): Promise<Reply> {
    const m = service.methods[method]!.resolve() as protobuf.Method;
    const reqType = m.resolvedRequestType!;
    const resType = m.resolvedResponseType!;
    const body = Buffer.from(reqType.encode(reqType.fromObject(req)).finish());
    const md = new grpc.Metadata();
    if (opts.token) md.set("authorization", `Bearer ${opts.token}`);
    let attempt: number | undefined;
    return new Promise((resolve) => {
      const pending = client.makeUnaryRequest(`/${SERVICE}/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline: Date.now() + CALL_DEADLINE_MS }, (e, res) => {
        if (e) return resolve({ code: e.code, details: e.details });
        try {
          const value = resType.toObject(resType.decode(res!), { longs: Number, enums: String, defaults: true });
          resolve({ code: grpc.status.OK, details: "", value, ...(attempt !== undefined && { attempt }) });
        } catch (err) {
          resolve({ code: grpc.status.INTERNAL, details: `malformed ${method} response: ${(err as Error).message}` });
        }
      });
      pending.on("metadata", (md: grpc.Metadata) => (attempt = parseAttempt(md.get(ATTEMPT_HEADER)[0])));
    });
  }

  return {
    getAction: (agentId) => call("GetAction", { agentId }),
    reportActionStatus: (report) => call("ReportActionStatus", report),
    close: () => client.close(),
  };
}

/** A positive integer header value, else undefined. */
export function parseAttempt(value: unknown): number | undefined {
  const n = typeof value === "string" && /^[1-9]\d{0,8}$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return n;
}
