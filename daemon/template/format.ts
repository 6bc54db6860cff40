/**
 * Printing values as Go's fmt does with `%v`: `[a b]` for slices, `map[k:v]` with sorted keys,
 * floats in strconv's shortest `%g` form (`1.5`, `1e+06`), `<nil>` for nil. Also the float
 * digit machinery that printf's `%e %f %g` share.
 */
import type { GoMap, Meter } from "./values.ts";
import { kindOf, numberOf, sortedEntries } from "./values.ts";

/** Decimal digits of a float: `d` without trailing zeros, the point after `dp` of them. */
export interface Digits {
  d: string;
  dp: number;
}

/** Shortest digits that read back as `x` (x finite and not negative). */
export function shortestDigits(x: number): Digits {
  if (x === 0) return { d: "", dp: 0 };
  const [m = "", e = "0"] = x.toExponential().split("e");
  return { d: m.replace(".", "").replace(/0+$/, ""), dp: Number(e) + 1 };
}

/** `x` rounded to `n` significant digits (x finite and not negative). */
export function roundedDigits(x: number, n: number): Digits {
  if (x === 0) return { d: "", dp: 0 };
  const [m = "", e = "0"] = x.toExponential(Math.min(Math.max(n, 1), 101) - 1).split("e");
  return { d: m.replace(".", "").replace(/0+$/, ""), dp: Number(e) + 1 };
}

/** strconv's %e layout: d.ddde±XX with `prec` digits after the point. */
export function layoutE(g: Digits, prec: number, upper = false): string {
  let s = g.d[0] ?? "0";
  if (prec > 0) s += "." + g.d.slice(1, prec + 1).padEnd(prec, "0");
  const exp = g.d === "" ? 0 : g.dp - 1;
  return s + (upper ? "E" : "e") + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
}

/** strconv's %f layout with `prec` digits after the point. */
export function layoutF(g: Digits, prec: number): string {
  let s = g.dp > 0 ? g.d.slice(0, g.dp).padEnd(g.dp, "0") : "0";
  if (prec > 0) {
    let frac = "";
    for (let i = 0; i < prec; i++) {
      const j = g.dp + i;
      frac += j >= 0 && j < g.d.length ? g.d[j] : "0";
    }
    s += "." + frac;
  }
  return s;
}

/** strconv's %g: shortest when `prec` is undefined, else `prec` significant digits. */
export function layoutG(x: number, prec: number | undefined, upper = false): string {
  const shortest = prec === undefined;
  const p = shortest ? 0 : Math.max(prec, 1);
  const g = shortest ? shortestDigits(x) : roundedDigits(x, p);
  let digits = shortest ? g.d.length : p;
  let eprec = digits;
  if (eprec > g.d.length && g.d.length >= g.dp) eprec = g.d.length;
  if (shortest) eprec = 6;
  const exp = g.dp - 1;
  if (g.d !== "" && (exp < -4 || exp >= eprec)) {
    if (digits > g.d.length) digits = g.d.length;
    return layoutE(g, digits - 1, upper);
  }
  if (digits > g.dp) digits = g.d.length;
  return layoutF(g, Math.max(digits - g.dp, 0));
}

/** A float as `%v` prints it: `1.5`, `100000`, `1e+06`, `+Inf`, `NaN`. */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  const neg = x < 0 || Object.is(x, -0);
  return (neg ? "-" : "") + layoutG(Math.abs(x), undefined);
}

/** An int in decimal, exact even beyond 2^53. */
export const formatInt = (n: number | bigint): string => (typeof n === "bigint" ? n.toString() : BigInt(n).toString());

/** fmt's `%v`. */
export function formatValue(v: unknown, meter: Meter): string {
  meter(1);
  switch (kindOf(v)) {
    case "nil":
      return "<nil>";
    case "bool":
      return v ? "true" : "false";
    case "int":
      return formatInt(v as number);
    case "float":
      return formatFloat(numberOf(v as number));
    case "string":
      return v as string;
    case "slice":
      return "[" + (v as unknown[]).map((x) => formatValue(x, meter)).join(" ") + "]";
    case "map":
      return "map[" + sortedEntries(v as GoMap).map(([k, x]) => formatValue(k, meter) + ":" + formatValue(x, meter)).join(" ") + "]";
    default:
      return "<func>";
  }
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: readonly unknown[], meter: Meter): string {
  let out = "";
  args.forEach((a, i) => {
    const isString = typeof a === "string";
    if (i > 0 && !isString && typeof args[i - 1] !== "string") out += " ";
    out += formatValue(a, meter);
  });
  return out;
}

/** fmt.Sprintln: spaces between all operands and a newline. */
export const sprintln = (args: readonly unknown[], meter: Meter): string => args.map((a) => formatValue(a, meter)).join(" ") + "\n";

/** How a value prints in a template action: like `%v`, except that nil prints nothing. */
export const printValue = (v: unknown, meter: Meter): string => (v === null || v === undefined ? "" : formatValue(v, meter));
