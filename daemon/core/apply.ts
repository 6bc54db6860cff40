/**
 * Applying manifests: validation, reference resolution and upserts of Hardware, Templates and
 * Workflows, all in the caller's transaction so a batch is all or nothing.
 */
import { and, eq, sql } from "drizzle-orm";
import { WispError, type Diagnostic } from "../lib/errors.ts";
import { validateManifest } from "../manifest/parse.ts";
import { DEFAULT_NAMESPACE, type Kind, type Manifest, type Template, type Workflow } from "../manifest/types.ts";
import { templates, workflows } from "../store/schema.ts";
import { checkTemplate } from "../template/index.ts";
import { checkBootOptions, startNetboot } from "./bmc-jobs.ts";
import { putJob, putMachine, putSecret } from "./bmc-objects.ts";
import { findHardware, putHardware, setAllowPXE } from "./hardware.ts";
import {
  objectError,
  sameJson,
  sameMeta,
  toStoredHardware,
  toStoredTemplate,
  type CoreContext,
  type SourceLoc,
  type TemplateRow,
} from "./objects.ts";
import { renderWorkflow, templateErrorText } from "./render.ts";
import type { ApplyOutcome, ApplyResult, SourcedManifest } from "./types.ts";
import { findWorkflow, insertWorkflow, recordEvents } from "./workflows.ts";

/** How a put treats an existing object: apply upserts, create refuses it, update requires it. */
export type PutMode = "apply" | "create" | "update";

/** The outcome of one put and what the user should hear about it. */
export interface PutResult {
  outcome: ApplyOutcome;
  warnings: Diagnostic[];
}

/** Objects are written in this order so references within a batch resolve. */
const KIND_ORDER: Record<Kind, number> = { Secret: 0, Machine: 1, Hardware: 2, Template: 3, Workflow: 4, Job: 5 };

// Any fixed key: all writers serialise on it, which makes the MAC uniqueness check race-free.
const WRITE_LOCK_KEY = 0x77697370;

/** Serialises writers of objects for the rest of the transaction (pg_advisory_xact_lock). */
export async function lockWrites(ctx: CoreContext): Promise<void> {
  await ctx.db.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
}

/** Validates one manifest; throws invalid_manifest with every problem, returns the normalised object and warnings. */
export function validateObject(object: unknown, loc: SourceLoc): { object: Manifest; warnings: Diagnostic[] } {
  const out = validateManifest(object, { source: loc.source ?? "-", document: loc.document ?? 0 });
  if (!out.object || out.errors.length > 0) {
    const first = out.errors[0];
    const where = first?.kind && first.name ? `${first.kind} ${first.namespace ? `${first.namespace}/` : ""}${first.name}: ` : "";
    const message = first ? `${where}${first.field ? `${first.field}: ` : ""}${first.message}` : "invalid manifest";
    throw new WispError("invalid_manifest", message, { field: first?.field, details: out.errors });
  }
  const obj = out.object;
  if (!obj.metadata.namespace) obj.metadata = { ...obj.metadata, namespace: DEFAULT_NAMESPACE };
  return { object: obj, warnings: out.warnings };
}

/** Validates, orders and writes a batch in the current transaction. */
export async function applyBatch(ctx: CoreContext, batch: SourcedManifest[]): Promise<ApplyResult> {
  const items = batch.map((m) => ({ ...m, ...validateObject(m.object, m) }));
  checkBatchDuplicates(items);
  items.sort((a, b) => KIND_ORDER[a.object.kind] - KIND_ORDER[b.object.kind]);
  await lockWrites(ctx);
  const result: ApplyResult = { objects: [], warnings: items.flatMap((i) => i.warnings) };
  for (const item of items) {
    const { outcome, warnings } = await putObject(ctx, item.object, "apply", item);
    const { kind, metadata } = item.object;
    result.objects.push({ kind, namespace: metadata.namespace, name: metadata.name, outcome });
    result.warnings.push(...warnings);
  }
  return result;
}

function checkBatchDuplicates(items: { source: string; document: number; object: Manifest }[]): void {
  const seen = new Map<string, { source: string; document: number }>();
  for (const item of items) {
    const { kind, metadata } = item.object;
    const key = `${kind} ${metadata.namespace}/${metadata.name}`;
    const first = seen.get(key);
    if (first) {
      throw objectError(
        "invalid_manifest",
        { kind, ...metadata },
        item,
        undefined,
        `appears twice in this batch (also ${first.source}#${first.document})`,
      );
    }
    seen.set(key, item);
  }
}

/** Writes one validated object according to `mode`. */
export async function putObject(ctx: CoreContext, obj: Manifest, mode: PutMode, loc: SourceLoc): Promise<PutResult> {
  switch (obj.kind) {
    case "Hardware":
      return { outcome: await putHardware(ctx, obj, mode, loc), warnings: [] };
    case "Template":
      return { outcome: await putTemplate(ctx, obj, mode, loc), warnings: [] };
    case "Workflow":
      return putWorkflow(ctx, obj, mode, loc);
    // BMC kinds (issue 9): core/bmc-objects.ts.
    case "Secret":
      return { outcome: await putSecret(ctx, obj, mode, loc), warnings: [] };
    case "Machine":
      return putMachine(ctx, obj, mode, loc);
    case "Job":
      return { outcome: await putJob(ctx, obj, mode, loc), warnings: [] };
  }
}

/** The Template row `namespace/name`. */
export async function findTemplate(ctx: CoreContext, namespace: string, name: string, lock = false): Promise<TemplateRow | undefined> {
  const q = ctx.db.select().from(templates).where(and(eq(templates.namespace, namespace), eq(templates.name, name)));
  const [row] = lock ? await q.for("update") : await q;
  return row;
}

function presence(kind: Kind, obj: Manifest, exists: boolean, mode: PutMode, loc: SourceLoc): void {
  const id = { kind, ...obj.metadata };
  if (exists && mode === "create") throw objectError("already_exists", id, loc, undefined, "already exists");
  if (!exists && mode === "update") throw objectError("not_found", id, loc, undefined, "not found");
}

async function putTemplate(ctx: CoreContext, obj: Template, mode: PutMode, loc: SourceLoc): Promise<ApplyOutcome> {
  const { namespace, name } = obj.metadata;
  const existing = await findTemplate(ctx, namespace, name, true);
  presence("Template", obj, !!existing, mode, loc);
  const data = obj.spec.data ?? "";
  const check = checkTemplate(data, { name });
  if (!check.ok) {
    throw objectError("invalid_template", { kind: "Template", namespace, name }, loc, "spec.data", templateErrorText(check.error));
  }
  const columns = { data, spec: obj.spec, labels: obj.metadata.labels ?? null, annotations: obj.metadata.annotations ?? null };
  if (!existing) {
    const now = ctx.now();
    await ctx.db.insert(templates).values({ namespace, name, ...columns, createdAt: now, updatedAt: now });
    return "created";
  }
  if (sameJson(existing.spec, obj.spec) && sameMeta(existing, obj.metadata)) return "unchanged";
  await ctx.db
    .update(templates)
    .set({ ...columns, resourceVersion: existing.resourceVersion + 1, updatedAt: ctx.now() })
    .where(eq(templates.id, existing.id));
  return "configured";
}

async function putWorkflow(ctx: CoreContext, wf: Workflow, mode: PutMode, loc: SourceLoc): Promise<PutResult> {
  const existing = await findWorkflow(ctx.db, wf.metadata.namespace, wf.metadata.name, true);
  presence("Workflow", wf, !!existing, mode, loc);
  if (existing) return { outcome: await changeWorkflow(ctx, existing, wf, loc), warnings: [] };
  return createWorkflow(ctx, wf, loc);
}

/** A stored workflow is immutable except for `spec.disabled` and its labels/annotations. */
async function changeWorkflow(
  ctx: CoreContext,
  row: NonNullable<Awaited<ReturnType<typeof findWorkflow>>>,
  wf: Workflow,
  loc: SourceLoc,
): Promise<ApplyOutcome> {
  const sameSpec = sameJson(row.spec, wf.spec);
  if (sameSpec && sameMeta(row, wf.metadata)) return "unchanged";
  if (!sameSpec && !sameJson({ ...row.spec, disabled: undefined }, { ...wf.spec, disabled: undefined })) {
    throw objectError(
      "conflict",
      { kind: "Workflow", ...wf.metadata },
      loc,
      "spec",
      "workflow spec is immutable once rendered; delete it or use rerun",
    );
  }
  const disabled = wf.spec.disabled ?? false;
  await ctx.db
    .update(workflows)
    .set({
      spec: wf.spec,
      disabled,
      labels: wf.metadata.labels ?? null,
      annotations: wf.metadata.annotations ?? null,
      resourceVersion: row.resourceVersion + 1,
      updatedAt: ctx.now(),
    })
    .where(eq(workflows.id, row.id));
  if (disabled !== row.disabled) {
    await recordEvents(ctx, row.id, [{ type: "workflow.disabled", from: String(row.disabled), to: String(disabled) }]);
  }
  return "configured";
}

async function createWorkflow(ctx: CoreContext, wf: Workflow, loc: SourceLoc): Promise<PutResult> {
  const { namespace } = wf.metadata;
  const id = { kind: "Workflow" as const, ...wf.metadata };
  const templateRef = wf.spec.templateRef ?? "";
  const hardwareRef = wf.spec.hardwareRef ?? "";
  if (!templateRef) throw objectError("invalid_manifest", id, loc, "spec.templateRef", "required");
  const template = await findTemplate(ctx, namespace, templateRef);
  if (!template) {
    throw objectError("not_found", id, loc, "spec.templateRef", `Template "${templateRef}" not found in namespace ${namespace}`);
  }
  const hw = hardwareRef ? await findHardware(ctx.db, namespace, hardwareRef, true) : undefined;
  if (hardwareRef && !hw) {
    throw objectError("not_found", id, loc, "spec.hardwareRef", `Hardware "${hardwareRef}" not found in namespace ${namespace}`);
  }
  const toggle = wf.spec.bootOptions?.toggleAllowNetboot ?? false;
  if (toggle && !hw) {
    throw objectError("invalid_manifest", id, loc, "spec.bootOptions.toggleAllowNetboot", "needs spec.hardwareRef");
  }
  const machine = await checkBootOptions(ctx, wf, hw, loc);
  const netboot = wf.spec.bootOptions?.bootMode === "netboot";
  const out = renderWorkflow(wf, toStoredTemplate(template), hw && toStoredHardware(hw), loc);
  const workflowId = await insertWorkflow(ctx, wf, out.rendered, out.definition, toggle || netboot ? "PREPARING" : "PENDING");
  await recordEvents(ctx, workflowId, [
    { type: "workflow.state", to: toggle || netboot ? "PREPARING" : "PENDING", message: `rendered from Template ${templateRef}` },
  ]);
  // bootMode netboot: PREPARING until the BMC job has power-cycled the machine into PXE (bmc-jobs.ts).
  if (netboot && hw && machine) await startNetboot(ctx, { id: workflowId, ...wf.metadata, toggleAllowNetboot: toggle }, hw, machine);
  else if (toggle && hw) await prepareNetboot(ctx, workflowId, hw, "PREPARING");
  return { outcome: "created", warnings: out.warnings };
}

/** Allows PXE on the workflow's Hardware and moves the workflow on to PENDING, with events. */
export async function prepareNetboot(
  ctx: CoreContext,
  workflowId: string,
  hw: NonNullable<Awaited<ReturnType<typeof findHardware>>>,
  from: string,
): Promise<void> {
  const changed = await setAllowPXE(ctx, hw, true);
  await ctx.db
    .update(workflows)
    .set({ state: "PENDING", updatedAt: ctx.now() })
    .where(eq(workflows.id, workflowId));
  await recordEvents(ctx, workflowId, [
    {
      type: "hardware.allowPXE",
      from: changed ? "false" : "true",
      to: "true",
      message: `Hardware ${hw.name}${changed ? "" : " (already allowed)"}`,
    },
    { type: "workflow.state", from, to: "PENDING" },
  ]);
}
