/**
 * Action logs (beyond Tinkerbell): agents push their actions' output lines, the API reads them
 * per workflow. Only the worker of an action may write its log, and only while the action is
 * its workflow's current one or the one just before (a last flush after the final report).
 */
import { WispError } from "../lib/errors.ts";
import { appendLogs, lastLogSeq, readWorkflowLogs } from "../store/logs.ts";
import { parseWorkflowKey } from "./engine.ts";
import { workflowKey, type CoreContext } from "./objects.ts";
import { normalizeWorker } from "./render.ts";
import type { ActionLogAck, ActionLogReport, WorkflowLogPage } from "./types.ts";
import { findWorkflow, loadSteps } from "./workflows.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stores a batch of an agent's lines; lines it sent before (same action, attempt and seq) are not stored twice. */
export async function appendActionLogs(ctx: CoreContext, report: ActionLogReport): Promise<ActionLogAck> {
  const { namespace, name } = parseWorkflowKey(report.workflowId);
  const wf = await findWorkflow(ctx.db, namespace, name);
  if (!wf) throw new WispError("not_found", `workflow ${report.workflowId} not found`);
  const id = workflowKey(wf.namespace, wf.name);
  const refuse = (message: string) => new WispError("invalid_state", message);
  const { tasks, actions } = await loadSteps(ctx.db, [wf.id]);
  const action = actions.find((a) => a.id === report.actionId);
  if (!action) throw refuse(`action ${report.actionId} is not part of workflow ${id}`);
  const task = tasks.find((t) => t.id === action.taskId)!;
  if (task.worker !== normalizeWorker(report.agentId)) {
    throw refuse(`agent ${report.agentId} is not the worker of task ${task.name} in workflow ${id} (worker ${task.worker})`);
  }
  // The current action, or the one before it: its agent flushes its last lines after reporting SUCCESS.
  if (action.position !== wf.currentActionIndex && action.position !== wf.currentActionIndex - 1) {
    const current = actions.find((a) => a.position === wf.currentActionIndex);
    throw refuse(`action ${action.name} is not the current action of workflow ${id} (${current?.name ?? "none"}): its lines are refused`);
  }
  if (report.attempt > action.attempt) {
    throw refuse(`action ${action.name} is at attempt ${action.attempt}; lines for attempt ${report.attempt} are refused`);
  }
  const stored = await appendLogs(
    ctx.db,
    action.id,
    report.lines.map((l) => ({ ...l, attempt: report.attempt })),
    { now: ctx.now() },
  );
  const lastSeq = await lastLogSeq(ctx.db, action.id, report.attempt);
  ctx.logger?.debug({ workflowId: id, actionId: action.id, lines: report.lines.length, stored }, "action log lines stored");
  return { stored, lastSeq };
}

/** A page of a workflow's action logs with the workflow's state read first, so a follower that sees a terminal state reads every line in one more page. */
export async function workflowLogs(
  ctx: CoreContext,
  namespace: string,
  name: string,
  opts: { action?: string; since?: number; limit?: number } = {},
): Promise<WorkflowLogPage> {
  const wf = await findWorkflow(ctx.db, namespace, name);
  if (!wf) throw new WispError("not_found", `Workflow ${namespace}/${name} not found`);
  let actionId: string | undefined;
  const wanted = opts.action;
  if (wanted !== undefined) {
    const { actions } = await loadSteps(ctx.db, [wf.id]);
    // A name shared by actions of several tasks means the first in run order; the id is exact.
    const match = actions.find((a) => a.name === wanted) ?? (UUID.test(wanted) ? actions.find((a) => a.id === wanted.toLowerCase()) : undefined);
    if (!match) {
      throw new WispError("not_found", `workflow ${namespace}/${name} has no action "${wanted}" (actions: ${actions.map((a) => a.name).join(", ")})`, { field: "action" });
    }
    actionId = match.id;
  }
  const rows = await readWorkflowLogs(ctx.db, wf.id, { actionId, afterId: opts.since, limit: opts.limit });
  return {
    state: wf.state,
    lines: rows.map((r) => ({ ...r, at: r.at.toISOString() })),
  };
}
