/**
 * The agent protocol's meaning: the core's assignment -> ActionResponse, ActionStatusRequest ->
 * the core's report (or the field that is wrong). Pure; the server does the I/O.
 */
import type { ActionAssignment, ActionReport } from "../core/types.ts";
import { err, ok, type Result } from "../lib/result.ts";
import type { ActionState } from "../workflow/definition.ts";
import type { ActionResponseMessage, ActionStatusMessage, Timestamp } from "./codec.ts";

/** ActionStatusRequest.StateType as numbered on the wire (tinkerbell pkg/proto); a test checks it against the .proto. */
export const STATE_TYPES = { UNSPECIFIED: 0, PENDING: 1, RUNNING: 2, FAILED: 3, TIMEOUT: 4, SUCCESS: 5 } as const;

const STATE_BY_NUMBER: ReadonlyMap<number, ActionState> = new Map(
  (["PENDING", "RUNNING", "FAILED", "TIMEOUT", "SUCCESS"] as const).map((s) => [STATE_TYPES[s], s]),
);

/** The wire number of an action state. */
export const stateToWire = (state: ActionState): number => STATE_TYPES[state];

/** The action state of a wire number; undefined for UNSPECIFIED and numbers the proto does not define. */
export const stateFromWire = (n: number): ActionState | undefined => STATE_BY_NUMBER.get(n);

/** Input the server refuses with INVALID_ARGUMENT: the wire field and why. */
export interface BadField {
  field: string;
  message: string;
}

/** The ActionResponse for an assignment; `namespaces.pid`, when set, also fills the deprecated `pid`, as tink-server does. */
export function toActionResponse(a: ActionAssignment): ActionResponseMessage {
  return {
    workflowId: a.workflowId,
    taskId: a.taskId,
    agentId: a.agentId,
    actionId: a.actionId,
    name: a.name,
    image: a.image,
    timeout: a.timeout,
    command: a.command,
    volumes: a.volumes,
    environment: a.environment,
    pid: a.namespaces.pid || a.pid,
    namespaces: a.namespaces,
  };
}

/** Checks an ActionRequest's agent id. */
export function checkAgentId(agentId: string): Result<string, BadField> {
  return agentId.trim() === "" ? err({ field: "agent_id", message: "agent_id is empty" }) : ok(agentId);
}

// google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;

/** A Timestamp as a Date, or the field it came in when out of google.protobuf.Timestamp's range. */
export function fromTimestamp(t: Timestamp, field: string): Result<Date, BadField> {
  if (!Number.isInteger(t.seconds) || t.seconds < MIN_SECONDS || t.seconds > MAX_SECONDS || t.nanos < 0 || t.nanos > 999_999_999) {
    return err({ field, message: `${field}: not a valid timestamp (seconds ${t.seconds}, nanos ${t.nanos})` });
  }
  return ok(new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)));
}

/** A Timestamp as a Date; Go's zero time (what an agent sends for "not stopped yet") reads as none. */
function toDate(t: Timestamp | undefined, field: string): Result<Date | undefined, BadField> {
  if (t === undefined || (t.seconds === MIN_SECONDS && t.nanos === 0)) return ok(undefined);
  return fromTimestamp(t, field);
}

/** The ids every agent message carries: none empty, and workflow_id as namespace/name. */
export function checkActionIds(m: { workflowId: string; agentId: string; actionId: string }): Result<void, BadField> {
  for (const [field, value] of [
    ["workflow_id", m.workflowId],
    ["agent_id", m.agentId],
    ["action_id", m.actionId],
  ] as const) {
    if (value.trim() === "") return err({ field, message: `${field} is empty` });
  }
  if (!/^[^/]+\/[^/]+$/.test(m.workflowId)) return err({ field: "workflow_id", message: `workflow_id "${m.workflowId}" is not namespace/name` });
  return ok(undefined);
}

/** The core's report for an ActionStatusRequest, or the first field that is wrong. */
export function toActionReport(m: ActionStatusMessage): Result<ActionReport, BadField> {
  const ids = checkActionIds(m);
  if (!ids.ok) return ids;
  const state = stateFromWire(m.actionState);
  if (state === undefined) {
    const name = m.actionState === STATE_TYPES.UNSPECIFIED ? "UNSPECIFIED" : String(m.actionState);
    return err({ field: "action_state", message: `action_state ${name} is not one of PENDING, RUNNING, FAILED, TIMEOUT, SUCCESS` });
  }
  const start = toDate(m.executionStart, "execution_start");
  if (!start.ok) return start;
  const stop = toDate(m.executionStop, "execution_stop");
  if (!stop.ok) return stop;
  return ok({
    workflowId: m.workflowId,
    agentId: m.agentId,
    taskId: m.taskId || undefined,
    actionId: m.actionId,
    actionName: m.actionName || undefined,
    state,
    startedAt: start.value,
    stoppedAt: stop.value,
    message: m.message || undefined,
  });
}
