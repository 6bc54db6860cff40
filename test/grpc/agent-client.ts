/**
 * An agent's side of the workflow service, built only from daemon/grpc/workflow.proto (protobufjs
 * reads the file, grpc-js calls the paths it names), as a Tinkerbell agent generated from the
 * same proto would: nothing here imports the server's code or types (the status request is
 * wisp-agent's own, from agent/workflow-client.ts).
 */
import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import protobuf from "protobufjs";

/** The proto the server ships, parsed independently of the server. */
export const PROTO_FILE = join(import.meta.dir, "..", "..", "daemon", "grpc", "workflow.proto");
export const wire = protobuf.loadSync(PROTO_FILE);
const service = wire.lookupService("proto.WorkflowService");

/** A finished call: the status, and the decoded response when OK. */
export interface Reply {
  code: grpc.status;
  details: string;
  value?: Record<string, unknown>;
}

export interface AgentClient {
  getAction(req: Record<string, unknown>): Promise<Reply>;
  reportActionStatus(req: Record<string, unknown>): Promise<Reply>;
  /** Sends `body` as the request message of `method` unchanged (for malformed input). */
  raw(method: string, body: Uint8Array): Promise<Reply>;
  close(): void;
}

/** Connects to `address` (host:port), plain text or TLS trusting `ca`, sending `token` as `authorization: Bearer`. */
export function agentClient(address: string, opts: { token?: string; authorization?: string; ca?: Buffer; serverName?: string } = {}): AgentClient {
  const creds = opts.ca ? grpc.credentials.createSsl(opts.ca) : grpc.credentials.createInsecure();
  const channelOptions = opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName } : {};
  const client = new grpc.Client(address, creds, channelOptions);
  const metadata = () => {
    const md = new grpc.Metadata();
    const auth = opts.authorization ?? (opts.token === undefined ? undefined : `Bearer ${opts.token}`);
    if (auth !== undefined) md.set("authorization", auth);
    return md;
  };
  const path = (method: string) => `/${service.fullName.replace(/^\./, "")}/${method}`;

  function call(method: string, body: Buffer, response: protobuf.Type | undefined): Promise<Reply> {
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        path(method),
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        metadata(),
        { deadline: Date.now() + 10_000 },
        (e, res) => {
          if (e) return resolve({ code: e.code, details: e.details });
          const value = response?.toObject(response.decode(res!), { longs: Number, enums: String, defaults: true });
          resolve({ code: grpc.status.OK, details: "", value });
        },
      );
    });
  }

  function typed(method: string, req: Record<string, unknown>): Promise<Reply> {
    const m = service.methods[method]!.resolve() as protobuf.Method;
    const reqType = m.resolvedRequestType!;
    const msg = reqType.fromObject(req); // enum names -> numbers
    const problem = reqType.verify(msg);
    if (problem) throw new Error(`test bug: ${method} request: ${problem}`);
    return call(method, Buffer.from(reqType.encode(msg).finish()), m.resolvedResponseType!);
  }

  return {
    getAction: (req) => typed("GetAction", req),
    reportActionStatus: (req) => typed("ReportActionStatus", req),
    raw: (method, body) => call(method, Buffer.from(body), undefined),
    close: () => client.close(),
  };
}

/** The ActionStatusRequest a Tinkerbell agent sends for an ActionResponse it ran: the one wisp-agent sends. */
export { statusRequest as statusFor } from "../../agent/workflow-client.ts";

/** A Timestamp message for a Date. */
export const timestamp = (d: Date) => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });

