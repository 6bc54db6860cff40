/** REST routes for Hardware, Template and Workflow, plus apply, events, rerun and cancel. */
import { Elysia, t } from "elysia";
import type { Core, SourcedManifest } from "../core/types.ts";
import { type Diagnostic, formatDiagnostic, WispError } from "../lib/errors.ts";
import { KIND_WORDS, resolveKind } from "../lib/kinds.ts";
import { parseManifests, validateManifest } from "../manifest/parse.ts";
import type { Kind, Manifest } from "../manifest/types.ts";

/** Largest manifest body the API reads (a Template renders to at most 256 KiB; sources are smaller). */
export const MAX_APPLY_BYTES = 4 * 1024 * 1024;

const ManifestBody = t.Object(
  {
    apiVersion: t.String(),
    kind: t.String(),
    metadata: t.Object({ name: t.String(), namespace: t.Optional(t.String()) }, { additionalProperties: true }),
    spec: t.Optional(t.Record(t.String(), t.Unknown())),
  },
  { additionalProperties: true, description: "A Tinkerbell manifest (tinkerbell.org/v1alpha1)" },
);

const ApplyBody = t.Object({
  sources: t.Array(t.Object({ name: t.String({ description: "file name shown in errors" }), text: t.String() }), { minItems: 1 }),
  dryRun: t.Optional(t.Boolean()),
});

const KindParam = t.String({ description: `one of ${KIND_WORDS.join(", ")}` });

function kindOf(word: string): Kind {
  const kind = resolveKind(word);
  if (!kind) throw new WispError("invalid_argument", `unknown kind "${word}"; expected one of ${KIND_WORDS.join(", ")}`, { field: "kind" });
  return kind;
}

/** Throws invalid_manifest with every diagnostic when there are errors. */
function failOn(errors: Diagnostic[]): void {
  if (errors.length === 0) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  throw new WispError("invalid_manifest", formatDiagnostic(errors[0]!) + more, { field: errors[0]!.field, details: errors });
}

/** Parses a request body that is one manifest for `kind` in namespace `ns`. */
function bodyManifest(body: unknown, kind: Kind, ns: string, name?: string): { object: Manifest; warnings: Diagnostic[] } {
  const v = validateManifest(body, { source: "request", document: 0 });
  failOn(v.errors);
  const object = v.object!;
  if (object.kind !== kind) throw new WispError("invalid_argument", `kind: expected ${kind}, got ${object.kind}`, { field: "kind" });
  const given = (body as { metadata?: { namespace?: string } }).metadata?.namespace;
  if (given !== undefined && given !== ns) {
    throw new WispError("invalid_argument", `metadata.namespace: "${given}" does not match the URL namespace "${ns}"`, { field: "metadata.namespace" });
  }
  object.metadata.namespace = ns;
  if (name !== undefined && object.metadata.name !== name) {
    throw new WispError("invalid_argument", `metadata.name: "${object.metadata.name}" does not match the URL name "${name}"`, { field: "metadata.name" });
  }
  return { object, warnings: v.warnings };
}

/** Parses every source; all errors are reported together and nothing is applied if any.
 * `defaultNamespace` (kubectl's `-n`) applies to documents that do not name one. */
export function parseSources(sources: { name: string; text: string }[], defaultNamespace?: string): { manifests: SourcedManifest[]; warnings: Diagnostic[] } {
  const manifests: SourcedManifest[] = [];
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  for (const s of sources) {
    const r = parseManifests(s.text, s.name, defaultNamespace ? { defaultNamespace } : undefined);
    manifests.push(...r.manifests);
    errors.push(...r.errors);
    warnings.push(...r.warnings);
  }
  failOn(errors);
  return { manifests, warnings };
}

/** The resource routes, mounted under /api/v1. */
export function resourceRoutes(core: Core) {
  return new Elysia({ prefix: "/api/v1" })
    .post(
      "/apply",
      async ({ body, query }) => {
        const { manifests, warnings } = parseSources(body.sources, query.namespace);
        const result = await core.apply(manifests, { dryRun: body.dryRun ?? false });
        return { ...result, warnings: [...warnings, ...result.warnings] };
      },
      { body: ApplyBody, query: t.Object({ namespace: t.Optional(t.String()) }), detail: { summary: "Apply manifests: all or nothing" } },
    )
    .get("/:kind", ({ params }) => core.list(kindOf(params.kind)), {
      params: t.Object({ kind: KindParam }),
      detail: { summary: "List objects of a kind in all namespaces" },
    })
    .get("/namespaces/:ns/:kind", ({ params }) => core.list(kindOf(params.kind), params.ns), {
      params: t.Object({ ns: t.String(), kind: KindParam }),
      detail: { summary: "List objects of a kind in a namespace" },
    })
    .post(
      "/namespaces/:ns/:kind",
      async ({ params, body, set }) => {
        const { object, warnings } = bodyManifest(body, kindOf(params.kind), params.ns);
        const created = await core.create(object);
        set.status = 201;
        return warnings.length ? { ...created, warnings } : created;
      },
      { params: t.Object({ ns: t.String(), kind: KindParam }), body: ManifestBody, detail: { summary: "Create an object" } },
    )
    .get("/namespaces/:ns/:kind/:name", ({ params }) => core.get(kindOf(params.kind), params.ns, params.name), {
      params: t.Object({ ns: t.String(), kind: KindParam, name: t.String() }),
      detail: { summary: "Get an object" },
    })
    .put(
      "/namespaces/:ns/:kind/:name",
      async ({ params, body }) => {
        const { object, warnings } = bodyManifest(body, kindOf(params.kind), params.ns, params.name);
        const updated = await core.update(object);
        return warnings.length ? { ...updated, warnings } : updated;
      },
      { params: t.Object({ ns: t.String(), kind: KindParam, name: t.String() }), body: ManifestBody, detail: { summary: "Replace an object's spec" } },
    )
    .delete(
      "/namespaces/:ns/:kind/:name",
      async ({ params }) => {
        await core.delete(kindOf(params.kind), params.ns, params.name);
        return { deleted: { kind: kindOf(params.kind), namespace: params.ns, name: params.name } };
      },
      { params: t.Object({ ns: t.String(), kind: KindParam, name: t.String() }), detail: { summary: "Delete an object" } },
    )
    .get("/namespaces/:ns/workflows/:name/events", ({ params }) => core.events(params.ns, params.name), {
      params: t.Object({ ns: t.String(), name: t.String() }),
      detail: { summary: "A workflow's state history" },
    })
    .post("/namespaces/:ns/workflows/:name/rerun", ({ params }) => core.rerunWorkflow(params.ns, params.name), {
      params: t.Object({ ns: t.String(), name: t.String() }),
      detail: { summary: "Run a finished workflow again from its first action" },
    })
    .post("/namespaces/:ns/workflows/:name/cancel", ({ params }) => core.cancelWorkflow(params.ns, params.name), {
      params: t.Object({ ns: t.String(), name: t.String() }),
      detail: { summary: "End an unfinished workflow in FAILED (cancelled by operator); the agent's next report is refused" },
    });
}
