/**
 * The agent protocol's messages: bytes <-> plain values through protobufjs, with the types read
 * from workflow.proto (the one description of the wire). Pure: no I/O after loading, no logging,
 * and decoding never throws on input.
 */
import { join } from "node:path";
import protobuf from "protobufjs";
import type { ActionResponseFields } from "../core/types.ts";
import { err, ok, type Result } from "../lib/result.ts";

/** The service definition beside this file. */
export const WORKFLOW_PROTO = join(import.meta.dir, "workflow.proto");
/** Fully qualified service name: the gRPC paths are `/proto.WorkflowService/<method>`. */
export const SERVICE_NAME = "proto.WorkflowService";

/** ActionRequest as the server reads it (the inventory is not used yet, so not decoded into values). */
export interface ActionRequestMessage {
  agentId: string;
}

/** google.protobuf.Timestamp. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** ActionStatusRequest; `actionState` is the raw enum number (open enum: anything may arrive). */
export interface ActionStatusMessage {
  workflowId: string;
  agentId: string;
  taskId: string;
  actionId: string;
  actionName: string;
  actionState: number;
  executionStart?: Timestamp;
  executionStop?: Timestamp;
  executionDuration: string;
  message: string;
}

/** ActionResponse; empty strings and lists are left off the wire, as proto3 does. */
export type ActionResponseMessage = ActionResponseFields;

/** Encoders and decoders of the four messages. */
export interface WorkflowCodec {
  decodeActionRequest(buf: Uint8Array): Result<ActionRequestMessage>;
  decodeActionStatus(buf: Uint8Array): Result<ActionStatusMessage>;
  encodeActionResponse(msg: ActionResponseMessage): Uint8Array;
  /** ActionStatusResponse has no fields: always zero bytes. */
  encodeActionStatusResponse(): Uint8Array;
  /** The StateType enum from the proto, name -> number. */
  readonly stateTypes: Readonly<Record<string, number>>;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: true };

/** Loads workflow.proto (once per server) and returns its codec; throws only if the file is broken. */
export function createWorkflowCodec(protoFile = WORKFLOW_PROTO): WorkflowCodec {
  const root = protobuf.loadSync(protoFile);
  const request = root.lookupType("proto.ActionRequest");
  const status = root.lookupType("proto.ActionStatusRequest");
  const response = root.lookupType("proto.ActionResponse");
  const stateTypes = root.lookupEnum("proto.ActionStatusRequest.StateType").values;

  const decode = <T>(type: protobuf.Type, buf: Uint8Array, read: (o: Record<string, unknown>) => T): Result<T> => {
    try {
      return ok(read(type.toObject(type.decode(buf), TO_OBJECT)));
    } catch (e) {
      return err(`${type.name}: ${(e as Error).message}`);
    }
  };

  return {
    stateTypes,
    decodeActionRequest: (buf) => decode(request, buf, (o) => ({ agentId: o.agentId as string })),
    decodeActionStatus: (buf) =>
      decode(status, buf, (o) => ({
        workflowId: o.workflowId as string,
        agentId: o.agentId as string,
        taskId: o.taskId as string,
        actionId: o.actionId as string,
        actionName: o.actionName as string,
        actionState: o.actionState as number,
        executionStart: timestamp(o.executionStart),
        executionStop: timestamp(o.executionStop),
        executionDuration: o.executionDuration as string,
        message: ((o.message as { message?: string } | null)?.message ?? "") as string,
      })),
    encodeActionResponse: (msg) => response.encode(compact(msg)).finish(),
    encodeActionStatusResponse: () => new Uint8Array(0),
  };
}

function timestamp(v: unknown): Timestamp | undefined {
  if (v === null || typeof v !== "object") return undefined;
  const t = v as { seconds?: number; nanos?: number };
  return { seconds: t.seconds ?? 0, nanos: t.nanos ?? 0 };
}

// protobufjs writes every present key, "" included; proto3 (and Go's encoder for implicit
// presence) leaves default values off the wire, so the bytes match what tink-server sends.
function compact(msg: ActionResponseMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (k === "namespaces") continue;
    if (v === "" || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  const ns = msg.namespaces;
  if (ns.network !== "" || ns.pid !== "") out.namespaces = { ...(ns.network ? { network: ns.network } : {}), ...(ns.pid ? { pid: ns.pid } : {}) };
  return out;
}
