/**
 * The template's view of data: JSON/YAML-shaped JavaScript values seen through Go's kinds.
 * Integral numbers are ints and other numbers float64, so `86400` prints as Go prints an int;
 * a float64 that happens to be integral (the literal `1.0`, `float64 3`) is boxed in Float64
 * so it keeps printing and comparing like Go's float64.
 */

/** A float64 whose value is integral; kept apart from ints as Go does. */
export class Float64 {
  constructor(readonly value: number) {}
}

/** Go's kinds, as far as templates can tell them apart. */
export type Kind = "nil" | "bool" | "int" | "float" | "string" | "slice" | "map" | "other";

/** A map as the template sees it: a plain object (string keys) or a JavaScript Map. */
export type GoMap = Record<string, unknown> | Map<unknown, unknown>;

/** The Go kind of a value; objects that are not arrays count as maps of their own keys. */
export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case "undefined":
      return "nil";
    case "boolean":
      return "bool";
    case "string":
      return "string";
    case "number":
      return Number.isInteger(v) ? "int" : "float";
    case "bigint":
      return "int";
    case "object":
      if (v === null) return "nil";
      if (v instanceof Float64) return "float";
      return Array.isArray(v) ? "slice" : "map";
    default:
      return "other";
  }
}

/**
 * Counts the nodes a walk over a value visits (printing, encoding, comparing, copying). Values
 * can share structure — `$d = list $d $d` doubles a tree at the cost of one call — so every walk
 * is charged to the render's work budget rather than trusted to be small.
 */
export type Meter = (nodes: number) => void;

/** A meter that counts nothing, for walks over values known to be small. */
export const unmetered: Meter = () => {};

/** True for nil (null or undefined). */
export const isNil = (v: unknown): v is null | undefined => v === null || v === undefined;

/** True for any number, int or float. */
export const isNumber = (v: unknown): v is number | bigint | Float64 =>
  typeof v === "number" || typeof v === "bigint" || v instanceof Float64;

/** The numeric value of an int or a float. */
export const numberOf = (v: number | bigint | Float64): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : v.value;

/** A float64 result: integral values are boxed so they stay floats. */
export const float = (n: number): number | Float64 => (Number.isInteger(n) ? new Float64(n) : n);

/** True for maps (plain objects, null-prototype objects, Map). */
export const isMap = (v: unknown): v is GoMap => kindOf(v) === "map";

/** Go's name for the type of a value, as error messages and `%T` print it. */
export function typeName(v: unknown): string {
  const names: Record<Kind, string> = {
    nil: "<nil>",
    bool: "bool",
    int: "int",
    float: "float64",
    string: "string",
    slice: "[]interface {}",
    map: "map[string]interface {}",
    other: "func()",
  };
  return names[kindOf(v)];
}

/** Looks a key up in a map; plain objects answer only for their own properties. */
export function mapGet(m: GoMap, key: unknown): { found: boolean; value: unknown } {
  if (m instanceof Map) return m.has(key) ? { found: true, value: m.get(key) } : { found: false, value: undefined };
  const k = String(key);
  return Object.hasOwn(m, k) ? { found: true, value: m[k] } : { found: false, value: undefined };
}

/** Sets a key, safely even for names like `__proto__`. */
export function mapSet(m: GoMap, key: string, value: unknown): void {
  if (m instanceof Map) m.set(key, value);
  else Object.defineProperty(m, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Deletes a key. */
export function mapDelete(m: GoMap, key: string): void {
  if (m instanceof Map) m.delete(key);
  else delete m[key];
}

/** A new empty map (no prototype, so no inherited keys). */
export const newMap = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>;

/** Go's ordering of map keys (fmt and range sort them): numbers numerically, strings bytewise. */
export function compareKeys(a: unknown, b: unknown): number {
  const ka = isNumber(a) ? 0 : typeof a === "string" ? 1 : 2;
  const kb = isNumber(b) ? 0 : typeof b === "string" ? 1 : 2;
  if (ka !== kb) return ka - kb;
  if (ka === 0) return numberOf(a as number) - numberOf(b as number);
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** The keys of a map in Go's sorted order. */
export function sortedKeys(m: GoMap): unknown[] {
  return (m instanceof Map ? [...m.keys()] : Object.keys(m)).sort(compareKeys);
}

/** The entries of a map in Go's sorted key order. */
export function sortedEntries(m: GoMap): [unknown, unknown][] {
  return sortedKeys(m).map((k) => [k, mapGet(m, k).value]);
}

/** The number of entries in a map. */
export const mapSize = (m: GoMap): number => (m instanceof Map ? m.size : Object.keys(m).length);

/** Go's truth: false, 0, nil and empty strings, slices and maps are false. */
export function isTrue(v: unknown): boolean {
  switch (kindOf(v)) {
    case "nil":
      return false;
    case "bool":
      return v as boolean;
    case "int":
    case "float":
      return numberOf(v as number) !== 0;
    case "string":
      return (v as string).length > 0;
    case "slice":
      return (v as unknown[]).length > 0;
    case "map":
      return mapSize(v as GoMap) > 0;
    default:
      return true;
  }
}

/** reflect.DeepEqual on template values: same kind and same contents. */
export function deepEqual(a: unknown, b: unknown, meter: Meter): boolean {
  meter(1);
  const k = kindOf(a);
  if (k !== kindOf(b)) return false;
  if (a === b) return true; // the same list or map, as Go short-cuts identical pointers
  switch (k) {
    case "nil":
      return true;
    case "int":
    case "float":
      return numberOf(a as number) === numberOf(b as number);
    case "slice": {
      const x = a as unknown[];
      const y = b as unknown[];
      return x.length === y.length && x.every((v, i) => deepEqual(v, y[i], meter));
    }
    case "map": {
      const x = a as GoMap;
      const y = b as GoMap;
      if (mapSize(x) !== mapSize(y)) return false;
      return sortedKeys(x).every((key) => {
        const other = mapGet(y, key);
        return other.found && deepEqual(mapGet(x, key).value, other.value, meter);
      });
    }
    default:
      return a === b;
  }
}

/** Nesting beyond this in caller data is refused rather than recursed into. */
const MAX_DATA_DEPTH = 1000;

/**
 * A private copy of caller data in the template's value model: functions like `set` mutate
 * maps as in Go, and that must never reach the caller's objects. Dates become RFC 3339 text,
 * as they would after a JSON round trip; functions and symbols are refused.
 */
export function importData(v: unknown, meter: Meter, depth = 0): unknown {
  if (depth > MAX_DATA_DEPTH) throw new TypeError(`data nested deeper than ${MAX_DATA_DEPTH} levels`);
  meter(1);
  switch (typeof v) {
    case "undefined":
      return null;
    case "boolean":
    case "string":
    case "number":
      return v;
    case "bigint":
      return Number(v);
    case "object": {
      if (v === null || v instanceof Float64) return v;
      if (Array.isArray(v)) return v.map((x) => importData(x, meter, depth + 1));
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Map) return new Map([...v].map(([k, x]) => [importData(k, meter, depth + 1), importData(x, meter, depth + 1)]));
      const out = newMap();
      for (const [k, x] of Object.entries(v)) mapSet(out, k, importData(x, meter, depth + 1));
      return out;
    }
    default:
      throw new TypeError(`unsupported ${typeof v} value in template data`);
  }
}

/** The value as plain JSON-like data (for YAML output): floats unboxed, Maps as objects. */
export function toPlain(v: unknown, meter: Meter): unknown {
  meter(1);
  if (v === undefined) return null;
  if (v instanceof Float64) return v.value;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map((x) => toPlain(x, meter));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of sortedEntries(v as GoMap)) {
      Object.defineProperty(out, String(k), { value: toPlain(x, meter), writable: true, enumerable: true, configurable: true });
    }
    return out;
  }
  return v;
}
