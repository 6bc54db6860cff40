/**
 * The log service's meaning: a LogBatch -> the core's ActionLogReport, or the first field that
 * is wrong or over a bound. Pure; the server does the I/O.
 */
import type { ActionLogReport } from "../core/types.ts";
import { err, ok, type Result } from "../lib/result.ts";
import { MAX_LOG_LINE_CHARS } from "../store/logs.ts";
import type { LogBatchMessage } from "./log-codec.ts";
import { checkActionIds, fromTimestamp, type BadField } from "./policy.ts";

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

/** The core's report for a LogBatch; lines without a time get `now`. */
export function toActionLogReport(m: LogBatchMessage, now: Date): Result<ActionLogReport, BadField> {
  const ids = checkActionIds(m);
  if (!ids.ok) return ids;
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
      const date = fromTimestamp(l.at, `${at}.at`);
      if (!date.ok) return date;
      when = date.value;
    }
    lines.push({ seq: l.seq, at: when, stream, line: l.line });
  }
  return ok({ workflowId: m.workflowId, agentId: m.agentId, actionId: m.actionId, attempt: m.attempt, lines });
}
