/**
 * Sprig's list and dict functions. Lists are never modified in place (Sprig copies); dicts are,
 * by `set`/`unset`/`merge`, as in Sprig — on the render's private copy of the data. Where Go
 * would return map keys in random order (keys, values), they come sorted.
 */
import { FuncError } from "./errors.ts";
import type { CallContext, FuncSpec } from "./func-spec.ts";
import { asList, fn, fnCtx, fnRest, fnRestCtx, kindName, strslice, strval } from "./func-spec.ts";
import { isEmpty } from "./funcs-misc.ts";
import type { GoMap, Meter } from "./values.ts";
import { deepEqual, importData, isMap, isNil, kindOf, mapDelete, mapGet, mapSet, newMap, sortedEntries, sortedKeys } from "./values.ts";

const inList = (list: unknown[], v: unknown, meter: Meter): boolean => list.some((x) => deepEqual(x, v, meter));

/** A canonical key for set membership of simple values; undefined for values needing deepEqual. */
function simpleKey(v: unknown): string | undefined {
  const k = kindOf(v);
  if (k === "nil" || k === "bool" || k === "string") return `${k}:${String(v)}`;
  if (k === "int" || k === "float") return `${k}:${String(v instanceof Object ? (v as { value: number }).value : v)}`;
  return undefined;
}

/** Sprig's uniq (first occurrences, in order); hashing keeps long lists of scalars linear. */
function uniq(ctx: CallContext, list: unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const v of list) {
    const key = simpleKey(v);
    if (key !== undefined) {
      if (!seen.has(key)) seen.add(key), out.push(v);
    } else {
      if (!inList(out, v, ctx.charge)) out.push(v);
    }
  }
  return out;
}

/** A dict argument, or Go's failed type assertion. */
function requireMap(v: unknown): GoMap {
  if (isMap(v)) return v;
  throw new FuncError(`interface conversion: interface {} is ${kindName(v)}, not map[string]interface {}`);
}

/** Sprig's dig: keys…, default, dict. */
function dig(...args: unknown[]): unknown {
  if (args.length < 3) throw new FuncError("dig needs at least three arguments");
  const keys = args.slice(0, -2);
  const def = args[args.length - 2];
  let cur: GoMap = requireMap(args[args.length - 1]);
  for (const [i, key] of keys.entries()) {
    if (typeof key !== "string") throw new FuncError(`interface conversion: interface {} is ${kindName(key)}, not string`);
    const step = mapGet(cur, key);
    if (!step.found) return def;
    if (i === keys.length - 1) return step.value;
    cur = requireMap(step.value);
  }
  return def;
}

/** mergo.Merge as Sprig uses it: fills keys missing from dst, recursing into nested dicts. */
function mergeInto(dst: GoMap, src: GoMap, overwrite: boolean, meter: Meter): void {
  for (const [k, v] of sortedEntries(src)) {
    const key = String(k);
    const cur = mapGet(dst, key);
    if (cur.found && isMap(cur.value) && isMap(v)) mergeInto(cur.value, v, overwrite, meter);
    else if (!cur.found || (overwrite && !isEmpty(v)) || isEmpty(cur.value)) mapSet(dst, key, importData(v, meter));
  }
}

function merge(overwrite: boolean): FuncSpec {
  return fnRestCtx(["map"], "map", (ctx, dst, ...srcs) => {
    if (!dst) throw new FuncError("assignment to entry in nil map");
    for (const src of srcs) if (src) mergeInto(dst, src, overwrite, ctx.charge);
    return dst;
  });
}

/** A list function with Sprig's "Cannot <what> on type <kind>" for non-lists. */
const onList = (what: string, f: (l: unknown[], ...rest: unknown[]) => unknown): FuncSpec =>
  fnRest(["any"], "any", (l, ...rest) => f(asList(l, what), ...rest));

/** Sprig's untilStep, counted against the work budget before it is built. */
function untilStep(ctx: CallContext, start: number, stop: number, step: number): number[] {
  if (step === 0 || (stop < start && step > 0) || (stop > start && step < 0)) return [];
  const count = Math.ceil((stop - start) / step);
  ctx.charge(count);
  return Array.from({ length: count }, (_, i) => start + i * step);
}

/** Sprig's seq: like Unix seq, as a space-separated string. */
function seq(ctx: CallContext, ...params: number[]): string {
  const [a = 0, b = 0, c = 0] = params;
  let start: number;
  let end: number;
  let step: number;
  if (params.length === 1) (start = 1), (end = a), (step = end < start ? -1 : 1);
  else if (params.length === 2) (start = a), (end = b), (step = end < start ? -1 : 1);
  else if (params.length === 3) {
    (start = a), (step = b), (end = c);
    if (end < start && step > 0) return "";
  } else return "";
  return untilStep(ctx, start, end + (end < start ? -1 : 1), step).join(" ");
}

/** Sprig's list and dict functions. */
export const LIST_FUNCS: Record<string, FuncSpec> = {
  list: fnRest([], "any", (...a) => a),
  dict: fnRestCtx([], "any", (ctx, ...a) => {
    const d = newMap();
    for (let i = 0; i < a.length; i += 2) mapSet(d, strval(a[i], ctx.charge), i + 1 < a.length ? a[i + 1] : "");
    return d;
  }),
  get: fn(["map", "string"], (d, k) => {
    const v = d ? mapGet(d, k) : { found: false, value: undefined };
    return v.found ? v.value : "";
  }),
  set: fn(["map", "string", "any"], (d, k, v) => {
    if (!d) throw new FuncError("assignment to entry in nil map");
    mapSet(d, k, v);
    return d;
  }),
  unset: fn(["map", "string"], (d, k) => {
    if (d) mapDelete(d, k);
    return d;
  }),
  hasKey: fn(["map", "string"], (d, k) => !!d && mapGet(d, k).found),
  keys: fnRest([], "map", (...ds) => ds.flatMap((d) => (d ? sortedKeys(d).map(String) : [])).sort()),
  values: fn(["map"], (d) => (d ? sortedEntries(d).map(([, v]) => v) : [])),
  pluck: fnRest(["string"], "map", (k, ...ds) => ds.flatMap((d) => (d && mapGet(d, k).found ? [mapGet(d, k).value] : []))),
  pick: fnRest(["map"], "string", (d, ...ks) => {
    const out = newMap();
    for (const k of ks) if (d && mapGet(d, k).found) mapSet(out, k, mapGet(d, k).value);
    return out;
  }),
  omit: fnRest(["map"], "string", (d, ...ks) => {
    const out = newMap();
    for (const [k, v] of d ? sortedEntries(d) : []) if (!ks.includes(String(k))) mapSet(out, String(k), v);
    return out;
  }),
  dig: fnRest([], "any", dig),
  merge: merge(false),
  mergeOverwrite: merge(true),
  first: onList("find first", (l) => l[0] ?? null),
  last: onList("find last", (l) => l[l.length - 1] ?? null),
  rest: onList("find rest", (l) => (l.length === 0 ? null : l.slice(1))),
  initial: onList("find initial", (l) => (l.length === 0 ? null : l.slice(0, -1))),
  append: onList("push", (l, v) => [...l, v]),
  push: onList("push", (l, v) => [...l, v]),
  prepend: onList("prepend", (l, v) => [v, ...l]),
  concat: fnRest([], "any", (...ls) =>
    ls.flatMap((l) => {
      if (!Array.isArray(l)) throw new FuncError(`Cannot concat type ${kindName(l)} as list`);
      return l;
    }),
  ),
  uniq: fnCtx(["any"], (ctx, l) => uniq(ctx, asList(l, "find uniq"))),
  has: fnCtx(["any", "any"], (ctx, needle, hay) => {
    if (isNil(hay)) return false;
    return inList(asList(hay, "find has"), needle, ctx.charge);
  }),
  without: fnRestCtx(["any"], "any", (ctx, l, ...omit) => asList(l, "find without").filter((v) => !inList(omit, v, ctx.charge))),
  compact: onList("compact", (l) => l.filter((v) => !isEmpty(v))),
  reverse: onList("find reverse", (l) => [...l].reverse()),
  sortAlpha: fnCtx(["any"], (ctx, l) => (Array.isArray(l) ? strslice(l, ctx.charge).sort() : [strval(l, ctx.charge)])),
  until: fnCtx(["int"], (ctx, n) => untilStep(ctx, 0, n, n < 0 ? -1 : 1)),
  untilStep: fnCtx(["int", "int", "int"], untilStep),
  seq: { params: [], rest: "int", call: (args, ctx) => seq(ctx, ...(args as number[])) },
};
