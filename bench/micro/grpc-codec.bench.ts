// Micro-benchmark of the workflow service's messages (daemon/grpc/codec.ts, protobufjs from
// workflow.proto): decode an agent's GetAction request and its status report, encode the action
// the server answers with. Method: bench/support/micro.ts. Run: npx bun bench/micro/grpc-codec.bench.ts
import protobuf from "protobufjs";
import { createWorkflowCodec, WORKFLOW_PROTO, type ActionResponseMessage } from "../../daemon/grpc/codec.ts";
import { runMicro } from "../support/micro.ts";

const codec = createWorkflowCodec();
// The requests' bytes, encoded from the proto independently of the server's codec.
const wire = protobuf.loadSync(WORKFLOW_PROTO);
const encode = (type: string, value: Record<string, unknown>) => {
  const t = wire.lookupType(type);
  return t.encode(t.fromObject(value)).finish();
};
const actionRequest = encode("proto.ActionRequest", { agentId: "52:54:00:12:34:56" });
const statusRequest = encode("proto.ActionStatusRequest", {
  workflowId: "tink-system/wf-1", agentId: "52:54:00:12:34:56", taskId: "os-installation", actionId: "a1b2c3", actionName: "stream-ubuntu-image",
  actionState: 2, executionStart: { seconds: 1_763_800_000, nanos: 0 }, executionStop: { seconds: 1_763_800_042, nanos: 5 }, executionDuration: "42s", message: { message: "ok" },
});
const response: ActionResponseMessage = {
  workflowId: "tink-system/wf-1", taskId: "os-installation", agentId: "52:54:00:12:34:56", actionId: "a1b2c3", name: "stream-ubuntu-image",
  image: "quay.io/tinkerbell-actions/image2disk:v1.0.0", timeout: 600, command: [], volumes: ["/dev:/dev", "/dev/console:/dev/console", "/lib/firmware:/lib/firmware:ro"],
  environment: ["COMPRESSED=true", "DEST_DISK=/dev/nvme0n1", "IMG_URL=http://192.168.1.1:8080/focal.raw.gz"], pid: "host", namespaces: { network: "", pid: "host" },
};
for (const r of [codec.decodeActionRequest(actionRequest), codec.decodeActionStatus(statusRequest)]) if (!r.ok) throw new Error(r.error);

await runMicro("gRPC workflow messages", {
  [`decode ActionRequest (${actionRequest.length} B)`]: () => codec.decodeActionRequest(actionRequest),
  [`decode ActionStatusRequest (${statusRequest.length} B)`]: () => codec.decodeActionStatus(statusRequest),
  [`encode ActionResponse (${codec.encodeActionResponse(response).length} B)`]: () => codec.encodeActionResponse(response),
});
