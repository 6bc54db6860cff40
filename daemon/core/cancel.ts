/** Cancelling a workflow that has not finished: an operator's way to stop it (the console's Cancel, the API's POST .../cancel). */
import { WispError } from "../lib/errors.ts";
import { workflowFields } from "../lib/log.ts";
import { TERMINAL_STATES } from "../workflow/definition.ts";
import type { CoreContext, WorkflowRow } from "./objects.ts";
import { workflowCancelled } from "./transitions.ts";
import { findWorkflow, loadSteps, recordEvents, type EventInput } from "./workflows.ts";

/** The message of the events (and of the current action) a cancel records. */
export const CANCEL_MESSAGE = "cancelled by operator";

/**
 * Ends a PREPARING, PENDING or RUNNING workflow in FAILED, with its unfinished current action,
 * under the workflow's row lock (an agent's report is applied before or after, never across).
 * Afterwards the agent's reports for it are refused (the workflow is finished) and GetAction
 * serves it nothing; `rerun` starts it again. allowPXE is left as it is.
 */
export async function cancelWorkflow(ctx: CoreContext, namespace: string, name: string): Promise<{ row: WorkflowRow; events: EventInput[] }> {
  return ctx.db.transaction(async (db) => {
    const tx: CoreContext = { ...ctx, db };
    const wf = await findWorkflow(db, namespace, name, true);
    if (!wf) throw new WispError("not_found", `Workflow ${namespace}/${name} not found`);
    if ((TERMINAL_STATES as readonly string[]).includes(wf.state)) {
      throw new WispError("invalid_state", `Workflow ${namespace}/${name} is already ${wf.state}; only an unfinished workflow can be cancelled`);
    }
    const { actions } = await loadSteps(db, [wf.id]);
    const current = actions.find((a) => a.position === wf.currentActionIndex);
    const events = await workflowCancelled(tx, wf, current, CANCEL_MESSAGE);
    await recordEvents(tx, wf.id, events);
    ctx.logger?.info({ ...workflowFields(wf), workflowId: `${namespace}/${name}` }, "workflow cancelled");
    return { row: wf, events };
  });
}
