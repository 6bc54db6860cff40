/**
 * The log service's meaning: a LogBatch -> the core's ActionLogReport, or the first field that
 * is wrong or over a bound. Pure; the server does the I/O.
 */
import type { ActionLogReport } from "../core/types.ts";
import { err, ok, type Result } from "../lib/result.ts";
import { MAX_LOG_LINE_CHARS } from "../store/logs.ts";
import type { LogBatchMessage } from "./log-codec.ts";
import type { BadField } from "./policy.ts";

/** Lines one PushLogs may carry (an agent sends a batch every fraction of a second). */
export const MAX_LOG_BATCH_LINES = 500;
/** Characters of one line; longer lines are refused, so the agent cuts them (the store keeps this many). */
export const MAX_PUSHED_LINE_CHARS = MAX_LOG_LINE_CHARS;

/** LogLine.Stream as numbered on the wire. */
export const LOG_STREAMS = { STDOUT: 1, STDERR: 2 } as const;
const STREAM_BY_NUMBER: ReadonlyMap<number, "stdout" | "stderr"> = new Map([
  [LOG_STREAMS.STDOUT, "stdout"],
  [LOG_STREAMS.STDERR, "stderr"],
]);

// google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;

/** The core's report for a LogBatch; lines without a time get `now`. */
export function toActionLogReport(m: LogBatchMessage, now: Date): Result<ActionLogReport, BadField> {
  for (const [field, value] of [
    ["workflow_id", m.workflowId],
    ["agent_id", m.agentId],
    ["action_id", m.actionId],
  ] as const) {
    if (value.trim() === "") return err({ field, message: `${field} is empty` });
  }
  if (!/^[^/]+\/[^/]+$/.test(m.workflowId)) return err({ field: "workflow_id", message: `workflow_id "${m.workflowId}" is not namespace/name` });
  if (m.attempt < 1) return err({ field: "attempt", message: "attempt must be 1 or more" });
  if (m.lines.length > MAX_LOG_BATCH_LINES) {
    return err({ field: "lines", message: `lines: ${m.lines.length} in one batch, more than ${MAX_LOG_BATCH_LINES}` });
  }
  const lines: ActionLogReport["lines"] = [];
  for (const [i, l] of m.lines.entries()) {
    const at = `lines[${i}]`;
    if (!Number.isSafeInteger(l.seq) || l.seq < 1) return err({ field: `${at}.seq`, message: `${at}.seq: must be 1 or more` });
    if (i > 0 && l.seq <= m.lines[i - 1]!.seq) return err({ field: `${at}.seq`, message: `${at}.seq: ${l.seq} does not follow ${m.lines[i - 1]!.seq}` });
    const stream = STREAM_BY_NUMBER.get(l.stream);
    if (!stream) return err({ field: `${at}.stream`, message: `${at}.stream: ${l.stream} is not STDOUT (1) or STDERR (2)` });
    if (l.line.length > MAX_PUSHED_LINE_CHARS) {
      return err({ field: `${at}.line`, message: `${at}.line: ${l.line.length} characters, more than ${MAX_PUSHED_LINE_CHARS}` });
    }
    let when = now;
    if (l.at !== undefined) {
      const { seconds, nanos } = l.at;
      if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
        return err({ field: `${at}.at`, message: `${at}.at: not a valid timestamp (seconds ${seconds}, nanos ${nanos})` });
      }
      when = new Date(seconds * 1000 + Math.floor(nanos / 1e6));
    }
    lines.push({ seq: l.seq, at: when, stream, line: l.line });
  }
  return ok({ workflowId: m.workflowId, agentId: m.agentId, actionId: m.actionId, attempt: m.attempt, lines });
}
