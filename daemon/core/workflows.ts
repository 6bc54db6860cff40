/** Workflow repository: rendered rows, status views and the event history. */
import { and, asc, eq, inArray } from "drizzle-orm";
import { API_VERSION, type Workflow } from "../manifest/types.ts";
import type { Db } from "../store/open.ts";
import { workflowActions, workflowEvents, workflows, workflowTasks } from "../store/schema.ts";
import type { WorkflowDefinition, WorkflowState } from "../workflow/definition.ts";
import { storedMeta, type CoreContext, type WorkflowRow } from "./objects.ts";
import { normalizeWorker } from "./render.ts";
import type { ActionStatus, StoredWorkflow, WorkflowEvent, WorkflowStatus } from "./types.ts";

export type TaskRow = typeof workflowTasks.$inferSelect;
export type ActionRow = typeof workflowActions.$inferSelect;

/** What an event records; `at` is the context's clock. */
export interface EventInput {
  type: string;
  from?: string | null;
  to?: string | null;
  actionId?: string;
  actionName?: string;
  message?: string;
}

/** Appends events to a workflow's history. */
export async function recordEvents(ctx: CoreContext, workflowId: string, events: EventInput[]): Promise<void> {
  if (events.length === 0) return;
  const at = ctx.now();
  await ctx.db.insert(workflowEvents).values(events.map((e) => ({ workflowId, at, ...e })));
}

/** The workflow row `namespace/name`, optionally locked (SELECT ... FOR UPDATE). */
export async function findWorkflow(db: Db, namespace: string, name: string, lock = false): Promise<WorkflowRow | undefined> {
  const q = db.select().from(workflows).where(and(eq(workflows.namespace, namespace), eq(workflows.name, name)));
  const [row] = lock ? await q.for("update") : await q;
  return row;
}

/** Inserts a rendered workflow with its tasks and actions, in `state`; returns its id. */
export async function insertWorkflow(
  ctx: CoreContext,
  wf: Workflow,
  rendered: string,
  def: WorkflowDefinition,
  state: WorkflowState,
): Promise<string> {
  const now = ctx.now();
  const id = crypto.randomUUID();
  const totalActions = def.tasks.reduce((n, t) => n + t.actions.length, 0);
  await ctx.db.insert(workflows).values({
    id,
    namespace: wf.metadata.namespace,
    name: wf.metadata.name,
    labels: wf.metadata.labels ?? null,
    annotations: wf.metadata.annotations ?? null,
    spec: wf.spec,
    templateRef: wf.spec.templateRef ?? "",
    hardwareRef: wf.spec.hardwareRef || null,
    hardwareMap: wf.spec.hardwareMap ?? {},
    disabled: wf.spec.disabled ?? false,
    toggleAllowNetboot: wf.spec.bootOptions?.toggleAllowNetboot ?? false,
    bootMode: wf.spec.bootOptions?.bootMode ?? null,
    state,
    rendered,
    globalTimeout: def.globalTimeout,
    totalActions,
    createdAt: now,
    updatedAt: now,
  });
  const tasks = def.tasks.map((t, position) => ({
    id: crypto.randomUUID(),
    workflowId: id,
    position,
    name: t.name,
    worker: normalizeWorker(t.worker),
    volumes: t.volumes,
    environment: t.environment,
  }));
  if (tasks.length) await ctx.db.insert(workflowTasks).values(tasks);
  const actions = def.tasks.flatMap((t, ti) => t.actions.map((a) => ({ a, taskId: tasks[ti]!.id })));
  if (actions.length) {
    await ctx.db.insert(workflowActions).values(
      actions.map(({ a, taskId }, position) => ({
        workflowId: id,
        taskId,
        position,
        name: a.name,
        image: a.image,
        timeout: a.timeout,
        command: a.command,
        environment: a.environment,
        volumes: a.volumes,
        pid: a.pid,
        namespaces: a.namespaces,
        onTimeout: a.onTimeout,
        onFailure: a.onFailure,
        retries: a.retries,
      })),
    );
  }
  return id;
}

/** Tasks and actions of the given workflows, in run order. */
export async function loadSteps(db: Db, workflowIds: string[]): Promise<{ tasks: TaskRow[]; actions: ActionRow[] }> {
  if (workflowIds.length === 0) return { tasks: [], actions: [] };
  const [tasks, actions] = [
    await db.select().from(workflowTasks).where(inArray(workflowTasks.workflowId, workflowIds)).orderBy(asc(workflowTasks.position)),
    await db.select().from(workflowActions).where(inArray(workflowActions.workflowId, workflowIds)).orderBy(asc(workflowActions.position)),
  ];
  return { tasks, actions };
}

function seconds(from: Date, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

function actionStatus(a: ActionRow, taskName: string, now: Date): ActionStatus {
  return {
    id: a.id,
    taskName,
    name: a.name,
    image: a.image,
    timeout: a.timeout,
    state: a.state,
    attempt: a.attempt,
    retries: a.retries,
    ...(a.startedAt ? { startedAt: a.startedAt.toISOString(), durationSeconds: seconds(a.startedAt, a.finishedAt ?? now) } : {}),
    ...(a.finishedAt ? { finishedAt: a.finishedAt.toISOString() } : {}),
    ...(a.message ? { message: a.message } : {}),
  };
}

/** The status view of a workflow from its rows. */
export function workflowStatus(row: WorkflowRow, tasks: TaskRow[], actions: ActionRow[], now: Date): WorkflowStatus {
  const own = tasks.filter((t) => t.workflowId === row.id);
  const ownActions = actions.filter((a) => a.workflowId === row.id);
  const current = ownActions.find((a) => a.position === row.currentActionIndex);
  const currentTask = current && own.find((t) => t.id === current.taskId);
  return {
    state: row.state,
    globalTimeout: row.globalTimeout,
    ...(row.startedAt ? { startedAt: row.startedAt.toISOString() } : {}),
    ...(row.finishedAt ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(currentTask ? { currentTask: currentTask.name } : {}),
    ...(current ? { currentAction: current.name } : {}),
    currentActionIndex: row.currentActionIndex,
    totalActions: row.totalActions,
    tasks: own.map((t) => ({
      name: t.name,
      worker: t.worker,
      actions: ownActions.filter((a) => a.taskId === t.id).map((a) => actionStatus(a, t.name, now)),
    })),
  };
}

/** Workflow rows as API objects, with status (two queries for all of them). */
export async function toStoredWorkflows(db: Db, rows: WorkflowRow[], now: Date): Promise<StoredWorkflow[]> {
  const { tasks, actions } = await loadSteps(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({
    apiVersion: API_VERSION,
    kind: "Workflow",
    metadata: storedMeta(row),
    spec: row.spec,
    status: workflowStatus(row, tasks, actions, now),
  }));
}

/** A workflow's events, oldest first. */
export async function listEvents(db: Db, workflowId: string): Promise<WorkflowEvent[]> {
  const rows = await db
    .select()
    .from(workflowEvents)
    .where(eq(workflowEvents.workflowId, workflowId))
    .orderBy(asc(workflowEvents.id));
  return rows.map((e) => ({
    id: e.id,
    at: e.at.toISOString(),
    type: e.type,
    ...(e.from ? { from: e.from } : {}),
    ...(e.to ? { to: e.to } : {}),
    ...(e.actionId ? { actionId: e.actionId } : {}),
    ...(e.actionName ? { actionName: e.actionName } : {}),
    ...(e.message ? { message: e.message } : {}),
  }));
}
