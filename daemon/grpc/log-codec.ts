/**
 * wisp.v1.ActionLogs messages: bytes <-> plain values through protobufjs, with the types read
 * from wisp_logs.proto. Pure: no I/O after loading, no logging; decoding never throws on input.
 */
import { join } from "node:path";
import protobuf from "protobufjs";
import { err, ok, type Result } from "../lib/result.ts";
import type { Timestamp } from "./codec.ts";

/** The log service definition beside this file. */
export const LOGS_PROTO = join(import.meta.dir, "wisp_logs.proto");
/** Fully qualified service name: the gRPC path is `/wisp.v1.ActionLogs/PushLogs`. */
export const LOGS_SERVICE_NAME = "wisp.v1.ActionLogs";

/** LogLine as decoded; `stream` is the raw enum number (open enum). */
export interface LogLineMessage {
  seq: number;
  at?: Timestamp;
  stream: number;
  line: string;
}

/** LogBatch as decoded. */
export interface LogBatchMessage {
  workflowId: string;
  agentId: string;
  actionId: string;
  attempt: number;
  lines: LogLineMessage[];
}

/** Decoder of LogBatch, encoder of LogAck. */
export interface LogCodec {
  decodeLogBatch(buf: Uint8Array): Result<LogBatchMessage>;
  encodeLogAck(lastSeq: number): Uint8Array;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: true, arrays: true };

/** Loads wisp_logs.proto (once per server); throws only if the file is broken. */
export function createLogCodec(protoFile = LOGS_PROTO): LogCodec {
  const root = protobuf.loadSync(protoFile);
  const batch = root.lookupType("wisp.v1.LogBatch");
  const ack = root.lookupType("wisp.v1.LogAck");
  return {
    decodeLogBatch(buf) {
      try {
        const o = batch.toObject(batch.decode(buf), TO_OBJECT);
        return ok({
          workflowId: o.workflowId as string,
          agentId: o.agentId as string,
          actionId: o.actionId as string,
          attempt: o.attempt as number,
          lines: (o.lines as Record<string, unknown>[]).map((l) => ({
            seq: l.seq as number,
            at: l.at ? { seconds: Number((l.at as Timestamp).seconds ?? 0), nanos: (l.at as Timestamp).nanos ?? 0 } : undefined,
            stream: l.stream as number,
            line: l.line as string,
          })),
        });
      } catch (e) {
        return err(`LogBatch: ${(e as Error).message}`);
      }
    },
    // proto3 leaves a zero off the wire.
    encodeLogAck: (lastSeq) => ack.encode(lastSeq === 0 ? {} : { lastSeq }).finish(),
  };
}
