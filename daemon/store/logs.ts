/**
 * Action output (stdout/stderr lines), kept per action up to a bound so a chatty action cannot
 * fill the database: the newest lines win, because the end of a log is where failures show.
 */
import { and, asc, desc, eq, gt, lt, max, type SQL } from "drizzle-orm";
import { WispError } from "../lib/errors.ts";
import type { Db } from "./open.ts";
import { actionLogs, workflowActions } from "./schema.ts";

/** Lines kept per action; older ones are dropped as new ones arrive. */
export const MAX_LOG_LINES_PER_ACTION = 10_000;
/** Characters kept of one line; the rest is cut (progress bars can be megabytes without a newline). */
export const MAX_LOG_LINE_CHARS = 8_192;
/** Lines one readLogs call returns at most. */
export const MAX_LOG_READ = 1_000;

/** One line as an agent sends it. */
export interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
  at?: Date;
  /** The agent's attempt and per-attempt sequence number; a line whose (action, attempt, seq) is stored already is a repeat and skipped. */
  attempt?: number;
  seq?: number;
}

/** One stored line; `id` orders lines and is the cursor for `readLogs`. */
export interface StoredLogLine {
  id: number;
  actionId: string;
  at: Date;
  stream: "stdout" | "stderr";
  line: string;
}

/** Appends lines to an action's log and drops the oldest beyond `maxLines`; returns lines stored (repeats are not). */
export async function appendLogs(
  db: Db,
  actionId: string,
  lines: LogLine[],
  opts: { now?: Date; maxLines?: number } = {},
): Promise<number> {
  if (lines.length === 0) return 0;
  const maxLines = opts.maxLines ?? MAX_LOG_LINES_PER_ACTION;
  const now = opts.now ?? new Date();
  const kept = lines.slice(-maxLines);
  return db.transaction(async (tx) => {
    const [action] = await tx
      .select({ workflowId: workflowActions.workflowId })
      .from(workflowActions)
      .where(eq(workflowActions.id, actionId));
    if (!action) throw new WispError("not_found", `action ${actionId} not found`);
    const stored = await tx
      .insert(actionLogs)
      .values(
        kept.map((l) => ({
          workflowId: action.workflowId,
          actionId,
          at: l.at ?? now,
          stream: l.stream,
          line: l.line.length > MAX_LOG_LINE_CHARS ? l.line.slice(0, MAX_LOG_LINE_CHARS) : l.line,
          attempt: l.attempt ?? null,
          seq: l.seq ?? null,
        })),
      )
      .onConflictDoNothing({ target: [actionLogs.actionId, actionLogs.attempt, actionLogs.seq] })
      .returning({ id: actionLogs.id });
    await trimLog(tx, actionId, maxLines);
    return stored.length;
  });
}

async function trimLog(db: Db, actionId: string, maxLines: number): Promise<void> {
  const [oldestKept] = await db
    .select({ id: actionLogs.id })
    .from(actionLogs)
    .where(eq(actionLogs.actionId, actionId))
    .orderBy(desc(actionLogs.id))
    .offset(maxLines - 1)
    .limit(1);
  if (oldestKept) {
    await db.delete(actionLogs).where(and(eq(actionLogs.actionId, actionId), lt(actionLogs.id, oldestKept.id)));
  }
}

/** Lines of an action after the cursor `afterId` (0 = from the start), oldest first. */
export async function readLogs(
  db: Db,
  actionId: string,
  opts: { afterId?: number; limit?: number } = {},
): Promise<StoredLogLine[]> {
  const limit = Math.min(opts.limit ?? MAX_LOG_READ, MAX_LOG_READ);
  return db
    .select({
      id: actionLogs.id,
      actionId: actionLogs.actionId,
      at: actionLogs.at,
      stream: actionLogs.stream,
      line: actionLogs.line,
    })
    .from(actionLogs)
    .where(and(eq(actionLogs.actionId, actionId), gt(actionLogs.id, opts.afterId ?? 0)))
    .orderBy(asc(actionLogs.id))
    .limit(limit);
}

/** The highest sequence number stored for an action's attempt (0: none). */
export async function lastLogSeq(db: Db, actionId: string, attempt: number): Promise<number> {
  const [row] = await db
    .select({ seq: max(actionLogs.seq) })
    .from(actionLogs)
    .where(and(eq(actionLogs.actionId, actionId), eq(actionLogs.attempt, attempt)));
  return Number(row?.seq ?? 0);
}

/** One stored line of a workflow, with its action's name and the attempt that wrote it. */
export interface WorkflowLogLine extends StoredLogLine {
  actionName: string;
  attempt?: number;
}

/** Lines of a workflow (optionally one action) after the cursor `afterId`, oldest first. */
export async function readWorkflowLogs(
  db: Db,
  workflowId: string,
  opts: { actionId?: string; afterId?: number; limit?: number } = {},
): Promise<WorkflowLogLine[]> {
  const limit = Math.min(opts.limit ?? MAX_LOG_READ, MAX_LOG_READ);
  const where: SQL[] = [eq(actionLogs.workflowId, workflowId), gt(actionLogs.id, opts.afterId ?? 0)];
  if (opts.actionId !== undefined) where.push(eq(actionLogs.actionId, opts.actionId));
  const rows = await db
    .select({
      id: actionLogs.id,
      at: actionLogs.at,
      actionId: actionLogs.actionId,
      actionName: workflowActions.name,
      attempt: actionLogs.attempt,
      stream: actionLogs.stream,
      line: actionLogs.line,
    })
    .from(actionLogs)
    .innerJoin(workflowActions, eq(workflowActions.id, actionLogs.actionId))
    .where(and(...where))
    .orderBy(asc(actionLogs.id))
    .limit(limit);
  return rows.map(({ attempt, ...r }) => (attempt === null ? r : { ...r, attempt }));
}
