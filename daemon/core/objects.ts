/**
 * Rows to API objects and back: stored metadata, spec comparison, and the context every core
 * function receives.
 */
import { formatDiagnostic, WispError, type Diagnostic } from "../lib/errors.ts";
import { API_VERSION, type Kind, type ObjectMeta } from "../manifest/types.ts";
import type { Db, StoreLogger } from "../store/open.ts";
import type { hardware, templates, workflows } from "../store/schema.ts";
import type { StoredHardware, StoredMeta, StoredTemplate } from "./types.ts";

/** What core functions need: a database (or transaction), a clock and a logger. */
export interface CoreContext {
  db: Db;
  now: () => Date;
  logger?: StoreLogger;
}

/** Where an object came from, so an error can name its file and document. */
export interface SourceLoc {
  source?: string;
  document?: number;
}

export type HardwareRow = typeof hardware.$inferSelect;
export type TemplateRow = typeof templates.$inferSelect;
export type WorkflowRow = typeof workflows.$inferSelect;

type MetaRow = Pick<HardwareRow, "id" | "namespace" | "name" | "labels" | "annotations" | "resourceVersion" | "createdAt">;

/** Server-set metadata of a row. */
export function storedMeta(row: MetaRow): StoredMeta {
  return {
    name: row.name,
    namespace: row.namespace,
    ...(row.labels && Object.keys(row.labels).length ? { labels: row.labels } : {}),
    ...(row.annotations && Object.keys(row.annotations).length ? { annotations: row.annotations } : {}),
    uid: row.id,
    creationTimestamp: row.createdAt.toISOString(),
    resourceVersion: String(row.resourceVersion),
  };
}

/** A Hardware row as the API returns it. */
export function toStoredHardware(row: HardwareRow): StoredHardware {
  return { apiVersion: API_VERSION, kind: "Hardware", metadata: storedMeta(row), spec: row.spec };
}

/** A Template row as the API returns it. */
export function toStoredTemplate(row: TemplateRow): StoredTemplate {
  return { apiVersion: API_VERSION, kind: "Template", metadata: storedMeta(row), spec: row.spec };
}

/** JSON with sorted keys and without undefined members: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Deep equality of JSON-like values (key order and undefined members ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

/** True when labels and annotations are the same (absent equals empty). */
export function sameMeta(row: Pick<MetaRow, "labels" | "annotations">, meta: ObjectMeta): boolean {
  return sameJson(row.labels ?? {}, meta.labels ?? {}) && sameJson(row.annotations ?? {}, meta.annotations ?? {});
}

/** A WispError about one object, its message `Kind ns/name: field: message`, located in details. */
export function objectError(
  code: WispError["code"],
  obj: { kind: Kind; namespace: string; name: string },
  loc: SourceLoc,
  field: string | undefined,
  message: string,
): WispError {
  const detail: Diagnostic = { ...loc, kind: obj.kind, namespace: obj.namespace, name: obj.name, field, message };
  // The message names the file and document too, when the object came from one.
  return new WispError(code, formatDiagnostic(detail), { field, details: [detail] });
}

/** `namespace/name`, the id the agent protocol uses for a workflow. */
export function workflowKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
