/**
 * BMC objects in the store: Secrets (credentials, never returned), Machines (with the polled
 * power state) and Jobs (with their steps). Writes run in the caller's transaction, like the
 * other kinds in apply.ts.
 */
import { and, asc, eq, inArray, type SQL } from "drizzle-orm";
import { WispError, type Diagnostic } from "../lib/errors.ts";
import { describeTask, MISSING_DEFAULTS } from "../bmc/job-steps.ts";
import { KIND_API_VERSION, type Job, type Machine, type Secret } from "../manifest/types.ts";
import type { Db } from "../store/open.ts";
import { jobs, jobSteps, machines, secrets, workflows } from "../store/schema.ts";
import { objectError, sameJson, sameMeta, storedMeta, type CoreContext, type SourceLoc } from "./objects.ts";
import type { ApplyOutcome, Condition, JobStatus, StoredJob, StoredMachine, StoredSecret } from "./types.ts";

export type SecretRow = typeof secrets.$inferSelect;
export type MachineRow = typeof machines.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type JobStepRow = typeof jobSteps.$inferSelect;
type PutMode = "apply" | "create" | "update";

function presence(kind: "Machine" | "Job" | "Secret", meta: { namespace: string; name: string }, exists: boolean, mode: PutMode, loc: SourceLoc): void {
  if (exists && mode === "create") throw objectError("already_exists", { kind, ...meta }, loc, undefined, "already exists");
  if (!exists && mode === "update") throw objectError("not_found", { kind, ...meta }, loc, undefined, "not found");
}

/** The Secret row `namespace/name`. */
export async function findSecret(db: Db, namespace: string, name: string, lock = false): Promise<SecretRow | undefined> {
  const q = db.select().from(secrets).where(and(eq(secrets.namespace, namespace), eq(secrets.name, name)));
  const [row] = lock ? await q.for("update") : await q;
  return row;
}

/** The Machine row `namespace/name`. */
export async function findMachine(db: Db, namespace: string, name: string, lock = false): Promise<MachineRow | undefined> {
  const q = db.select().from(machines).where(and(eq(machines.namespace, namespace), eq(machines.name, name)));
  const [row] = lock ? await q.for("update") : await q;
  return row;
}

/** The Job row `namespace/name`. */
export async function findJob(db: Db, namespace: string, name: string, lock = false): Promise<JobRow | undefined> {
  const q = db.select().from(jobs).where(and(eq(jobs.namespace, namespace), eq(jobs.name, name)));
  const [row] = lock ? await q.for("update") : await q;
  return row;
}

/** Stores a Secret; its values are compared, never echoed. */
export async function putSecret(ctx: CoreContext, obj: Secret, mode: PutMode, loc: SourceLoc): Promise<ApplyOutcome> {
  const { namespace, name } = obj.metadata;
  const existing = await findSecret(ctx.db, namespace, name, true);
  presence("Secret", obj.metadata, !!existing, mode, loc);
  const columns = { type: obj.type ?? null, data: obj.stringData, labels: obj.metadata.labels ?? null, annotations: obj.metadata.annotations ?? null };
  if (!existing) {
    const now = ctx.now();
    await ctx.db.insert(secrets).values({ namespace, name, ...columns, createdAt: now, updatedAt: now });
    return "created";
  }
  if (sameJson(existing.data, obj.stringData) && (existing.type ?? undefined) === obj.type && sameMeta(existing, obj.metadata)) return "unchanged";
  await ctx.db.update(secrets).set({ ...columns, resourceVersion: existing.resourceVersion + 1, updatedAt: ctx.now() }).where(eq(secrets.id, existing.id));
  return "configured";
}

/** Stores a Machine, warning when its Secret is not there (yet); a changed connection is polled afresh. */
export async function putMachine(ctx: CoreContext, obj: Machine, mode: PutMode, loc: SourceLoc): Promise<{ outcome: ApplyOutcome; warnings: Diagnostic[] }> {
  const outcome = await writeMachine(ctx, obj, mode, loc);
  const ref = obj.spec.connection?.authSecretRef;
  const namespace = ref?.namespace || obj.metadata.namespace;
  if (!ref?.name || (await findSecret(ctx.db, namespace, ref.name))) return { outcome, warnings: [] };
  const message = `Secret "${ref.name}" not found in namespace ${namespace}: the BMC cannot be reached until it exists`;
  return { outcome, warnings: [{ ...loc, kind: "Machine", namespace: obj.metadata.namespace, name: obj.metadata.name, field: "spec.connection.authSecretRef.name", message }] };
}

async function writeMachine(ctx: CoreContext, obj: Machine, mode: PutMode, loc: SourceLoc): Promise<ApplyOutcome> {
  const { namespace, name } = obj.metadata;
  const existing = await findMachine(ctx.db, namespace, name, true);
  presence("Machine", obj.metadata, !!existing, mode, loc);
  const columns = { spec: obj.spec, labels: obj.metadata.labels ?? null, annotations: obj.metadata.annotations ?? null };
  if (!existing) {
    const now = ctx.now();
    await ctx.db.insert(machines).values({ namespace, name, ...columns, createdAt: now, updatedAt: now });
    return "created";
  }
  const sameSpec = sameJson(existing.spec, obj.spec);
  if (sameSpec && sameMeta(existing, obj.metadata)) return "unchanged";
  const reset = sameSpec ? {} : { powerState: "unknown" as const, polledAt: null, lastError: null, failures: 0, provider: null };
  await ctx.db
    .update(machines)
    .set({ ...columns, ...reset, resourceVersion: existing.resourceVersion + 1, updatedAt: ctx.now() })
    .where(eq(machines.id, existing.id));
  return "configured";
}

/** What a workflow adds to a Job it makes. */
export interface JobOrigin {
  workflowId: string;
  purpose: "netboot" | "disk-boot";
}

/** Stores a new Job with its steps (Pending); a Job's spec cannot change once stored. */
export async function putJob(ctx: CoreContext, obj: Job, mode: PutMode, loc: SourceLoc, origin?: JobOrigin): Promise<ApplyOutcome> {
  const { namespace, name } = obj.metadata;
  const id = { kind: "Job" as const, namespace, name };
  const existing = await findJob(ctx.db, namespace, name, true);
  presence("Job", obj.metadata, !!existing, mode, loc);
  if (existing) {
    if (!sameJson(existing.spec, obj.spec)) {
      throw objectError("conflict", id, loc, "spec", "a Job's spec cannot change once it is stored; delete the Job and apply it again to run new steps");
    }
    if (sameMeta(existing, obj.metadata)) return "unchanged";
    await ctx.db
      .update(jobs)
      .set({ labels: obj.metadata.labels ?? null, annotations: obj.metadata.annotations ?? null, resourceVersion: existing.resourceVersion + 1, updatedAt: ctx.now() })
      .where(eq(jobs.id, existing.id));
    return "configured";
  }
  const machineNamespace = obj.spec.machineRef?.namespace || namespace;
  const machineName = obj.spec.machineRef?.name ?? "";
  if (!(await findMachine(ctx.db, machineNamespace, machineName))) {
    throw objectError("not_found", id, loc, "spec.machineRef.name", `Machine "${machineName}" not found in namespace ${machineNamespace}`);
  }
  const now = ctx.now();
  const jobId = crypto.randomUUID();
  await ctx.db.insert(jobs).values({
    id: jobId,
    namespace,
    name,
    labels: obj.metadata.labels ?? null,
    annotations: obj.metadata.annotations ?? null,
    spec: obj.spec,
    machineNamespace,
    machineName,
    workflowId: origin?.workflowId ?? null,
    purpose: origin?.purpose ?? null,
    createdAt: now,
    updatedAt: now,
  });
  const steps = (obj.spec.tasks ?? []).map((task, position) => ({
    jobId,
    position,
    task,
    retries: task.retries ?? MISSING_DEFAULTS.retries,
    timeout: task.timeout ?? MISSING_DEFAULTS.timeout,
  }));
  await ctx.db.insert(jobSteps).values(steps);
  return "created";
}

/** A Secret row as the API shows it: keys only. */
export function toStoredSecret(row: SecretRow): StoredSecret {
  return {
    apiVersion: KIND_API_VERSION.Secret,
    kind: "Secret",
    metadata: storedMeta(row),
    ...(row.type ? { type: row.type } : {}),
    keys: Object.keys(row.data).sort(),
  };
}

/** A Machine row with its status (Rufio's powerState and Contactable condition). */
export function toStoredMachine(row: MachineRow): StoredMachine {
  const polled = row.polledAt?.toISOString();
  const conditions: Condition[] = polled
    ? [{ type: "Contactable", status: row.lastError ? "False" : "True", ...(row.lastError ? { message: row.lastError } : {}), lastUpdateTime: polled }]
    : [];
  return {
    apiVersion: KIND_API_VERSION.Machine,
    kind: "Machine",
    metadata: storedMeta(row),
    spec: row.spec,
    status: {
      powerState: row.powerState,
      ...(row.provider ? { provider: row.provider } : {}),
      ...(polled ? { polledAt: polled } : {}),
      ...(row.lastError ? { lastError: row.lastError } : {}),
      conditions,
    },
  };
}

/** A Job row and its steps as the API returns them. */
export function toStoredJob(row: JobRow, steps: JobStepRow[], workflow?: string): StoredJob {
  const iso = (d: Date | null) => d?.toISOString();
  const at = iso(row.finishedAt) ?? iso(row.startedAt);
  const conditions: Condition[] = [];
  if (row.state !== "Pending") {
    conditions.push({ type: row.state, status: "True", ...(row.message ? { message: row.message } : {}), ...(at ? { lastUpdateTime: at } : {}) });
  }
  const status: JobStatus = {
    state: row.state,
    ...(row.message ? { message: row.message } : {}),
    ...(row.startedAt ? { startTime: iso(row.startedAt) } : {}),
    ...(row.finishedAt ? { completionTime: iso(row.finishedAt) } : {}),
    conditions,
    steps: steps
      .sort((a, b) => a.position - b.position)
      .map((s) => ({
        index: s.position,
        action: describeTask(s.task),
        task: s.task,
        state: s.state,
        attempt: s.attempt,
        retries: s.retries,
        timeout: s.timeout,
        ...(s.startedAt ? { startedAt: iso(s.startedAt) } : {}),
        ...(s.finishedAt ? { finishedAt: iso(s.finishedAt) } : {}),
        ...(s.message ? { message: s.message } : {}),
      })),
    ...(workflow ? { workflow } : {}),
    ...(row.purpose ? { purpose: row.purpose } : {}),
  };
  return { apiVersion: KIND_API_VERSION.Job, kind: "Job", metadata: storedMeta(row), spec: row.spec, status };
}

/** Jobs with their steps and the workflows that made them. */
export async function toStoredJobs(db: Db, rows: JobRow[]): Promise<StoredJob[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const steps = await db.select().from(jobSteps).where(inArray(jobSteps.jobId, ids));
  const wfIds = rows.flatMap((r) => (r.workflowId ? [r.workflowId] : []));
  const wfs = wfIds.length ? await db.select({ id: workflows.id, namespace: workflows.namespace, name: workflows.name }).from(workflows).where(inArray(workflows.id, wfIds)) : [];
  const wfName = new Map(wfs.map((w) => [w.id, `${w.namespace}/${w.name}`]));
  return rows.map((r) => toStoredJob(r, steps.filter((s) => s.jobId === r.id), r.workflowId ? wfName.get(r.workflowId) : undefined));
}

type BmcKind = "Machine" | "Job" | "Secret";
const BMC_TABLES = { Machine: machines, Job: jobs, Secret: secrets } as const;

/** Stored BMC objects of a kind (by namespace, then name). */
export async function listBmcObjects(ctx: CoreContext, kind: BmcKind, namespace?: string, name?: string): Promise<(StoredMachine | StoredJob | StoredSecret)[]> {
  const table = BMC_TABLES[kind];
  const filters: SQL[] = [];
  if (namespace !== undefined) filters.push(eq(table.namespace, namespace));
  if (name !== undefined) filters.push(eq(table.name, name));
  const where = filters.length ? and(...filters) : undefined;
  switch (kind) {
    case "Machine":
      return (await ctx.db.select().from(machines).where(where).orderBy(asc(machines.namespace), asc(machines.name))).map(toStoredMachine);
    case "Secret":
      return (await ctx.db.select().from(secrets).where(where).orderBy(asc(secrets.namespace), asc(secrets.name))).map(toStoredSecret);
    case "Job":
      return toStoredJobs(ctx.db, await ctx.db.select().from(jobs).where(where).orderBy(asc(jobs.namespace), asc(jobs.name)));
  }
}

/** Deletes a BMC object; a running Job cannot be deleted (its BMC may be half-way through a step). */
export async function deleteBmcObject(ctx: CoreContext, kind: BmcKind, namespace: string, name: string): Promise<boolean> {
  if (kind === "Job") {
    const row = await findJob(ctx.db, namespace, name, true);
    if (row?.state === "Running") {
      throw new WispError("conflict", `Job ${namespace}/${name} is running; wait for it to end (each step is bounded by its timeout)`);
    }
  }
  const table = BMC_TABLES[kind];
  const gone = await ctx.db.delete(table).where(and(eq(table.namespace, namespace), eq(table.name, name))).returning({ id: table.id });
  return gone.length > 0;
}
