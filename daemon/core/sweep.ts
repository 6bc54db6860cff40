/** Server-side endings: timeouts the agent did not report, and re-runs of finished workflows. */
import { and, eq, gt, sql } from "drizzle-orm";
import { WispError } from "../lib/errors.ts";
import { workflowFields } from "../lib/log.ts";
import { workflowActions, workflows } from "../store/schema.ts";
import { TERMINAL_STATES } from "../workflow/definition.ts";
import { lockWrites, prepareNetboot } from "./apply.ts";
import { findMachine } from "./bmc-objects.ts";
import { startNetboot } from "./bmc-jobs.ts";
import { findHardware } from "./hardware.ts";
import type { CoreContext, WorkflowRow } from "./objects.ts";
import { actionFailed, resetWorkflow, workflowTimedOut } from "./transitions.ts";
import { findWorkflow, loadSteps, recordEvents, type EventInput } from "./workflows.ts";

/**
 * Seconds past an action's own timeout before the server ends it: the agent enforces the timeout
 * and reports TIMEOUT itself; the server only steps in when that report never comes.
 */
export const ACTION_TIMEOUT_GRACE_SECONDS = 30;

function deadline(start: Date | null, seconds: number): number {
  return start ? start.getTime() + seconds * 1000 : Infinity;
}

/** A workflow a sweep changed: its key, state after and the events recorded (for the change feed). */
export interface SweptWorkflow {
  namespace: string;
  name: string;
  state: WorkflowRow["state"];
  events: EventInput[];
}

/** Ends workflows past their global timeout and actions past theirs (+ grace); returns how many workflows changed. */
export async function sweepTimeouts(ctx: CoreContext, now: Date, onSwept?: (swept: SweptWorkflow) => void): Promise<number> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const overGlobal = await ctx.db
    .select({ id: workflows.id })
    .from(workflows)
    .where(
      and(
        eq(workflows.state, "RUNNING"),
        gt(workflows.globalTimeout, 0),
        sql`${workflows.startedAt} + make_interval(secs => ${workflows.globalTimeout}) < ${at}`,
      ),
    );
  const overAction = await ctx.db
    .select({ id: workflowActions.workflowId })
    .from(workflowActions)
    .where(
      and(
        eq(workflowActions.state, "RUNNING"),
        gt(workflowActions.timeout, 0),
        sql`${workflowActions.startedAt} + make_interval(secs => ${workflowActions.timeout} + ${ACTION_TIMEOUT_GRACE_SECONDS}) < ${at}`,
      ),
    );
  const ids = [...new Set([...overGlobal, ...overAction].map((r) => r.id))];
  let changed = 0;
  for (const id of ids) {
    const swept = await sweepOne(ctx, id, now);
    if (!swept) continue;
    changed++;
    onSwept?.(swept);
  }
  return changed;
}

/** Re-checks one workflow under its row lock (a report may have landed meanwhile) and ends what is over. */
async function sweepOne(ctx: CoreContext, id: string, now: Date): Promise<SweptWorkflow | undefined> {
  return ctx.db.transaction(async (db) => {
    const tx: CoreContext = { ...ctx, db, now: () => now };
    const [wf] = await db.select().from(workflows).where(eq(workflows.id, id)).for("update");
    if (!wf || wf.state !== "RUNNING") return undefined;
    const { actions } = await loadSteps(db, [wf.id]);
    const current = actions.find((a) => a.position === wf.currentActionIndex);
    let events: EventInput[] = [];
    if (wf.globalTimeout > 0 && deadline(wf.startedAt, wf.globalTimeout) < now.getTime()) {
      events = await workflowTimedOut(tx, wf, current);
    } else if (
      current?.state === "RUNNING" &&
      current.timeout > 0 &&
      deadline(current.startedAt, current.timeout + ACTION_TIMEOUT_GRACE_SECONDS) < now.getTime()
    ) {
      // As if the agent had reported TIMEOUT: retries apply.
      events = await actionFailed(tx, wf, current, "TIMEOUT", `no report within ${current.timeout}s + ${ACTION_TIMEOUT_GRACE_SECONDS}s grace`);
    }
    await recordEvents(tx, wf.id, events);
    if (events.length) ctx.logger?.info({ ...workflowFields(wf), workflowId: `${wf.namespace}/${wf.name}`, state: wf.state }, "workflow timeout swept");
    return events.length > 0 ? { namespace: wf.namespace, name: wf.name, state: wf.state, events } : undefined;
  });
}

/** Resets a terminal workflow to run again from its first action (Tinkerbell-style re-run). */
export async function rerunWorkflow(ctx: CoreContext, namespace: string, name: string): Promise<WorkflowRow> {
  return ctx.db.transaction(async (db) => {
    const tx: CoreContext = { ...ctx, db };
    await lockWrites(tx);
    const wf = await findWorkflow(db, namespace, name, true);
    if (!wf) throw new WispError("not_found", `Workflow ${namespace}/${name} not found`);
    if (!(TERMINAL_STATES as readonly string[]).includes(wf.state)) {
      throw new WispError("invalid_state", `Workflow ${namespace}/${name} is ${wf.state}; only a finished workflow can be re-run`);
    }
    await recordEvents(tx, wf.id, await resetWorkflow(tx, wf));
    const machine = await rerunMachine(tx, wf);
    if (machine) {
      // bootMode netboot (issue 9): PREPARING again until a new BMC job has power-cycled it into PXE.
      await db.update(workflows).set({ state: "PREPARING" }).where(eq(workflows.id, wf.id));
      await startNetboot(tx, wf, machine.hw, machine.machine);
    } else if (wf.toggleAllowNetboot) {
      const hw = wf.hardwareRef ? await findHardware(db, namespace, wf.hardwareRef, true) : undefined;
      if (hw) await prepareNetboot(tx, wf.id, hw, "PREPARING");
      else {
        await db.update(workflows).set({ state: "PENDING" }).where(eq(workflows.id, wf.id));
        await recordEvents(tx, wf.id, [
          { type: "hardware.allowPXE", message: `Hardware ${wf.hardwareRef ?? ""} not found; allowPXE left as is` },
          { type: "workflow.state", from: "PREPARING", to: "PENDING" },
        ]);
      }
    }
    return (await findWorkflow(db, namespace, name))!;
  });
}

/** The Hardware and Machine a re-run netboot workflow power-cycles, when it has both. */
async function rerunMachine(ctx: CoreContext, wf: WorkflowRow) {
  if (wf.bootMode !== "netboot" || !wf.hardwareRef) return undefined;
  const hw = await findHardware(ctx.db, wf.namespace, wf.hardwareRef, true);
  const machine = hw?.spec.bmcRef?.name ? await findMachine(ctx.db, hw.namespace, hw.spec.bmcRef.name) : undefined;
  return hw && machine ? { hw, machine } : undefined;
}
