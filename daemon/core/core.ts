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
import { applyBatch, lockWrites, putObject, validateObject } from "./apply.ts";
import { getAction, reportAction } from "./engine.ts";
import { checkHardwareUnused } from "./hardware.ts";
import { toStoredHardware, toStoredTemplate, type CoreContext } from "./objects.ts";
import { rerunWorkflow, sweepTimeouts } from "./sweep.ts";
import type { Core, StoredObject, StoredWorkflow } from "./types.ts";
import { findWorkflow, listEvents, toStoredWorkflows } from "./workflows.ts";

/** Options of the core: a logger and a clock (tests inject one). */
export interface CoreOptions {
  logger?: StoreLogger;
  now?: () => Date;
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
  return {
    async apply(objects, applyOpts = {}) {
      try {
        return await store.db.transaction(async (db) => {
          const result = await applyBatch({ ...ctx, db }, objects);
          if (applyOpts.dryRun) throw new DryRunRollback(result);
          return result;
        });
      } catch (e) {
        if (e instanceof DryRunRollback) return e.result;
        throw e;
      }
    },
    list: (kind, namespace) => listObjects(ctx, kind, namespace),
    get: (kind, namespace, name) => getObject(ctx, kind, namespace, name),
    create: (object) => putOne(ctx, object, "create"),
    update: (object) => putOne(ctx, object, "update"),
    delete: (kind, namespace, name) => deleteObject(ctx, kind, namespace, name),
    async events(namespace, name) {
      const wf = await findWorkflow(ctx.db, namespace, name);
      if (!wf) throw notFound("Workflow", namespace, name);
      return listEvents(ctx.db, wf.id);
    },
    getAction: (agentId) => getAction(ctx, agentId),
    reportAction: (report) => reportAction(ctx, report),
    appendActionLogs: (report) => appendActionLogs(ctx, report),
    workflowLogs: (namespace, name, logOpts) => workflowLogs(ctx, namespace, name, logOpts),
    sweepTimeouts: (now) => sweepTimeouts(ctx, now ?? ctx.now()),
    async rerunWorkflow(namespace, name): Promise<StoredWorkflow> {
      const row = await rerunWorkflow(ctx, namespace, name);
      const [stored] = await toStoredWorkflows(ctx.db, [row], ctx.now());
      return stored!;
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
