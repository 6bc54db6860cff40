/**
 * How template functions are declared: parameter types the evaluator checks (as Go checks a
 * FuncMap function's signature), the implementation, and the limits a call runs under. Also
 * the value conversions Sprig uses everywhere (strval, strslice, cast.ToInt64, cast.ToFloat64).
 */
import { FuncError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { parseGoFloat } from "./literal.ts";
import type { GoMap, Meter } from "./values.ts";
import { Float64, isNumber, kindOf, numberOf } from "./values.ts";

/** Parameter types: values of other types are refused before the call, as Go refuses them. */
export type Param = "any" | "string" | "int" | "float" | "bool" | "map";

type ParamType<P extends Param> = P extends "string"
  ? string
  : P extends "int" | "float"
    ? number
    : P extends "bool"
      ? boolean
      : P extends "map"
        ? GoMap | null
        : unknown;

type Args<P extends readonly Param[]> = { [K in keyof P]: P[K] extends Param ? ParamType<P[K]> : never };

/** What a call may use: the output cap (for results that could grow) and the work budget. */
export interface CallContext {
  readonly maxBytes: number;
  /** Counts `units` of work against the render's budget; throws when it is spent. */
  charge(units: number): void;
}

/** A template function: its signature and implementation. */
export interface FuncSpec {
  readonly params: readonly Param[];
  /** Type of each further argument, for variadic functions. */
  readonly rest?: Param;
  readonly call: (args: unknown[], ctx: CallContext) => unknown;
  /** `and` and `or` evaluate their arguments lazily, so the evaluator runs them itself. */
  readonly special?: "and" | "or";
}

/** A function with fixed parameters. */
export function fn<const P extends readonly Param[]>(params: P, impl: (...a: Args<P>) => unknown): FuncSpec {
  return { params, call: (args) => impl(...(args as Args<P>)) };
}

/** A function with fixed parameters followed by any number of `rest` arguments. */
export function fnRest<const P extends readonly Param[], const R extends Param>(
  params: P,
  rest: R,
  impl: (...a: [...Args<P>, ...ParamType<R>[]]) => unknown,
): FuncSpec {
  return { params, rest, call: (args) => impl(...(args as [...Args<P>, ...ParamType<R>[]])) };
}

/** A variadic function that needs the call context. */
export function fnRestCtx<const P extends readonly Param[], const R extends Param>(
  params: P,
  rest: R,
  impl: (ctx: CallContext, ...a: [...Args<P>, ...ParamType<R>[]]) => unknown,
): FuncSpec {
  return { params, rest, call: (args, ctx) => impl(ctx, ...(args as [...Args<P>, ...ParamType<R>[]])) };
}

/** A function with fixed parameters that needs the call context. */
export function fnCtx<const P extends readonly Param[]>(params: P, impl: (ctx: CallContext, ...a: Args<P>) => unknown): FuncSpec {
  return { params, call: (args, ctx) => impl(ctx, ...(args as Args<P>)) };
}

/** Refuses a result that would exceed the output cap before it is built. */
export function checkSize(ctx: CallContext, bytes: number): void {
  if (bytes > ctx.maxBytes) throw new FuncError(`result exceeds ${ctx.maxBytes} bytes`);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Go's len of a string: its UTF-8 bytes. */
export const byteLength = (s: string): number => utf8.encode(s).length;

/** s[start:end] on UTF-8 bytes, as Go slices strings (a cut inside a rune becomes U+FFFD). */
export function byteSlice(s: string, start: number, end?: number): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s.slice(start, end);
  return fromUtf8.decode(utf8.encode(s).subarray(start, end));
}

/** The UTF-8 bytes of a string. */
export const bytesOf = (s: string): Uint8Array => utf8.encode(s);

/** Sprig's strval: strings as they are, everything else as `%v` prints it. */
export const strval = (v: unknown, meter: Meter): string => (typeof v === "string" ? v : formatValue(v, meter));

/** Sprig's strslice: a list as strings (nil elements dropped), or a lone value as one string. */
export function strslice(v: unknown, meter: Meter): string[] {
  if (Array.isArray(v)) return v.filter((x) => x !== null && x !== undefined).map((x) => strval(x, meter));
  return v === null || v === undefined ? [] : [strval(v, meter)];
}

/** cast.ToInt64 as Sprig uses it: floats truncate, strings parse (Go syntax), failures are 0. */
export function toInt64(v: unknown): number {
  if (isNumber(v)) return Math.trunc(numberOf(v));
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v !== "string") return 0;
  const s = v.replace(/\.0+$/, ""); // cast trims a zero decimal part: "3.0" is 3
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return 0;
  const body = (m[2] ?? "0").replaceAll("_", "");
  const n = /^0[0-7]/.test(body) ? parseInt(body.slice(1), 8) : Number(body.replace(/^0[oO]/, "0o"));
  return Number.isFinite(n) ? (m[1] === "-" ? -n : n) : 0;
}

/** cast.ToFloat64 as Sprig uses it: strings parse, failures are 0. */
export function toFloat64(v: unknown): number {
  if (isNumber(v)) return numberOf(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v !== "string") return 0;
  return parseGoFloat(v) ?? 0;
}

/** A Go int result. */
export const int = (n: number): number => (Number.isFinite(n) ? Math.trunc(n) || 0 : 0);

/** A Go float64 result (integral values stay floats). */
export const float64 = (n: number): number | Float64 => (Number.isInteger(n) ? new Float64(n) : n);

/** Requires a list (slice) argument, as Sprig's list functions do. */
export function asList(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  throw new FuncError(`Cannot ${what} on type ${kindName(v)}`);
}

/** reflect.Kind names, as Sprig's messages and kindOf print them. */
export function kindName(v: unknown): string {
  const k = kindOf(v);
  return { nil: "invalid", bool: "bool", int: "int", float: "float64", string: "string", slice: "slice", map: "map", other: "func" }[k];
}
