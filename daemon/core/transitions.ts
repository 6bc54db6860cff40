/**
 * State changes of a running workflow, applied inside the caller's transaction with the workflow
 * row locked. Each function writes the rows and returns the events that describe the change.
 */
import { eq } from "drizzle-orm";
import { actionLogs, workflowActions, workflows } from "../store/schema.ts";
import type { ActionState, WorkflowState } from "../workflow/definition.ts";
import { diskBootAfterSuccess } from "./bmc-jobs.ts";
import { findHardware, setAllowPXE } from "./hardware.ts";
import type { CoreContext, WorkflowRow } from "./objects.ts";
import type { ActionRow, EventInput } from "./workflows.ts";

type WorkflowPatch = Partial<Pick<WorkflowRow, "state" | "startedAt" | "finishedAt" | "currentActionIndex">>;
type ActionPatch = Partial<Pick<ActionRow, "state" | "attempt" | "startedAt" | "finishedAt" | "message">>;

/** Writes a workflow change and bumps its resource version; mutates `wf` to match. */
async function patchWorkflow(ctx: CoreContext, wf: WorkflowRow, patch: WorkflowPatch): Promise<void> {
  Object.assign(wf, patch, { resourceVersion: wf.resourceVersion + 1, updatedAt: ctx.now() });
  await ctx.db
    .update(workflows)
    .set({ ...patch, resourceVersion: wf.resourceVersion, updatedAt: wf.updatedAt })
    .where(eq(workflows.id, wf.id));
}

/** Writes an action change; mutates `action` to match. */
async function patchAction(ctx: CoreContext, action: ActionRow, patch: ActionPatch): Promise<void> {
  Object.assign(action, patch);
  await ctx.db.update(workflowActions).set(patch).where(eq(workflowActions.id, action.id));
}

function actionEvent(action: ActionRow, from: ActionState, to: ActionState, message?: string | null): EventInput {
  return { type: "action.state", from, to, actionId: action.id, actionName: action.name, ...(message ? { message } : {}) };
}

function workflowEvent(from: WorkflowState, to: WorkflowState, message?: string): EventInput {
  return { type: "workflow.state", from, to, ...(message ? { message } : {}) };
}

/** PENDING -> RUNNING on the first action's start; the global timeout counts from here. */
async function startWorkflow(ctx: CoreContext, wf: WorkflowRow): Promise<EventInput[]> {
  if (wf.state !== "PENDING") return [];
  await patchWorkflow(ctx, wf, { state: "RUNNING", startedAt: wf.startedAt ?? ctx.now() });
  return [workflowEvent("PENDING", "RUNNING")];
}

/** The agent started the action. */
export async function actionRunning(ctx: CoreContext, wf: WorkflowRow, action: ActionRow, message?: string): Promise<EventInput[]> {
  const events = await startWorkflow(ctx, wf);
  const from = action.state;
  await patchAction(ctx, action, { state: "RUNNING", startedAt: ctx.now(), finishedAt: null, message: message ?? null });
  return [...events, actionEvent(action, from, "RUNNING", message)];
}

/** The action succeeded: on to the next one, or the workflow succeeded. */
export async function actionSucceeded(ctx: CoreContext, wf: WorkflowRow, action: ActionRow, message?: string): Promise<EventInput[]> {
  const events = await startWorkflow(ctx, wf);
  const from = action.state;
  const now = ctx.now();
  // A lost RUNNING report leaves startedAt empty; the run still happened.
  await patchAction(ctx, action, { state: "SUCCESS", startedAt: action.startedAt ?? now, finishedAt: now, message: message ?? null });
  events.push(actionEvent(action, from, "SUCCESS", message));
  const next = action.position + 1;
  if (next < wf.totalActions) {
    await patchWorkflow(ctx, wf, { currentActionIndex: next });
    return events;
  }
  await patchWorkflow(ctx, wf, { currentActionIndex: next, state: "SUCCESS", finishedAt: now });
  events.push(workflowEvent("RUNNING", "SUCCESS"));
  if (wf.toggleAllowNetboot) events.push(...(await disallowNetboot(ctx, wf)));
  // bootOptions.diskBootOnSuccess (issue 9): a BMC job sets disk boot and power-cycles.
  events.push(...(await diskBootAfterSuccess(ctx, wf)));
  return events;
}

/** After success, the machine should boot from disk: allowPXE false on its Hardware. */
async function disallowNetboot(ctx: CoreContext, wf: WorkflowRow): Promise<EventInput[]> {
  const hw = wf.hardwareRef ? await findHardware(ctx.db, wf.namespace, wf.hardwareRef, true) : undefined;
  if (!hw) return [{ type: "hardware.allowPXE", message: `Hardware ${wf.hardwareRef ?? ""} not found; allowPXE left as is` }];
  const changed = await setAllowPXE(ctx, hw, false);
  return [{ type: "hardware.allowPXE", from: changed ? "true" : "false", to: "false", message: `Hardware ${hw.name}` }];
}

/** The action failed or timed out: retry it while attempts remain, else end the workflow. */
export async function actionFailed(
  ctx: CoreContext,
  wf: WorkflowRow,
  action: ActionRow,
  state: "FAILED" | "TIMEOUT",
  message?: string,
): Promise<EventInput[]> {
  const events = await startWorkflow(ctx, wf);
  const from = action.state;
  const now = ctx.now();
  events.push(actionEvent(action, from, state, message));
  if (action.attempt <= action.retries) {
    const attempt = action.attempt + 1;
    // finishedAt stays set while the retry waits: it tells a repeated report of this failure apart.
    await patchAction(ctx, action, { state: "PENDING", attempt, startedAt: null, finishedAt: now, message: message ?? null });
    events.push({
      type: "action.retry",
      from: state,
      to: "PENDING",
      actionId: action.id,
      actionName: action.name,
      message: `attempt ${attempt} of ${action.retries + 1}`,
    });
    return events;
  }
  await patchAction(ctx, action, { state, startedAt: action.startedAt ?? now, finishedAt: now, message: message ?? null });
  events.push(workflowEvent(wf.state, state, `action ${action.name} ${state}`));
  await patchWorkflow(ctx, wf, { state, finishedAt: now });
  return events;
}

/** The global timeout passed: the current action and the workflow end in TIMEOUT. */
export function workflowTimedOut(ctx: CoreContext, wf: WorkflowRow, current: ActionRow | undefined): Promise<EventInput[]> {
  return workflowEnded(ctx, wf, current, "TIMEOUT", `global timeout of ${wf.globalTimeout}s exceeded`);
}

/** An operator cancelled the workflow: its current action (when unfinished) and the workflow end FAILED. */
export function workflowCancelled(ctx: CoreContext, wf: WorkflowRow, current: ActionRow | undefined, message: string): Promise<EventInput[]> {
  return workflowEnded(ctx, wf, current, "FAILED", message);
}

/** The current action (when unfinished) and the workflow end in `state`, both with `message`. */
async function workflowEnded(ctx: CoreContext, wf: WorkflowRow, current: ActionRow | undefined, state: "TIMEOUT" | "FAILED", message: string): Promise<EventInput[]> {
  const now = ctx.now();
  const events: EventInput[] = [];
  if (current && (current.state === "RUNNING" || current.state === "PENDING")) {
    events.push(actionEvent(current, current.state, state, message));
    await patchAction(ctx, current, { state, finishedAt: now, message });
  }
  events.push(workflowEvent(wf.state, state, message));
  await patchWorkflow(ctx, wf, { state, finishedAt: now });
  return events;
}

/** Back to the start: every action PENDING at attempt 1, the workflow PENDING (or PREPARING first). */
export async function resetWorkflow(ctx: CoreContext, wf: WorkflowRow): Promise<EventInput[]> {
  const from = wf.state;
  await ctx.db
    .update(workflowActions)
    .set({ state: "PENDING", attempt: 1, startedAt: null, finishedAt: null, message: null })
    .where(eq(workflowActions.workflowId, wf.id));
  // A new run numbers its action log lines from 1 again (kept once per action, attempt and seq).
  await ctx.db.delete(actionLogs).where(eq(actionLogs.workflowId, wf.id));
  const to: WorkflowState = wf.toggleAllowNetboot ? "PREPARING" : "PENDING";
  await patchWorkflow(ctx, wf, { state: to, startedAt: null, finishedAt: null, currentActionIndex: 0 });
  return [{ type: "workflow.rerun", from, to }];
}
