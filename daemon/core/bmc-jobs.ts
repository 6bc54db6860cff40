/**
 * Job bookkeeping for the runner (daemon/bmc/jobs.ts) and the workflow side of BMC jobs: the
 * netboot job a workflow runs while PREPARING, the disk-boot job after SUCCESS, and what their
 * ends do to the workflow.
 */
import { and, asc, eq, inArray, lt } from "drizzle-orm";
import { WispError } from "../lib/errors.ts";
import type { Hardware, Job, JobTask, Workflow } from "../manifest/types.ts";
import { jobs, jobSteps, workflows } from "../store/schema.ts";
import { putJob, findJob, findMachine, type JobRow, type JobStepRow, type MachineRow } from "./bmc-objects.ts";
import { setAllowPXE, findHardware } from "./hardware.ts";
import type { CoreContext, HardwareRow, SourceLoc, WorkflowRow } from "./objects.ts";
import { objectError } from "./objects.ts";
import { recordEvents, type EventInput } from "./workflows.ts";

/** A claimed job with what the runner needs to run it. */
export interface ClaimedJob {
  job: JobRow;
  steps: JobStepRow[];
  machine: MachineRow | undefined;
}

/**
 * Jobs whose runner stopped beating (its wispd stopped or died) before `staleBefore`: back to
 * Pending at the step they were on. A live runner beats every second (heartbeatJobs), so the
 * jobs of another wispd on the same PostgreSQL are left alone.
 */
export async function requeueStaleJobs(ctx: CoreContext, staleBefore: Date): Promise<number> {
  return ctx.db.transaction(async (db) => {
    const stale = await db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.state, "Running"), lt(jobs.updatedAt, staleBefore)))
      .for("update", { skipLocked: true });
    if (stale.length === 0) return 0;
    const ids = stale.map((r) => r.id);
    await db.update(jobSteps).set({ state: "Pending", startedAt: null }).where(and(inArray(jobSteps.jobId, ids), eq(jobSteps.state, "Running")));
    await db.update(jobs).set({ state: "Pending", updatedAt: ctx.now() }).where(inArray(jobs.id, ids));
    return ids.length;
  });
}

/** A runner's sign of life for the jobs it runs. */
export async function heartbeatJobs(ctx: CoreContext, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db.update(jobs).set({ updatedAt: ctx.now() }).where(and(inArray(jobs.id, ids), eq(jobs.state, "Running")));
}

/** Claims the oldest Pending job whose Machine is not in `busy` (`namespace/name`); marks it Running. */
export async function claimJob(ctx: CoreContext, busy: ReadonlySet<string>): Promise<ClaimedJob | undefined> {
  return ctx.db.transaction(async (db) => {
    const pending = await db.select().from(jobs).where(eq(jobs.state, "Pending")).orderBy(asc(jobs.createdAt)).limit(50).for("update", { skipLocked: true });
    const job = pending.find((j) => !busy.has(`${j.machineNamespace}/${j.machineName}`));
    if (!job) return undefined;
    const now = ctx.now();
    await db.update(jobs).set({ state: "Running", startedAt: job.startedAt ?? now, updatedAt: now, resourceVersion: job.resourceVersion + 1 }).where(eq(jobs.id, job.id));
    job.state = "Running";
    job.startedAt ??= now;
    const steps = await db.select().from(jobSteps).where(eq(jobSteps.jobId, job.id)).orderBy(asc(jobSteps.position));
    const machine = await findMachine(db, job.machineNamespace, job.machineName);
    return { job, steps, machine };
  });
}

/** Writes a step's progress. */
export async function patchStep(ctx: CoreContext, stepId: string, patch: Partial<Pick<JobStepRow, "state" | "attempt" | "startedAt" | "finishedAt" | "message">>): Promise<void> {
  await ctx.db.update(jobSteps).set(patch).where(eq(jobSteps.id, stepId));
}

/** What a job's end did to the workflow that made it (for the change feed). */
export interface WorkflowChanged {
  namespace: string;
  name: string;
  state: WorkflowRow["state"];
  events: EventInput[];
}

/** Ends a job; a workflow that made it moves on (netboot: PENDING or FAILED; disk-boot: an event). */
export async function finishJob(ctx: CoreContext, jobId: string, state: "Completed" | "Failed", message: string): Promise<WorkflowChanged | undefined> {
  return ctx.db.transaction(async (db) => {
    const tx: CoreContext = { ...ctx, db };
    const now = ctx.now();
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId)).for("update");
    if (!job) return undefined;
    await db.update(jobs).set({ state, message, finishedAt: now, updatedAt: now, resourceVersion: job.resourceVersion + 1 }).where(eq(jobs.id, jobId));
    return job.workflowId ? jobEndedForWorkflow(tx, job, state, message) : undefined;
  });
}

async function jobEndedForWorkflow(ctx: CoreContext, job: JobRow, state: "Completed" | "Failed", message: string): Promise<WorkflowChanged | undefined> {
  const [wf] = await ctx.db.select().from(workflows).where(eq(workflows.id, job.workflowId!)).for("update");
  if (!wf) return undefined;
  const jobEvent: EventInput = { type: "bmc.job", from: "Running", to: state, message: `Job ${job.namespace}/${job.name} (${job.purpose ?? "bmc"}): ${message}` };
  if (job.purpose !== "netboot" || wf.state !== "PREPARING") {
    await recordEvents(ctx, wf.id, [jobEvent]);
    return { namespace: wf.namespace, name: wf.name, state: wf.state, events: [jobEvent] };
  }
  const to = state === "Completed" ? "PENDING" : "FAILED";
  const now = ctx.now();
  await ctx.db
    .update(workflows)
    .set({ state: to, updatedAt: now, resourceVersion: wf.resourceVersion + 1, ...(to === "FAILED" ? { finishedAt: now } : {}) })
    .where(eq(workflows.id, wf.id));
  const events: EventInput[] = [
    jobEvent,
    { type: "workflow.state", from: "PREPARING", to, message: to === "FAILED" ? `netboot job ${job.name} failed: ${message}` : `netboot job ${job.name} completed` },
  ];
  await recordEvents(ctx, wf.id, events);
  ctx.logger?.info({ workflowId: `${wf.namespace}/${wf.name}`, job: `${job.namespace}/${job.name}`, state: to }, "workflow prepared by bmc job");
  return { namespace: wf.namespace, name: wf.name, state: to, events };
}

/** The Machine a Hardware's `spec.bmcRef` names (same namespace), or a located error. */
export async function hardwareMachine(ctx: CoreContext, hw: HardwareRow, who: { kind: "Workflow"; namespace: string; name: string }, loc: SourceLoc, field: string): Promise<MachineRow> {
  const ref = hw.spec.bmcRef;
  if (!ref?.name) {
    throw objectError("invalid_manifest", who, loc, field, `needs a BMC: Hardware ${hw.name} has no spec.bmcRef naming a Machine (bmc.tinkerbell.org)`);
  }
  if (ref.kind && ref.kind !== "Machine") throw objectError("invalid_manifest", who, loc, field, `Hardware ${hw.name} spec.bmcRef.kind is ${ref.kind}; expected Machine`);
  const machine = await findMachine(ctx.db, hw.namespace, ref.name);
  if (!machine) throw objectError("not_found", who, loc, field, `Machine "${ref.name}" (Hardware ${hw.name} spec.bmcRef) not found in namespace ${hw.namespace}`);
  return machine;
}

/** UEFI when any of the Hardware's interfaces says so. */
function wantsEfi(spec: Hardware["spec"]): boolean {
  return (spec.interfaces ?? []).some((i) => i.dhcp?.uefi === true);
}

/** Tinkerbell's netboot: power off, one-time PXE boot, power on. */
export function netbootTasks(efi: boolean): JobTask[] {
  return [{ powerAction: "off" }, { oneTimeBootDeviceAction: { device: ["pxe"], efiBootMode: efi } }, { powerAction: "on" }];
}

/** After provisioning: boot from disk from now on, and power-cycle into it. */
export function diskBootTasks(efi: boolean): JobTask[] {
  return [{ bootDeviceAction: { device: "disk", efiBootMode: efi, persistent: true } }, { powerAction: "cycle" }];
}

/** Creates (replacing a finished one of the same name) a workflow's job; returns its events. */
async function workflowJob(ctx: CoreContext, wf: { id: string; namespace: string; name: string }, machine: MachineRow, purpose: "netboot" | "disk-boot", tasks: JobTask[]): Promise<EventInput[]> {
  const name = `${wf.name}-${purpose}`.slice(0, 253);
  const old = await findJob(ctx.db, wf.namespace, name, true);
  if (old?.state === "Running") throw new WispError("conflict", `Job ${wf.namespace}/${name} is still running`);
  if (old) await ctx.db.delete(jobs).where(eq(jobs.id, old.id));
  const job: Job = {
    apiVersion: "bmc.tinkerbell.org/v1alpha1",
    kind: "Job",
    metadata: { namespace: wf.namespace, name, labels: { "wisp.dev/workflow": wf.name } },
    spec: { machineRef: { name: machine.name, namespace: machine.namespace }, tasks },
  };
  await putJob(ctx, job, "create", {}, { workflowId: wf.id, purpose });
  return [{ type: "bmc.job", to: "Pending", message: `Job ${wf.namespace}/${name} (${purpose}) for Machine ${machine.namespace}/${machine.name}` }];
}

/**
 * A new (or re-run) workflow with `bootMode: netboot`, in PREPARING: allows PXE first when
 * toggleAllowNetboot (the machine must find its script when it comes up), then makes the job.
 */
export async function startNetboot(ctx: CoreContext, wf: { id: string; namespace: string; name: string; toggleAllowNetboot: boolean }, hw: HardwareRow, machine: MachineRow): Promise<void> {
  const events: EventInput[] = [];
  if (wf.toggleAllowNetboot) {
    const changed = await setAllowPXE(ctx, hw, true);
    events.push({ type: "hardware.allowPXE", from: changed ? "false" : "true", to: "true", message: `Hardware ${hw.name}${changed ? "" : " (already allowed)"}` });
  }
  events.push(...(await workflowJob(ctx, wf, machine, "netboot", netbootTasks(wantsEfi(hw.spec)))));
  await recordEvents(ctx, wf.id, events);
}

/** Checks a workflow's BMC boot options at creation; returns the Machine when they need one. */
export async function checkBootOptions(ctx: CoreContext, wf: Workflow, hw: HardwareRow | undefined, loc: SourceLoc): Promise<MachineRow | undefined> {
  const opts = wf.spec.bootOptions ?? {};
  const who = { kind: "Workflow" as const, ...wf.metadata };
  const field = opts.bootMode === "netboot" ? "spec.bootOptions.bootMode" : "spec.bootOptions.diskBootOnSuccess";
  if (opts.bootMode !== "netboot" && !opts.diskBootOnSuccess) return undefined;
  if (!hw) throw objectError("invalid_manifest", who, loc, field, "needs spec.hardwareRef (the Hardware names its BMC in spec.bmcRef)");
  return hardwareMachine(ctx, hw, who, loc, field);
}

/** After SUCCESS with `bootOptions.diskBootOnSuccess`: the disk-boot job; returns its events. */
export async function diskBootAfterSuccess(ctx: CoreContext, wf: WorkflowRow): Promise<EventInput[]> {
  if (!wf.spec.bootOptions?.diskBootOnSuccess) return [];
  const hw = wf.hardwareRef ? await findHardware(ctx.db, wf.namespace, wf.hardwareRef) : undefined;
  const machine = hw?.spec.bmcRef?.name ? await findMachine(ctx.db, hw.namespace, hw.spec.bmcRef.name) : undefined;
  if (!hw || !machine) return [{ type: "bmc.job", message: `no disk-boot job: Hardware ${wf.hardwareRef ?? ""} or its Machine (spec.bmcRef) not found` }];
  return workflowJob(ctx, wf, machine, "disk-boot", diskBootTasks(wantsEfi(hw.spec)));
}
