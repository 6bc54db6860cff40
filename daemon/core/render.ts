/**
 * Rendering a Template for a Workflow, once at creation: the data Tinkerbell templates expect,
 * Go text/template, then the workflow definition parser.
 */
import type { Diagnostic } from "../lib/errors.ts";
import type { Workflow } from "../manifest/types.ts";
import { normalizeMac } from "../manifest/parse.ts";
import { renderTemplate, type TemplateError } from "../template/index.ts";
import type { WorkflowDefinition } from "../workflow/definition.ts";
import { parseWorkflowDefinition } from "../workflow/parse.ts";
import { goInterfaces, goMetadata } from "./go-view.ts";
import { hardwareMacs } from "./hardware.ts";
import { objectError, type SourceLoc } from "./objects.ts";
import type { StoredHardware, StoredTemplate } from "./types.ts";

/** Tinkerbell's legacy `.Hardware` view (its templateHardwareData): Go field names and zero values. */
export interface LegacyHardwareData {
  Disks: string[] | null;
  Interfaces: unknown[] | null;
  UserData: string;
  Metadata: Record<string, unknown>;
  VendorData: string;
}

/** The legacy `.Hardware` data, shaped as Tinkerbell's Go structs (see go-view.ts). */
export function legacyHardwareData(hw: StoredHardware): LegacyHardwareData {
  const disks = (hw.spec.disks ?? []).map((d) => d.device ?? "");
  return {
    Disks: disks.length ? disks : null,
    Interfaces: goInterfaces(hw.spec.interfaces),
    UserData: hw.spec.userData ?? "",
    Metadata: goMetadata(hw.spec.metadata),
    VendorData: hw.spec.vendorData ?? "",
  };
}

/** Template data: hardwareMap keys at the top, then `.hardware` and `.Hardware`, which win over map keys. */
export function templateData(hardwareMap: Record<string, string> | undefined, hw: StoredHardware | undefined): Record<string, unknown> {
  const data: Record<string, unknown> = { ...hardwareMap };
  if (hw) {
    data.hardware = hw;
    data.Hardware = legacyHardwareData(hw);
  }
  return data;
}

/** A rendered workflow: the text as rendered, its definition, and warnings for the user. */
export interface RenderedWorkflow {
  rendered: string;
  definition: WorkflowDefinition;
  warnings: Diagnostic[];
}

/** A template error as one line; Go-style messages (`template: name:4:2: ...`) already carry the position. */
export function templateErrorText(e: TemplateError): string {
  if (e.line === undefined || e.message.includes(`:${e.line}`)) return e.message;
  return `line ${e.line}${e.column !== undefined ? `:${e.column}` : ""}: ${e.message}`;
}

/** A task worker as stored and compared: a MAC in lower-case colon form, else the text as is. */
export function normalizeWorker(worker: string): string {
  return normalizeMac(worker) ?? worker.trim();
}

/** Renders `template` for `wf`; throws render_failed or invalid_template naming both objects. */
export function renderWorkflow(
  wf: Workflow,
  template: StoredTemplate,
  hw: StoredHardware | undefined,
  loc: SourceLoc,
): RenderedWorkflow {
  const id = { kind: "Workflow" as const, ...wf.metadata };
  const tplName = template.metadata.name;
  const out = renderTemplate(template.spec.data ?? "", templateData(wf.spec.hardwareMap, hw), { name: tplName });
  if (!out.ok) {
    throw objectError("render_failed", id, loc, "spec.templateRef", `Template "${tplName}" failed to render: ${templateErrorText(out.error)}`);
  }
  const parsed = parseWorkflowDefinition(out.value);
  if (!parsed.definition || parsed.errors.length > 0) {
    const first = parsed.errors[0];
    const err = objectError(
      "invalid_template",
      id,
      loc,
      "spec.templateRef",
      `Template "${tplName}" rendered to an invalid workflow: ${first ? `${first.field ? `${first.field}: ` : ""}${first.message}` : "no definition"}`,
    );
    // Keep every parser diagnostic, each pointing into the rendered template.
    err.details.push(...parsed.errors.map((d) => ({ ...d, source: loc.source, document: loc.document, kind: "Template", namespace: template.metadata.namespace, name: tplName })));
    throw err;
  }
  const definition = parsed.definition;
  const warnings: Diagnostic[] = parsed.warnings.map((d) => ({ ...loc, ...d, kind: "Workflow", namespace: wf.metadata.namespace, name: wf.metadata.name }));
  if (hw) warnings.push(...workerWarnings(wf, definition, hw, loc));
  if (hw && wf.spec.hardwareMap && ("hardware" in wf.spec.hardwareMap || "Hardware" in wf.spec.hardwareMap)) {
    warnings.push({ ...loc, kind: "Workflow", ...wf.metadata, field: "spec.hardwareMap", message: "keys hardware/Hardware are hidden by the referenced Hardware's data" });
  }
  return { rendered: out.value, definition, warnings };
}

/** A warning when no task would run on the referenced Hardware (its MACs and agentID). */
function workerWarnings(wf: Workflow, def: WorkflowDefinition, hw: StoredHardware, loc: SourceLoc): Diagnostic[] {
  const ids = new Set(hardwareMacs(hw.spec));
  if (hw.spec.agentID) ids.add(normalizeWorker(hw.spec.agentID));
  if (def.tasks.some((t) => ids.has(normalizeWorker(t.worker)))) return [];
  const workers = [...new Set(def.tasks.map((t) => t.worker))].join(", ");
  return [
    {
      ...loc,
      kind: "Workflow",
      namespace: wf.metadata.namespace,
      name: wf.metadata.name,
      field: "spec.hardwareMap",
      message: `no task worker (${workers}) matches a MAC or the agentID of Hardware ${hw.metadata.name}; its agent will get nothing to run`,
    },
  ];
}
