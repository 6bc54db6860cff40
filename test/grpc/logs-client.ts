/**
 * An agent's side of wisp.v1.ActionLogs built only from daemon/grpc/wisp_logs.proto (protobufjs
 * reads the file, grpc-js calls the path it names): nothing here imports the server's code.
 */
import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import protobuf from "protobufjs";
import type { Reply } from "./agent-client.ts";

export const LOGS_PROTO_FILE = join(import.meta.dir, "..", "..", "daemon", "grpc", "wisp_logs.proto");
const root = protobuf.loadSync(LOGS_PROTO_FILE);
const service = root.lookupService("wisp.v1.ActionLogs");
const method = service.methods.PushLogs!.resolve() as protobuf.Method;

export interface LogsTestClient {
  /** PushLogs with a LogBatch given as a plain object (enum names allowed). */
  push(batch: Record<string, unknown>): Promise<Reply>;
  /** Sends `body` as the LogBatch unchanged (for malformed input). */
  raw(body: Uint8Array): Promise<Reply>;
  close(): void;
}

/** Connects to `address` (host:port) in plain text, sending `token` as `authorization: Bearer`. */
export function logsTestClient(address: string, opts: { token?: string } = {}): LogsTestClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const path = `/${service.fullName.replace(/^\./, "")}/PushLogs`;
  function call(body: Buffer): Promise<Reply> {
    const md = new grpc.Metadata();
    if (opts.token !== undefined) md.set("authorization", `Bearer ${opts.token}`);
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline: Date.now() + 10_000 }, (e, res) => {
        if (e) return resolve({ code: e.code, details: e.details });
        const type = method.resolvedResponseType!;
        resolve({ code: grpc.status.OK, details: "", value: type.toObject(type.decode(res!), { longs: Number, defaults: true }) });
      });
    });
  }
  return {
    push(batch) {
      const type = method.resolvedRequestType!;
      const msg = type.fromObject(batch);
      const problem = type.verify(msg);
      if (problem) throw new Error(`test bug: LogBatch: ${problem}`);
      return call(Buffer.from(type.encode(msg).finish()));
    },
    raw: (body) => call(Buffer.from(body)),
    close: () => client.close(),
  };
}
