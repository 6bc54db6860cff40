/**
 * `createCore()`: the Core over a store. Reads and writes of objects live here; applying,
 * rendering and the engine are in their own files.
 */
import { and, asc, eq, type SQL } from "drizzle-orm";
import { WispError } from "../lib/errors.ts";
import type { Kind, Manifest } from "../manifest/types.ts";
import type { Store, StoreLogger } from "../store/open.ts";
import { hardware, templates, workflows } from "../store/schema.ts";
import { appendActionLogs, workflowLogs } from "./action-logs.ts";
import { deleteBmcObject, listBmcObjects } from "./bmc-objects.ts";
import { applyBatch, lockWrites, putObject, validateObject } from "./apply.ts";
import { cancelWorkflow } from "./cancel.ts";
import type { ChangeFeed } from "./changes.ts";
import { getAction, parseWorkflowKey, reportAction } from "./engine.ts";
import { checkHardwareUnused } from "./hardware.ts";
import { toStoredHardware, toStoredTemplate, type CoreContext } from "./objects.ts";
import { rerunWorkflow, sweepTimeouts } from "./sweep.ts";
import type { Core, StoredObject, StoredWorkflow } from "./types.ts";
import { findWorkflow, listEvents, toStoredWorkflows, type EventInput } from "./workflows.ts";

/** Options of the core: a logger, a clock (tests inject one) and the feed committed changes go to. */
export interface CoreOptions {
  logger?: StoreLogger;
  now?: () => Date;
  /** Told of every committed change but Hardware's (the store's `wisp_hardware` notifications carry those: `feedHardwareNotifications`). */
  changes?: ChangeFeed;
}

const TABLES = { Hardware: hardware, Template: templates, Workflow: workflows } as const;

// Thrown inside a dry run's transaction to roll it back while keeping its result.
class DryRunRollback extends Error {
  constructor(readonly result: Awaited<ReturnType<typeof applyBatch>>) {
    super("dry run");
  }
}

function notFound(kind: Kind, namespace: string, name: string): WispError {
  return new WispError("not_found", `${kind} ${namespace}/${name} not found`);
}

/** Stored objects of a kind, optionally in one namespace (by namespace, then name). */
async function listObjects(ctx: CoreContext, kind: Kind, namespace?: string, name?: string): Promise<StoredObject[]> {
  // BMC kinds (issue 9) live in core/bmc-objects.ts.
  if (kind === "Machine" || kind === "Job" || kind === "Secret") return listBmcObjects(ctx, kind, namespace, name);
  const table = TABLES[kind];
  const filters: SQL[] = [];
  if (namespace !== undefined) filters.push(eq(table.namespace, namespace));
  if (name !== undefined) filters.push(eq(table.name, name));
  const where = filters.length ? and(...filters) : undefined;
  const order = [asc(table.namespace), asc(table.name)];
  switch (kind) {
    case "Hardware":
      return (await ctx.db.select().from(hardware).where(where).orderBy(...order)).map(toStoredHardware);
    case "Template":
      return (await ctx.db.select().from(templates).where(where).orderBy(...order)).map(toStoredTemplate);
    case "Workflow":
      return toStoredWorkflows(ctx.db, await ctx.db.select().from(workflows).where(where).orderBy(...order), ctx.now());
  }
}

async function getObject(ctx: CoreContext, kind: Kind, namespace: string, name: string): Promise<StoredObject> {
  const [obj] = await listObjects(ctx, kind, namespace, name);
  if (!obj) throw notFound(kind, namespace, name);
  return obj;
}

/** Creates or updates one object through the same validation as apply; returns it as stored. */
async function putOne(ctx: CoreContext, object: Manifest, mode: "create" | "update"): Promise<StoredObject> {
  const { object: obj } = validateObject(object, {});
  return ctx.db.transaction(async (db) => {
    const tx = { ...ctx, db };
    await lockWrites(tx);
    await putObject(tx, obj, mode, {});
    return getObject(tx, obj.kind, obj.metadata.namespace, obj.metadata.name);
  });
}

async function deleteObject(ctx: CoreContext, kind: Kind, namespace: string, name: string): Promise<void> {
  await ctx.db.transaction(async (db) => {
    const tx = { ...ctx, db };
    await lockWrites(tx);
    if (kind === "Hardware") await checkHardwareUnused(db, namespace, name);
    if (kind === "Machine" || kind === "Job" || kind === "Secret") {
      if (!(await deleteBmcObject(tx, kind, namespace, name))) throw notFound(kind, namespace, name);
      return;
    }
    const table = TABLES[kind];
    const gone = await db
      .delete(table)
      .where(and(eq(table.namespace, namespace), eq(table.name, name)))
      .returning({ id: table.id });
    if (gone.length === 0) throw notFound(kind, namespace, name);
  });
}

/** The Core over `store`; every method throws WispError for domain errors. */
export function createCore(store: Store, opts: CoreOptions = {}): Core {
  const ctx: CoreContext = { db: store.db, now: opts.now ?? (() => new Date()), logger: opts.logger };
  // After the transaction committed: a reader that fetches the object then sees the change.
  const changed = (kind: Kind, namespace: string, name: string, op: "created" | "configured" | "deleted") => {
    if (kind === "Template" || kind === "Workflow") opts.changes?.emit({ kind, namespace, name, op });
  };
  const stateChanged = (namespace: string, name: string, state: string, events: EventInput[]) =>
    opts.changes?.emit({ kind: "Workflow", namespace, name, op: "state", state, events });
  return {
    async apply(objects, applyOpts = {}) {
      try {
        const result = await store.db.transaction(async (db) => {
          const result = await applyBatch({ ...ctx, db }, objects);
          if (applyOpts.dryRun) throw new DryRunRollback(result);
          return result;
        });
        for (const o of result.objects) if (o.outcome !== "unchanged") changed(o.kind, o.namespace, o.name, o.outcome);
        return result;
      } catch (e) {
        if (e instanceof DryRunRollback) return e.result;
        throw e;
      }
    },
    list: (kind, namespace) => listObjects(ctx, kind, namespace),
    get: (kind, namespace, name) => getObject(ctx, kind, namespace, name),
    async create(object) {
      const stored = await putOne(ctx, object, "create");
      changed(stored.kind, stored.metadata.namespace, stored.metadata.name, "created");
      return stored;
    },
    async update(object) {
      const stored = await putOne(ctx, object, "update");
      changed(stored.kind, stored.metadata.namespace, stored.metadata.name, "configured");
      return stored;
    },
    async delete(kind, namespace, name) {
      await deleteObject(ctx, kind, namespace, name);
      changed(kind, namespace, name, "deleted");
    },
    async events(namespace, name) {
      const wf = await findWorkflow(ctx.db, namespace, name);
      if (!wf) throw notFound("Workflow", namespace, name);
      return listEvents(ctx.db, wf.id);
    },
    getAction: (agentId) => getAction(ctx, agentId),
    async reportAction(report) {
      const outcome = await reportAction(ctx, report);
      if (outcome && opts.changes) {
        const { namespace, name } = parseWorkflowKey(report.workflowId);
        stateChanged(namespace, name, outcome.state, outcome.events);
      }
    },
    async appendActionLogs(report) {
      const ack = await appendActionLogs(ctx, report);
      if (ack.stored > 0 && opts.changes) {
        const { namespace, name } = parseWorkflowKey(report.workflowId);
        opts.changes.emit({ kind: "ActionLogs", namespace, name, op: "lines", actionId: report.actionId, lines: ack.stored });
      }
      return ack;
    },
    workflowLogs: (namespace, name, logOpts) => workflowLogs(ctx, namespace, name, logOpts),
    sweepTimeouts: (now) => sweepTimeouts(ctx, now ?? ctx.now(), (w) => stateChanged(w.namespace, w.name, w.state, w.events)),
    async rerunWorkflow(namespace, name): Promise<StoredWorkflow> {
      const row = await rerunWorkflow(ctx, namespace, name);
      stateChanged(namespace, name, row.state, [{ type: "workflow.rerun", to: row.state }]);
      const [stored] = await toStoredWorkflows(ctx.db, [row], ctx.now());
      return stored!;
    },
    async cancelWorkflow(namespace, name): Promise<StoredWorkflow> {
      const { row, events } = await cancelWorkflow(ctx, namespace, name);
      stateChanged(namespace, name, row.state, events);
      const [stored] = await toStoredWorkflows(ctx.db, [row], ctx.now());
      return stored!;
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
