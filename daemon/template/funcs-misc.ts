/**
 * Sprig's defaults and flow helpers (default, empty, coalesce, all, any, ternary, required,
 * fail) and type inspection (kindOf, kindIs, typeOf, typeIs, deepCopy).
 */
import { FuncError } from "./errors.ts";
import type { FuncSpec } from "./func-spec.ts";
import { fn, fnCtx, fnRest, kindName } from "./func-spec.ts";
import type { GoMap } from "./values.ts";
import { importData, kindOf, mapSize, numberOf, typeName } from "./values.ts";

/** Sprig's empty: nil, false, 0, and empty strings, lists and dicts. */
export function isEmpty(v: unknown): boolean {
  switch (kindOf(v)) {
    case "nil":
      return true;
    case "bool":
      return !v;
    case "int":
    case "float":
      return numberOf(v as number) === 0;
    case "string":
      return (v as string).length === 0;
    case "slice":
      return (v as unknown[]).length === 0;
    case "map":
      return mapSize(v as GoMap) === 0;
    default:
      return false;
  }
}

/** Sprig's defaults and type helpers. */
export const MISC_FUNCS: Record<string, FuncSpec> = {
  default: fnRest(["any"], "any", (d, ...given) => (given.length === 0 || isEmpty(given[0]) ? d : given[0])),
  empty: fn(["any"], isEmpty),
  coalesce: fnRest([], "any", (...vs) => vs.find((v) => !isEmpty(v)) ?? null),
  all: fnRest([], "any", (...vs) => vs.every((v) => !isEmpty(v))),
  any: fnRest([], "any", (...vs) => vs.some((v) => !isEmpty(v))),
  ternary: fn(["any", "any", "bool"], (a, b, cond) => (cond ? a : b)),
  required: fn(["string", "any"], (warn, v) => {
    if (v === null || v === undefined || v === "") throw new FuncError(warn);
    return v;
  }),
  fail: fn(["string"], (msg) => {
    throw new FuncError(msg);
  }),
  kindOf: fn(["any"], kindName),
  kindIs: fn(["string", "any"], (k, v) => kindName(v) === k),
  typeOf: fn(["any"], typeName),
  typeIs: fn(["string", "any"], (t, v) => typeName(v) === t),
  deepCopy: fnCtx(["any"], (ctx, v) => importData(v, ctx.charge)),
};
