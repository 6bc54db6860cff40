/**
 * Sprig's number functions: int64 arithmetic that converts its arguments like cast.ToInt64
 * (add, sub, mul, div, mod, max, min, add1), decimal float arithmetic (addf, subf, mulf exact
 * in decimal as Sprig's shopspring/decimal is, so `addf 0.1 0.2` is 0.3), and conversions.
 */
import { FuncError } from "./errors.ts";
import type { FuncSpec } from "./func-spec.ts";
import { fn, fnRest, float64, int, toFloat64, toInt64 } from "./func-spec.ts";

/** A decimal m × 10^e, exact. */
interface Decimal {
  m: bigint;
  e: number;
}

/** decimal.NewFromFloat: the shortest decimal that reads back as the float. */
function toDecimal(x: number): Decimal {
  if (!Number.isFinite(x)) throw new FuncError(`cannot create a Decimal from ${x}`);
  if (x === 0) return { m: 0n, e: 0 };
  const [mant = "0", exp = "0"] = x.toExponential().split("e");
  const digits = mant.replace(".", "").replace("-", "");
  const m = BigInt(digits) * (x < 0 ? -1n : 1n);
  return { m, e: Number(exp) - (digits.length - 1) };
}

const align = (a: Decimal, b: Decimal): [bigint, bigint, number] => {
  const e = Math.min(a.e, b.e);
  return [a.m * 10n ** BigInt(a.e - e), b.m * 10n ** BigInt(b.e - e), e];
};

const fromDecimal = (d: Decimal): number => Number(`${d.m}e${d.e}`);

/** Sprig's execDecimalOp: folds the arguments with an exact decimal operation. */
function decimalFold(op: (a: Decimal, b: Decimal) => Decimal) {
  return (first: unknown, ...rest: unknown[]): unknown =>
    float64(fromDecimal(rest.reduce<Decimal>((acc, x) => op(acc, toDecimal(toFloat64(x))), toDecimal(toFloat64(first)))));
}

const add = (a: Decimal, b: Decimal): Decimal => {
  const [x, y, e] = align(a, b);
  return { m: x + y, e };
};
const sub = (a: Decimal, b: Decimal): Decimal => add(a, { m: -b.m, e: b.e });
const mul = (a: Decimal, b: Decimal): Decimal => ({ m: a.m * b.m, e: a.e + b.e });

/** Integer division as Go does it: truncating, and an error for zero. */
function intDiv(a: unknown, b: unknown, mod: boolean): number {
  const x = toInt64(a);
  const y = toInt64(b);
  if (y === 0) throw new FuncError("runtime error: integer divide by zero");
  return mod ? int(x % y) : int(x / y);
}

/** Sprig's round: to `places` decimals, rounding up from `roundOn` (default .5). */
function round(a: unknown, places: number, ...roundOn: number[]): unknown {
  const on = roundOn[0] ?? 0.5;
  const pow = 10 ** places;
  const digit = pow * toFloat64(a);
  const frac = digit - Math.trunc(digit);
  return float64((frac >= on ? Math.ceil(digit) : Math.floor(digit)) / pow);
}

/** Sprig's number functions. */
export const NUMBER_FUNCS: Record<string, FuncSpec> = {
  int: fn(["any"], toInt64),
  int64: fn(["any"], toInt64),
  float64: fn(["any"], (v) => float64(toFloat64(v))),
  atoi: fn(["string"], (s) => (/^[+-]?\d+$/.test(s) ? int(Number(s)) : 0)),
  add: fnRest([], "any", (...a) => a.reduce<number>((sum, x) => sum + toInt64(x), 0)),
  add1: fn(["any"], (a) => toInt64(a) + 1),
  sub: fn(["any", "any"], (a, b) => toInt64(a) - toInt64(b)),
  mul: fnRest(["any"], "any", (a, ...r) => r.reduce<number>((p, x) => p * toInt64(x), toInt64(a))),
  div: fn(["any", "any"], (a, b) => intDiv(a, b, false)),
  mod: fn(["any", "any"], (a, b) => intDiv(a, b, true)),
  max: fnRest(["any"], "any", (a, ...r) => r.reduce<number>((m, x) => Math.max(m, toInt64(x)), toInt64(a))),
  min: fnRest(["any"], "any", (a, ...r) => r.reduce<number>((m, x) => Math.min(m, toInt64(x)), toInt64(a))),
  addf: fnRest([], "any", (...a) => decimalFold(add)(0, ...a)),
  add1f: fn(["any"], (a) => decimalFold(add)(a, 1)),
  subf: fnRest(["any"], "any", decimalFold(sub)),
  mulf: fnRest(["any"], "any", decimalFold(mul)),
  divf: fnRest(["any"], "any", (a, ...r) =>
    float64(
      r.reduce<number>((q, x) => {
        const d = toFloat64(x);
        if (d === 0) throw new FuncError("decimal division by 0");
        return q / d;
      }, toFloat64(a)),
    ),
  ),
  maxf: fnRest(["any"], "any", (a, ...r) => float64(r.reduce<number>((m, x) => Math.max(m, toFloat64(x)), toFloat64(a)))),
  minf: fnRest(["any"], "any", (a, ...r) => float64(r.reduce<number>((m, x) => Math.min(m, toFloat64(x)), toFloat64(a)))),
  floor: fn(["any"], (a) => float64(Math.floor(toFloat64(a)))),
  ceil: fn(["any"], (a) => float64(Math.ceil(toFloat64(a)))),
  round: fnRest(["any", "int"], "float", round),
};
