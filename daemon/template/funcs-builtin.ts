/**
 * Go text/template's predefined functions: and, or, not, len, index, slice, print, printf,
 * println, eq, ne, lt, le, gt, ge, html, js, urlquery, call — with Go's rules and messages.
 */
import { FuncError } from "./errors.ts";
import type { FuncSpec } from "./func-spec.ts";
import { byteLength, byteSlice, bytesOf, fn, fnCtx, fnRest, fnRestCtx } from "./func-spec.ts";
import { formatValue, sprint, sprintln } from "./format.ts";
import { sprintf } from "./printf.ts";
import { isPrint } from "./quote.ts";
import type { GoMap, Kind, Meter } from "./values.ts";
import { isNil, isTrue, kindOf, mapGet, mapSize, numberOf, typeName, unmetered } from "./values.ts";

/** Go's len: strings count UTF-8 bytes. */
function length(v: unknown): number {
  switch (kindOf(v)) {
    case "nil":
      throw new FuncError("len of nil pointer");
    case "string":
      return byteLength(v as string);
    case "slice":
      return (v as unknown[]).length;
    case "map":
      return mapSize(v as GoMap);
    default:
      throw new FuncError(`len of type ${typeName(v)}`);
  }
}

/** An int index within [0, size] (a slice bound may equal the size). */
function indexArg(ix: unknown, size: number): number {
  if (isNil(ix)) throw new FuncError("cannot index slice/array with nil");
  if (kindOf(ix) !== "int") throw new FuncError(`cannot index slice/array with type ${typeName(ix)}`);
  const x = Number(ix);
  if (x < 0 || x > size) throw new FuncError(`index out of range: ${x}`);
  return x;
}

/** Go's index: slices and strings by int (a string yields a byte), maps by key (missing: nil). */
function index(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError("index of untyped nil");
  let cur: unknown = item;
  for (const ix of indexes) {
    switch (kindOf(cur)) {
      case "nil":
        throw new FuncError("index of nil pointer");
      case "slice":
      case "string": {
        const bytes = typeof cur === "string" ? bytesOf(cur) : undefined;
        const size = bytes ? bytes.length : (cur as unknown[]).length;
        const x = indexArg(ix, size);
        if (x === size) throw new FuncError(`index out of range: ${x}`);
        cur = bytes ? bytes[x] : (cur as unknown[])[x];
        break;
      }
      case "map":
        if (!(cur instanceof Map) && typeof ix !== "string") throw new FuncError(`value has type ${typeName(ix)}; should be string`);
        cur = mapGet(cur as GoMap, ix).value ?? null;
        break;
      default:
        throw new FuncError(`can't index item of type ${typeName(cur)}`);
    }
  }
  return cur;
}

/** Go's slice: item[i:j] or item[i:j:k]; strings are cut on bytes. */
function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError("slice of untyped nil");
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  if (k !== "string" && k !== "slice") throw new FuncError(`can't slice item of type ${typeName(item)}`);
  if (k === "string" && indexes.length === 3) throw new FuncError("cannot 3-index slice a string");
  const size = k === "string" ? byteLength(item as string) : (item as unknown[]).length;
  const idx = [0, size, size];
  indexes.forEach((ix, i) => (idx[i] = indexArg(ix, size)));
  const [i = 0, j = 0, c = 0] = idx;
  if (i > j) throw new FuncError(`invalid slice index: ${i} > ${j}`);
  if (indexes.length === 3 && j > c) throw new FuncError(`invalid slice index: ${j} > ${c}`);
  return k === "string" ? byteSlice(item as string, i, j) : (item as unknown[]).slice(i, j);
}

/** The comparison classes of Go's eq/lt: everything that is not basic is "other". */
function basicKind(v: unknown): Kind | "other" {
  const k = kindOf(v);
  return k === "bool" || k === "int" || k === "float" || k === "string" ? k : "other";
}

/** Go's eq: arg1 == arg2 || arg1 == arg3 …; ints and floats are different types. */
function eq(meter: Meter, a: unknown, ...others: unknown[]): boolean {
  if (others.length === 0) throw new FuncError("missing argument for comparison");
  const ka = basicKind(a);
  for (const b of others) {
    const kb = basicKind(b);
    let truth: boolean;
    if (ka !== kb) {
      if (!isNil(a) && !isNil(b)) throw new FuncError("incompatible types for comparison");
      truth = false;
    } else if (ka === "int" || ka === "float") {
      truth = numberOf(a as number) === numberOf(b as number);
    } else if (ka !== "other") {
      truth = a === b;
    } else if (isNil(a) || isNil(b)) {
      truth = isNil(a) && isNil(b);
    } else {
      throw new FuncError(`non-comparable type ${formatValue(b, meter)}: ${typeName(b)}`);
    }
    if (truth) return true;
  }
  return false;
}

/** Go's lt: numbers and strings only, of the same kind. */
function lt(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === "other" || kb === "other") throw new FuncError("invalid type for comparison");
  if (ka !== kb) throw new FuncError("incompatible types for comparison");
  if (ka === "bool") throw new FuncError("invalid type for comparison");
  if (ka === "string") return (a as string) < (b as string);
  return numberOf(a as number) < numberOf(b as number);
}

/** lt has refused everything but scalars by the time eq runs, so eq needs no meter here. */
const le = (a: unknown, b: unknown): boolean => lt(a, b) || eq(unmetered, a, b);

/** The text html/js/urlquery work on: one string as is, else the arguments printed (nil as ""). */
const argText = (args: unknown[], meter: Meter): string =>
  args.length === 1 && typeof args[0] === "string" ? args[0] : sprint(args.map((a) => (isNil(a) ? "" : a)), meter);

const HTML_ESCAPES: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd" };

/** Go's HTMLEscapeString. */
export const htmlEscape = (s: string): string => s.replace(/[<>&'"\0]/g, (c) => HTML_ESCAPES[c] ?? c);

const JS_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  '"': '\\"',
  "<": "\\u003C",
  ">": "\\u003E",
  "&": "\\u0026",
  "=": "\\u003D",
};

/** Go's JSEscapeString. */
export function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (JS_ESCAPES[ch]) out += JS_ESCAPES[ch];
    else if (c < 0x20) out += "\\u00" + c.toString(16).toUpperCase().padStart(2, "0");
    else if (c >= 0x80 && !isPrint(ch)) out += "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    else out += ch;
  }
  return out;
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of bytesOf(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

const lazy = (special: "and" | "or"): FuncSpec => ({ params: ["any"], rest: "any", special, call: () => undefined });

/** The predefined functions. */
export const BUILTIN_FUNCS: Record<string, FuncSpec> = {
  and: lazy("and"),
  or: lazy("or"),
  not: fn(["any"], (v) => !isTrue(v)),
  len: fn(["any"], length),
  index: fnRest(["any"], "any", index),
  slice: fnRest(["any"], "any", slice),
  print: fnRestCtx([], "any", (ctx, ...a) => sprint(a, ctx.charge)),
  printf: fnRestCtx(["string"], "any", (ctx, f, ...a) => sprintf(f, a, ctx.charge)),
  println: fnRestCtx([], "any", (ctx, ...a) => sprintln(a, ctx.charge)),
  eq: fnRestCtx(["any"], "any", (ctx, a, ...others) => eq(ctx.charge, a, ...others)),
  ne: fnCtx(["any", "any"], (ctx, a, b) => !eq(ctx.charge, a, b)),
  lt: fn(["any", "any"], lt),
  le: fn(["any", "any"], le),
  gt: fn(["any", "any"], (a, b) => !le(a, b)),
  ge: fn(["any", "any"], (a, b) => !lt(a, b)),
  html: fnRestCtx([], "any", (ctx, ...a) => htmlEscape(argText(a, ctx.charge))),
  js: fnRestCtx([], "any", (ctx, ...a) => jsEscape(argText(a, ctx.charge))),
  urlquery: fnRestCtx([], "any", (ctx, ...a) => queryEscape(argText(a, ctx.charge))),
  call: fnRest(["any"], "any", () => {
    throw new FuncError("call is not supported: template data holds no functions");
  }),
};
