/**
 * Manifest files -> validated objects. Accepts what Tinkerbell users keep: multi-document YAML,
 * a JSON object or array, and `kubectl get -o yaml` exports (`kind: List` with `items`).
 */
import { LineCounter, parseAllDocuments } from "yaml";
import type { SourcedManifest } from "../core/types.ts";
import type { Diagnostic } from "../lib/errors.ts";
import { describe, formatPath, isObject, type Path } from "./schema.ts";
import type { Hardware } from "./types.ts";
import { validateAt } from "./validate.ts";

export { validateManifest, type ManifestLocation, type Validated } from "./validate.ts";
export { normalizeMac } from "./values.ts";

/** Outcome of parsing one source; callers apply nothing when `errors` is non-empty. */
export interface ParsedManifests {
  manifests: SourcedManifest[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Options for parseManifests. */
export interface ParseOptions {
  /** Namespace for objects that name none (default `default`). */
  defaultNamespace?: string;
}

/** Wrappers that hold several objects in `items`: kubectl's generic List and the typed ones. */
const LIST_KINDS = new Set(["List", "HardwareList", "TemplateList", "WorkflowList", "MachineList", "JobList", "SecretList"]);

/** Aliases are expanded when decoding; this bounds "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/** A decoded document: its index in the source and its value. */
interface Decoded {
  document: number;
  value: unknown;
}

/** One object's place, for messages that name two of them. */
interface Place {
  document: number;
  at: Path;
  label: string;
}

/** Parses multi-document YAML (or JSON) text. Never throws. */
export function parseManifests(text: string, source: string, opts: ParseOptions = {}): ParsedManifests {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const manifests: SourcedManifest[] = [];
  const byKey = new Map<string, Place>();
  const byMac = new Map<string, { place: Place; field: string }>();
  const where = (document: number, at: Path) => `${source}#${document}${at.length ? " " + formatPath(at) : ""}`;

  for (const { document, value } of decode(text, source, errors, warnings)) {
    for (const { at, item } of expand(value, (at, message) => errors.push({ source, document, field: formatPath(at), message }))) {
      const result = validateAt(item, { source, document, defaultNamespace: opts.defaultNamespace }, at);
      errors.push(...result.errors);
      warnings.push(...result.warnings);
      const object = result.object;
      if (!object) continue;
      const { kind, metadata } = object;
      const label = `${kind} ${metadata.namespace}/${metadata.name}`;
      const place: Place = { document, at, label };
      const who = { source, document, kind, name: metadata.name, namespace: metadata.namespace };
      const path = (p: Path) => formatPath([...at, ...p]);

      const key = `${kind}\0${metadata.namespace}\0${metadata.name}`;
      const first = byKey.get(key);
      if (first) {
        errors.push({ ...who, field: path(["metadata", "name"]), message: `defined twice, at ${where(first.document, first.at)} and ${where(document, at)}` });
        continue;
      }
      byKey.set(key, place);

      // One MAC, one machine: DHCP and the agent both look Hardware up by MAC, across namespaces.
      const macs = kind === "Hardware" ? interfaceMacs(object as Hardware) : [];
      const clashes = macs.flatMap(({ mac, i }) => {
        const other = byMac.get(mac);
        return other ? [{ mac, i, other }] : [];
      });
      for (const { mac, i, other } of clashes) {
        errors.push({
          ...who,
          field: path(["spec", "interfaces", i, "dhcp", "mac"]),
          message: `${mac} is also the MAC of ${other.place.label} (${where(other.place.document, other.place.at)} ${other.field})`,
        });
      }
      if (clashes.length) continue;
      for (const { mac, i } of macs) byMac.set(mac, { place, field: formatPath(["spec", "interfaces", i, "dhcp", "mac"]) });
      manifests.push({ source, document, object });
    }
  }
  if (!manifests.length && !errors.length) warnings.push({ source, message: "no manifests found" });
  // Syntax errors are found before the objects are checked; report in document order.
  const byDocument = (a: Diagnostic, b: Diagnostic) => (a.document ?? -1) - (b.document ?? -1);
  return { manifests, errors: errors.sort(byDocument), warnings: warnings.sort(byDocument) };
}

/** The source's documents: a JSON text as one, else each YAML document, syntax errors reported. */
function decode(text: string, source: string, errors: Diagnostic[], warnings: Diagnostic[]): Decoded[] {
  if (typeof text !== "string") {
    errors.push({ source, message: `expected text, got ${describe(text)}` });
    return [];
  }
  if (/^\s*[[{]/.test(text)) {
    try {
      return [{ document: 0, value: JSON.parse(text) }];
    } catch {
      // Not JSON after all (a YAML flow mapping, or broken): the YAML reader says where.
    }
  }
  const lineCounter = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, merge: true, logLevel: "error" });
  } catch (e) {
    errors.push({ source, message: `cannot read YAML: ${(e as Error).message}` });
    return [];
  }
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const out: Decoded[] = [];
  for (const [document, doc] of docs.entries()) {
    for (const w of doc.warnings) warnings.push({ source, document, message: `YAML at ${at(w.pos[0])}: ${w.message}` });
    const [first, ...more] = doc.errors;
    if (first) {
      // Later errors in the same document are mostly echoes of the first.
      const rest = more.length ? ` (and ${more.length} more in this document)` : "";
      errors.push({ source, document, message: `YAML syntax error at ${at(first.pos[0])}: ${first.message}${rest}` });
      continue;
    }
    try {
      out.push({ document, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) });
    } catch (e) {
      errors.push({ source, document, message: `cannot read YAML document: ${(e as Error).message}` });
    }
  }
  return out;
}

/** The objects a document holds: itself, the elements of a top-level list, or a List's `items`. */
function expand(value: unknown, error: (at: Path, message: string) => void): { at: Path; item: unknown }[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map((item, i) => ({ at: [i], item }));
  if (isObject(value) && typeof value.kind === "string" && LIST_KINDS.has(value.kind)) {
    const items = value.items;
    if (items === undefined || items === null) return [];
    if (!Array.isArray(items)) {
      error(["items"], `expected a list of objects, got ${describe(items)}`);
      return [];
    }
    return items.map((item, i) => ({ at: ["items", i], item }));
  }
  return [{ at: [], item: value }];
}

/** The MACs of a Hardware's interfaces with their indexes. */
function interfaceMacs(hw: Hardware): { mac: string; i: number }[] {
  return (hw.spec.interfaces ?? []).flatMap((iface, i) => (iface.dhcp?.mac === undefined ? [] : [{ mac: iface.dhcp.mac, i }]));
}
