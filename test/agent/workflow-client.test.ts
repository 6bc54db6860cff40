/**
 * agent/workflow-client.ts against an in-process grpc-js server: the ActionResponse decoded, and
 * the optional wisp-action-attempt response header read (absent: no attempt, as from today's wispd).
 */
import * as grpc from "@grpc/grpc-js";
import { expect, test } from "bun:test";
import { ATTEMPT_HEADER, parseAttempt, workflowClient, workflowRoot } from "../../agent/workflow-client.ts";

const identity = (b: Buffer) => b;

/** A WorkflowService whose GetAction answers one action, with `headers` as response metadata. */
async function serve(headers: Record<string, string>) {
  const type = workflowRoot().lookupType("proto.ActionResponse");
  const server = new grpc.Server();
  const method = { path: "/proto.WorkflowService/GetAction", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  server.addService({ GetAction: method }, {
    GetAction: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      call.sendMetadata(md);
      callback(null, Buffer.from(type.encode(type.fromObject({ workflowId: "ns/wf", actionId: "a1", name: "hello" })).finish()));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, stop: () => server.forceShutdown() };
}

for (const [headers, attempt] of [[{ [ATTEMPT_HEADER]: "3" }, 3], [{}, undefined]] as const) {
  test(`GetAction with ${attempt === undefined ? "no attempt header" : `${ATTEMPT_HEADER}: ${attempt}`}`, async () => {
    const server = await serve(headers);
    const client = workflowClient(`127.0.0.1:${server.port}`, { tls: false, insecureTls: false });
    try {
      const r = await client.getAction("m1");
      expect(r.code).toBe(grpc.status.OK);
      expect(r.value).toMatchObject({ workflowId: "ns/wf", actionId: "a1", name: "hello" });
      expect(r.attempt).toBe(attempt);
    } finally {
      client.close();
      server.stop();
    }
  });
}

test("only a positive integer is an attempt", () => {
  expect(parseAttempt("2")).toBe(2);
  expect(parseAttempt(" 12 ")).toBe(12);
  for (const bad of ["0", "-1", "1.5", "x", "", undefined, Buffer.from("2")]) expect(parseAttempt(bad)).toBeUndefined();
});
