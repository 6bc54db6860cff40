/**
 * Wire compatibility with Tinkerbell's agents: field numbers and wire types pinned by hand-written
 * bytes, and the whole message/field table of tinkerbell/tinkerbell pkg/proto checked against our
 * .proto. A renumbered or retyped field fails here, not in a data centre.
 */
import { expect, test } from "bun:test";
import type protobuf from "protobufjs";
import type { ActionAssignment } from "../../daemon/core/types.ts";
import { createWorkflowCodec } from "../../daemon/grpc/codec.ts";
import { STATE_TYPES, toActionResponse } from "../../daemon/grpc/policy.ts";
import { wire } from "./agent-client.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/#.*$/gm, "").trim().split(/\s+/).map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

// ActionStatusRequest as a tink-agent sends it: tag = field << 3 | wire type (2 = length-delimited, 0 = varint).
const STATUS_GOLDEN = hex(`
  0a 0a 64 65 66 61 75 6c 74 2f 77 66                       # 1 workflow_id "default/wf"
  12 11 31 63 3a 36 39 3a 37 61 3a 31 31 3a 32 32 3a 33 33  # 2 agent_id "1c:69:7a:11:22:33"
  1a 02 74 31                                               # 3 task_id "t1"
  22 02 61 31                                               # 4 action_id "a1"
  2a 06 73 74 72 65 61 6d                                   # 5 action_name "stream"
  30 05                                                     # 6 action_state SUCCESS (varint 5)
  3a 0c 08 80 f2 d6 ca 06 10 80 ca b5 ee 01                 # 7 execution_start {seconds 1767225600, nanos 5e8}
  42 06 08 8a f2 d6 ca 06                                   # 8 execution_stop {seconds 1767225610}
  4a 05 31 30 2e 35 73                                      # 9 execution_duration "10.5s"
  52 06 0a 04 64 6f 6e 65                                   # 10 message {1 message "done"}
`);

const STATUS_VALUES = {
  workflowId: "default/wf",
  agentId: "1c:69:7a:11:22:33",
  taskId: "t1",
  actionId: "a1",
  actionName: "stream",
  actionState: STATE_TYPES.SUCCESS,
  executionStart: { seconds: 1767225600, nanos: 500_000_000 },
  executionStop: { seconds: 1767225610, nanos: 0 },
  executionDuration: "10.5s",
  message: "done",
};

const RESPONSE_GOLDEN = hex(`
  0a 0a 64 65 66 61 75 6c 74 2f 77 66                       # 1 workflow_id "default/wf"
  12 02 74 31                                               # 2 task_id "t1"
  1a 01 6d                                                  # 3 agent_id "m"
  22 02 61 31                                               # 4 action_id "a1"
  2a 01 6e                                                  # 5 name "n"
  32 06 61 6c 70 69 6e 65                                   # 6 image "alpine"
  38 3c                                                     # 7 timeout 60 (int64 varint)
  42 02 73 68 42 02 2d 63                                   # 8 command "sh", "-c"
  4a 05 2f 61 3a 2f 61                                      # 9 volumes "/a:/a"
  52 03 41 3d 31 52 03 42 3d 32                             # 10 environment "A=1", "B=2"
  5a 04 68 6f 73 74                                         # 11 pid "host"
  62 0c 0a 04 68 6f 73 74 12 04 68 6f 73 74                 # 12 namespaces {1 network "host", 2 pid "host"}
`);

const ASSIGNMENT: ActionAssignment = {
  workflowId: "default/wf",
  taskId: "t1",
  agentId: "m",
  actionId: "a1",
  name: "n",
  image: "alpine",
  timeout: 60,
  command: ["sh", "-c"],
  volumes: ["/a:/a"],
  environment: ["A=1", "B=2"],
  pid: "",
  namespaces: { network: "host", pid: "host" },
  retries: 0,
  attempt: 1,
};

test("the proto encodes an ActionStatusRequest to the golden bytes, and the server decodes them", () => {
  const Status = wire.lookupType("proto.ActionStatusRequest");
  const msg = Status.fromObject({ ...STATUS_VALUES, actionState: "SUCCESS", message: { message: "done" } });
  expect(toHex(Status.encode(msg).finish())).toBe(toHex(STATUS_GOLDEN));
  expect(createWorkflowCodec().decodeActionStatus(STATUS_GOLDEN)).toEqual({ ok: true, value: STATUS_VALUES });
});

test("the server encodes an ActionResponse to the golden bytes, and the proto decodes them", () => {
  expect(toHex(createWorkflowCodec().encodeActionResponse(toActionResponse(ASSIGNMENT)))).toBe(toHex(RESPONSE_GOLDEN));
  const Response = wire.lookupType("proto.ActionResponse");
  expect(Response.toObject(Response.decode(RESPONSE_GOLDEN), { longs: Number })).toEqual({
    ...Object.fromEntries(Object.entries(ASSIGNMENT).filter(([k]) => !["retries", "attempt"].includes(k))),
    pid: "host", // namespaces.pid fills the deprecated pid, as tink-server does
  });
});

test("an ActionRequest is field 1 agent_id, field 2 agent_attributes; empty defaults leave the wire", () => {
  const Request = wire.lookupType("proto.ActionRequest");
  const bytes = Request.encode(Request.fromObject({ agentId: "m", agentAttributes: { cpu: { totalCores: 8 } } })).finish();
  expect(toHex(bytes)).toBe("0a016d" + "1204" + "0a02" + "0808"); // 1 "m"; 2 {1 cpu {1 total_cores 8}}
  expect(createWorkflowCodec().decodeActionRequest(bytes)).toEqual({ ok: true, value: { agentId: "m" } });
  const empty = toActionResponse({ ...ASSIGNMENT, taskId: "", command: [], volumes: [], environment: [], namespaces: { network: "", pid: "" } });
  // Only fields 1, 3, 4, 5, 6, 7: no empty task_id, lists, pid or namespaces on the wire (proto3 defaults).
  expect(toHex(createWorkflowCodec().encodeActionResponse(empty))).toBe("0a0a64656661756c742f7766" + "1a016d" + "22026131" + "2a016e" + "3206616c70696e65" + "383c");
});

test("StateType: nested in ActionStatusRequest with Tinkerbell's numbers", () => {
  expect(wire.lookupEnum("proto.ActionStatusRequest.StateType").values).toEqual(STATE_TYPES);
  expect(createWorkflowCodec().stateTypes).toEqual(STATE_TYPES);
});

test("malformed bytes are a Result, never a throw", () => {
  const codec = createWorkflowCodec();
  for (const bad of ["0a ff ff ff ff 0f", "0f", "12 05 61", "3a 03 08 ff", "ff ff ff ff ff ff ff ff ff ff ff"]) {
    expect(codec.decodeActionStatus(hex(bad)).ok).toBe(false);
    expect(codec.decodeActionRequest(hex(bad)).ok).toBe(false);
  }
});

// tinkerbell/tinkerbell pkg/proto (get_action_request.proto, get_action_response.proto,
// report_action_status_request.proto, report_action_status_response.proto, workflow_service.proto).
const TINKERBELL: Record<string, string> = {
  ActionRequest: "agent_id=1:string agent_attributes=2:AgentAttributes",
  ActionResponse:
    "workflow_id=1:string task_id=2:string agent_id=3:string action_id=4:string name=5:string image=6:string timeout=7:int64 " +
    "command=8:string* volumes=9:string* environment=10:string* pid=11:string namespaces=12:Namespaces",
  Namespaces: "network=1:string pid=2:string",
  ActionStatusRequest:
    "workflow_id=1:string agent_id=2:string task_id=3:string action_id=4:string action_name=5:string action_state=6:StateType " +
    "execution_start=7:google.protobuf.Timestamp execution_stop=8:google.protobuf.Timestamp execution_duration=9:string message=10:ActionMessage",
  ActionMessage: "message=1:string",
  ActionStatusResponse: "",
  AgentAttributes:
    "cpu=1:CPU memory=2:Memory block=3:Block* network=4:Network* pci=5:PCI* gpu=6:GPU* chassis=7:Chassis bios=8:BIOS baseboard=9:Baseboard product=10:Product",
  CPU: "total_cores=1:uint32 total_threads=2:uint32 processors=3:Processor*",
  Processor: "id=1:uint32 cores=2:uint32 threads=3:uint32 vendor=4:string model=5:string capabilities=6:string*",
  Memory: "total=1:string usable=2:string",
  Block:
    "name=1:string controller_type=2:string drive_type=3:string size=4:string physical_block_size=5:string vendor=6:string model=7:string wwn=8:string serial_number=9:string",
  Network: "name=1:string mac=2:string speed=3:string enabled_capabilities=4:string*",
  PCI: "vendor=1:string product=2:string class=3:string driver=4:string",
  GPU: "vendor=1:string product=2:string class=3:string driver=4:string",
  Chassis: "serial=1:string vendor=2:string",
  BIOS: "vendor=1:string version=2:string release_date=3:string",
  Baseboard: "vendor=1:string product=2:string version=3:string serial_number=4:string",
  Product: "name=1:string vendor=2:string serial_number=3:string",
};

test("every message and field of Tinkerbell's proto, by name, number and type", () => {
  const snake = (s: string) => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
  const ours: Record<string, string> = {};
  for (const t of (wire.lookup("proto") as protobuf.Namespace).nestedArray) {
    if (!("fieldsArray" in t)) continue;
    const type = t as protobuf.Type;
    ours[type.name] = type.fieldsArray.map((f) => `${snake(f.name)}=${f.id}:${f.type}${f.repeated ? "*" : ""}`).join(" ");
  }
  expect(ours).toEqual(TINKERBELL);
  const svc = wire.lookupService("proto.WorkflowService");
  expect(Object.values(svc.methods).map((m) => `${m.name}(${m.requestType})${m.responseType}`)).toEqual([
    "GetAction(ActionRequest)ActionResponse",
    "ReportActionStatus(ActionStatusRequest)ActionStatusResponse",
  ]);
});
