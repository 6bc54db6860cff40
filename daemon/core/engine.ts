/**
 * The workflow engine's agent side: which action an agent runs next, and what its reports do.
 * Every report is one transaction with the workflow row locked (SELECT ... FOR UPDATE).
 */
import { and, asc, eq } from "drizzle-orm";
import { WispError } from "../lib/errors.ts";
import { workflowFields } from "../lib/log.ts";
import { workflowActions, workflows, workflowTasks } from "../store/schema.ts";
import { TERMINAL_STATES, type ActionState } from "../workflow/definition.ts";
import { workflowKey, type CoreContext, type WorkflowRow } from "./objects.ts";
import { normalizeWorker } from "./render.ts";
import { actionFailed, actionRunning, actionSucceeded } from "./transitions.ts";
import type { ActionAssignment, ActionReport } from "./types.ts";
import { findWorkflow, loadSteps, recordEvents, type ActionRow, type EventInput, type TaskRow } from "./workflows.ts";

const isTerminal = (state: string) => (TERMINAL_STATES as readonly string[]).includes(state);

/** Splits `namespace/name`; throws invalid_argument otherwise. */
export function parseWorkflowKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  if (slash <= 0 || slash === key.length - 1 || key.indexOf("/", slash + 1) !== -1) {
    throw new WispError("invalid_argument", `workflow id "${key}" is not namespace/name`, { field: "workflowId" });
  }
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The wire form of an action for an agent. */
export function toAssignment(wf: WorkflowRow, task: TaskRow, action: ActionRow, agentId: string): ActionAssignment {
  return {
    workflowId: workflowKey(wf.namespace, wf.name),
    taskId: task.id,
    agentId,
    actionId: action.id,
    name: action.name,
    image: action.image,
    timeout: action.timeout,
    command: action.command,
    volumes: action.volumes,
    environment: Object.entries(action.environment)
      .map(([k, v]) => `${k}=${v}`)
      .sort(),
    pid: action.pid,
    namespaces: { network: action.namespaces.network ?? "", pid: action.namespaces.pid ?? "" },
    retries: action.retries,
    attempt: action.attempt,
  };
}

/** Why a workflow whose current task belongs to the agent is not served. */
function notRunnable(wf: WorkflowRow): string {
  const id = workflowKey(wf.namespace, wf.name);
  if (wf.disabled) return `workflow ${id} is disabled`;
  if (wf.state === "PREPARING") return `workflow ${id} is being prepared`;
  return `workflow ${id} is ${wf.state}`;
}

/** The next action for `agentId`: running ones first (re-served after an agent restart), then the oldest pending. */
export async function getAction(ctx: CoreContext, agentId: string): Promise<ActionAssignment> {
  const worker = normalizeWorker(agentId);
  const current = await ctx.db
    .select({ wf: workflows, task: workflowTasks, action: workflowActions })
    .from(workflows)
    .innerJoin(
      workflowActions,
      and(eq(workflowActions.workflowId, workflows.id), eq(workflowActions.position, workflows.currentActionIndex)),
    )
    .innerJoin(workflowTasks, eq(workflowTasks.id, workflowActions.taskId))
    .where(eq(workflowTasks.worker, worker))
    .orderBy(asc(workflows.createdAt), asc(workflows.namespace), asc(workflows.name));
  const runnable = current.filter((r) => !r.wf.disabled && (r.wf.state === "RUNNING" || r.wf.state === "PENDING"));
  const pick = runnable.find((r) => r.wf.state === "RUNNING") ?? runnable[0];
  if (pick) return toAssignment(pick.wf, pick.task, pick.action, agentId);
  if (current[0]) throw new WispError("invalid_state", notRunnable(current[0].wf));
  // The agent's task may come later, or its workflow may be over.
  const [later] = await ctx.db
    .select({ wf: workflows, task: workflowTasks.name })
    .from(workflowTasks)
    .innerJoin(workflows, eq(workflows.id, workflowTasks.workflowId))
    .where(eq(workflowTasks.worker, worker))
    .orderBy(asc(workflows.createdAt), asc(workflows.namespace), asc(workflows.name))
    .limit(1);
  if (!later) throw new WispError("not_found", `no workflow for agent ${agentId}`);
  if (isTerminal(later.wf.state)) throw new WispError("invalid_state", notRunnable(later.wf));
  const id = workflowKey(later.wf.namespace, later.wf.name);
  throw new WispError("invalid_state", `workflow ${id} has not reached task ${later.task} yet`);
}

/** A report that repeats what is already recorded: the agent retried after a lost response. */
function isRepeat(action: ActionRow, state: ActionState): boolean {
  if (action.state === state) return true;
  // A failed attempt awaiting its retry keeps finishedAt: the same failure reported again.
  return action.state === "PENDING" && action.finishedAt !== null && (state === "FAILED" || state === "TIMEOUT");
}

/** Checks a report against the locked workflow; returns the action to change, or undefined for a repeat. */
function checkReport(wf: WorkflowRow, tasks: TaskRow[], actions: ActionRow[], report: ActionReport): ActionRow | undefined {
  const id = workflowKey(wf.namespace, wf.name);
  const refuse = (message: string) => new WispError("invalid_state", message);
  const action = actions.find((a) => a.id === report.actionId);
  if (!action) throw refuse(`action ${report.actionId} is not part of workflow ${id}`);
  const task = tasks.find((t) => t.id === action.taskId)!;
  if (task.worker !== normalizeWorker(report.agentId)) {
    throw refuse(`agent ${report.agentId} is not the worker of task ${task.name} in workflow ${id} (worker ${task.worker})`);
  }
  if (report.taskId && report.taskId !== task.id && report.taskId !== task.name) {
    throw refuse(`action ${action.name} belongs to task ${task.name}, not ${report.taskId}`);
  }
  if (isRepeat(action, report.state)) return undefined;
  if (isTerminal(wf.state)) throw refuse(`workflow ${id} is already ${wf.state}`);
  if (wf.state === "PREPARING") throw refuse(`workflow ${id} is being prepared`);
  const current = actions.find((a) => a.position === wf.currentActionIndex);
  if (action.id !== current?.id) {
    throw refuse(`stale report for action ${action.name} (${action.state}): the current action of workflow ${id} is ${current?.name ?? "none"}`);
  }
  if (report.state === "PENDING") throw refuse(`action ${action.name} is ${action.state}; PENDING cannot be reported`);
  return action;
}

/** What a report changed, for the change feed: the workflow's state after it and the events recorded. */
export interface ReportOutcome {
  state: WorkflowRow["state"];
  events: EventInput[];
}

/**
 * The workflow row locked (FOR UPDATE), then the workflow with its tasks and actions in one
 * statement: two statements instead of three (a report's cost is mostly per statement: bench/grpc
 * profile, 70 % of wispd's CPU inside PGlite). The lock must come first, in a statement of its
 * own: on PostgreSQL (READ COMMITTED) a joined SELECT ... FOR UPDATE OF workflows that waited for
 * another report's lock re-reads only the locked row, not the joined ones (EvalPlanQual), so it
 * saw the workflow already moved to the next action with this action still RUNNING, and refused
 * an identical concurrent report as stale. The read after the lock takes a new snapshot. A
 * workflow without actions has no joined row: read the plain way then.
 */
async function lockWithSteps(db: CoreContext["db"], namespace: string, name: string): Promise<{ wf?: WorkflowRow; tasks: TaskRow[]; actions: ActionRow[] }> {
  const [locked] = await db
    .select({ id: workflows.id })
    .from(workflows)
    .where(and(eq(workflows.namespace, namespace), eq(workflows.name, name)))
    .for("update");
  if (!locked) return { tasks: [], actions: [] };
  const rows = await db
    .select({ wf: workflows, task: workflowTasks, action: workflowActions })
    .from(workflows)
    .innerJoin(workflowActions, eq(workflowActions.workflowId, workflows.id))
    .innerJoin(workflowTasks, eq(workflowTasks.id, workflowActions.taskId))
    .where(eq(workflows.id, locked.id))
    .orderBy(asc(workflowActions.position));
  if (rows.length === 0) {
    const wf = await findWorkflow(db, namespace, name);
    return wf ? { wf, ...(await loadSteps(db, [wf.id])) } : { tasks: [], actions: [] };
  }
  const tasks = new Map<string, TaskRow>();
  for (const r of rows) if (!tasks.has(r.task.id)) tasks.set(r.task.id, r.task);
  return { wf: rows[0]!.wf, tasks: [...tasks.values()].sort((a, b) => a.position - b.position), actions: rows.map((r) => r.action) };
}

/** Applies an agent's report in one transaction; repeats are no-ops (undefined), stale reports change nothing. */
export async function reportAction(ctx: CoreContext, report: ActionReport): Promise<ReportOutcome | undefined> {
  const { namespace, name } = parseWorkflowKey(report.workflowId);
  return ctx.db.transaction(async (db) => {
    const tx = { ...ctx, db };
    const { wf, tasks, actions } = await lockWithSteps(db, namespace, name);
    if (!wf) throw new WispError("not_found", `workflow ${report.workflowId} not found`);
    const action = checkReport(wf, tasks, actions, report);
    if (!action) return undefined;
    const message = report.message || undefined;
    const events =
      report.state === "RUNNING"
        ? await actionRunning(tx, wf, action, message)
        : report.state === "SUCCESS"
          ? await actionSucceeded(tx, wf, action, message)
          : await actionFailed(tx, wf, action, report.state as "FAILED" | "TIMEOUT", message);
    await recordEvents(tx, wf.id, events);
    ctx.logger?.debug({ ...workflowFields(wf, report.agentId), workflowId: report.workflowId, actionId: action.id, state: report.state }, "action reported");
    return { state: wf.state, events };
  });
}
