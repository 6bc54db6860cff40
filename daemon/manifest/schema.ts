/**
 * Field tables as data and one walker over them: type checks with the field path, value checks,
 * normalisation, and warnings for unknown fields. Used for manifests and workflow definitions.
 */
import { quote } from "./values.ts";

/** A path into a decoded document: keys and list indexes. */
export type Path = readonly (string | number)[];

/** A value check: the message for a bad value, or undefined. */
export type Check<T> = (value: T) => string | undefined;

/** What one field may hold. */
export type Spec =
  | {
      type: "string";
      check?: Check<string>;
      normalize?: (s: string) => string;
      /** Accept numbers and booleans as their source text and null as "", as Go's YAML decoder does for string fields. */
      scalar?: boolean;
    }
  | { type: "integer"; min?: number; max?: number; oneOf?: readonly number[] }
  | { type: "boolean" }
  | { type: "enum"; values: readonly string[]; aliases?: Readonly<Record<string, string>> }
  | { type: "list"; items: Spec; wrap?: boolean; nonEmpty?: string }
  | { type: "map"; values: Spec; keyCheck?: Check<string> }
  | ObjectSpec
  /** A field that is accepted and kept but has no effect in Wisp (yet). */
  | { type: "unsupported"; note: string }
  /** A field that is dropped: server-set metadata silently, input `status` with a warning. */
  | { type: "dropped"; warning?: string };

/** A field in an object: its spec plus whether it must be present. */
export type Field = Spec & { required?: boolean };

/** An object with a closed set of known fields. */
export interface ObjectSpec {
  type: "object";
  fields: Readonly<Record<string, Field>>;
  /** Words people write for a field that spelling distance would not find (`env` for `environment`). */
  hints?: Readonly<Record<string, string>>;
}

/** Where the walker reports, and how it finds the source text of a scalar. */
export interface Walk {
  error(path: Path, message: string): void;
  warn(path: Path, message: string): void;
  /** Source text of the scalar at a path (YAML `0600` stays `0600`), when known. */
  raw?(path: Path): string | undefined;
}

/** `spec.interfaces[0].dhcp.mac`; keys that are not identifiers are quoted: `labels["app.io/x"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** How a value reads in "got ..." messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `string ${quote(value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/** A plain object (not a list, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets an own property, also for keys such as `__proto__` that plain assignment would not store. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The known name a misspelt one most likely meant, ignoring case, '-' and '_', then by edit distance. */
export function suggest(word: string, known: readonly string[], hints: Readonly<Record<string, string>> = {}): string | undefined {
  if (Object.hasOwn(hints, word)) return hints[word];
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const same = known.find((k) => squash(k) === squash(word));
  if (same) return same;
  const limit = word.length <= 4 ? 1 : 2;
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

/** Levenshtein distance; names are short, so the quadratic table is fine. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Marker for "leave this field out of the output". */
export const DROP: unique symbol = Symbol("drop");

/**
 * Checks a value against its spec and returns the normalised copy (or DROP). Errors and warnings
 * go to `walk`; on error the returned value is a best effort that callers must not store.
 */
export function check(spec: Spec, value: unknown, path: Path, walk: Walk): unknown {
  const mismatch = (expected: string) => {
    walk.error(path, `expected ${expected}, got ${describe(value)}${hint(expected, value)}`);
    return value;
  };
  switch (spec.type) {
    case "string": {
      let text: string;
      if (typeof value === "string") text = value;
      else if (spec.scalar && (typeof value === "number" || typeof value === "boolean")) text = walk.raw?.(path) ?? String(value);
      else if (spec.scalar && value === null) text = "";
      else return mismatch("a string");
      const problem = spec.check?.(text);
      if (problem) walk.error(path, problem);
      return spec.normalize && !problem ? spec.normalize(text) : text;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isSafeInteger(value)) return mismatch("an integer");
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        const range = spec.max === undefined ? `of at least ${spec.min}` : `from ${spec.min ?? Number.MIN_SAFE_INTEGER} to ${spec.max}`;
        walk.error(path, `expected an integer ${range}, got ${value}`);
      }
      if (spec.oneOf && !spec.oneOf.includes(value)) walk.error(path, `expected one of ${spec.oneOf.join(", ")}, got ${value}`);
      return value;
    }
    case "boolean":
      return typeof value === "boolean" ? value : mismatch("true or false");
    case "enum": {
      const choices = spec.values.join(", ");
      if (typeof value !== "string") return mismatch(`one of ${choices}`);
      if (spec.values.includes(value)) return value;
      const alias = Object.hasOwn(spec.aliases ?? {}, value) ? spec.aliases![value] : undefined;
      if (alias) {
        walk.warn(path, `${quote(value)} is an older name for ${quote(alias)}; stored as ${quote(alias)}`);
        return alias;
      }
      const near = suggest(value, spec.values);
      walk.error(path, `expected one of ${choices}, got ${quote(value)}${near ? `; did you mean ${quote(near)}?` : ""}`);
      return value;
    }
    case "list": {
      if (!Array.isArray(value)) {
        // A lone item where a list is expected (`command: "sh -c x"`) is read as a list of one.
        if (spec.wrap && value !== null && typeof value !== "object") return [check(spec.items, value, path, walk)];
        return mismatch("a list");
      }
      if (spec.nonEmpty && value.length === 0) walk.error(path, spec.nonEmpty);
      return value.map((item, i) => check(spec.items, item, [...path, i], walk));
    }
    case "map": {
      if (!isObject(value)) return mismatch("an object");
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const problem = spec.keyCheck?.(key);
        if (problem) walk.error([...path, key], problem);
        setOwn(out, key, check(spec.values, item, [...path, key], walk));
      }
      return out;
    }
    case "object":
      return isObject(value) ? checkObject(spec, value, path, walk) : mismatch("an object");
    case "unsupported":
      walk.warn(path, `not supported by Wisp yet (${spec.note}); kept, but has no effect`);
      return value;
    case "dropped":
      if (spec.warning) walk.warn(path, spec.warning);
      return DROP;
  }
}

/** Checks each field of an object; unknown fields are kept and warned about, with a suggestion. */
export function checkObject(spec: ObjectSpec, value: Record<string, unknown>, path: Path, walk: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = Object.keys(spec.fields);
  for (const [key, item] of Object.entries(value)) {
    const field = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
    if (!field) {
      const near = suggest(key, known, spec.hints);
      walk.warn([...path, key], `unknown field, ignored${near ? `; did you mean ${quote(near)}?` : ""}`);
      setOwn(out, key, item);
      continue;
    }
    // An explicit null (YAML `key:` with nothing after it) means "not set", as in Kubernetes.
    if (item === null || item === undefined) continue;
    const checked = check(field, item, [...path, key], walk);
    if (checked !== DROP) setOwn(out, key, checked);
  }
  for (const [key, field] of Object.entries(spec.fields)) {
    if (field.required && (!Object.hasOwn(value, key) || value[key] === null || value[key] === undefined)) {
      walk.error([...path, key], `required field is missing${field.type === "string" ? " (expected a string)" : ""}`);
    }
  }
  return out;
}

/** A short remedy for the usual YAML slips. */
function hint(expected: string, value: unknown): string {
  if (expected === "a string" && (typeof value === "number" || typeof value === "boolean")) return ` (quote it: "${String(value)}")`;
  if (expected === "true or false" && typeof value === "string" && /^(yes|no|on|off|true|false)$/i.test(value)) {
    return " (write true or false without quotes)";
  }
  return "";
}
