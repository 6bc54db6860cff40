/** Minimal rows for store tests that bypass the core: one workflow with one task and one action. */
import type { Db } from "../../daemon/store/open.ts";
import { workflowActions, workflows, workflowTasks } from "../../daemon/store/schema.ts";

/** Inserts workflow `ns/name` with one task and one action; returns their ids. */
export async function insertWorkflowRows(db: Db, namespace = "default", name = "wf"): Promise<{ workflowId: string; taskId: string; actionId: string }> {
  const [wf] = await db
    .insert(workflows)
    .values({ namespace, name, spec: { templateRef: "t" }, templateRef: "t", state: "PENDING", rendered: "", totalActions: 1 })
    .returning({ id: workflows.id });
  const [task] = await db
    .insert(workflowTasks)
    .values({ workflowId: wf!.id, position: 0, name: "task", worker: "aa:bb:cc:dd:ee:ff", volumes: [], environment: {} })
    .returning({ id: workflowTasks.id });
  const [action] = await db
    .insert(workflowActions)
    .values({
      workflowId: wf!.id,
      taskId: task!.id,
      position: 0,
      name: "action",
      image: "alpine",
      command: [],
      environment: {},
      volumes: [],
      namespaces: {},
      onTimeout: [],
      onFailure: [],
    })
    .returning({ id: workflowActions.id });
  return { workflowId: wf!.id, taskId: task!.id, actionId: action!.id };
}
