/**
 * fmt.Sprintf for template values: verbs %v %s %d %q %x %X %o %b %c %U %e %f %g %t %T %%,
 * flags `+ - # 0` and space, width and precision (also `*`), and Go's in-band error notes
 * (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA …)`). Numbers are lenient where Go is strict:
 * the float verbs accept ints and %d accepts integral floats, because data that Go would see as
 * float64 arrives here as plain numbers.
 */
import type { Digits } from "./format.ts";
import { formatValue, layoutE, layoutF, layoutG } from "./format.ts";
import { goQuote, goQuoteRune, isValidRune } from "./quote.ts";
import type { GoMap, Meter } from "./values.ts";
import { kindOf, numberOf, sortedEntries, typeName, unmetered } from "./values.ts";

/** Widths and precisions beyond this are refused, as Go refuses them (%!(BADWIDTH)). */
const MAX_WIDTH = 1_000_000;

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const utf8 = new TextEncoder();

const runeCount = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** Pads to the width with spaces (zeros only where the caller allows them). */
function pad(s: string, spec: Spec, zeros = false): string {
  const n = spec.width === undefined ? 0 : spec.width - runeCount(s);
  if (n <= 0) return s;
  if (spec.minus) return s + " ".repeat(n);
  return (zeros && spec.zero ? "0" : " ").repeat(n) + s;
}

/** A signed number: sign and zero padding placed as fmt places them. */
function padNumber(sign: string, body: string, spec: Spec, zeroOk: boolean): string {
  if (spec.zero && zeroOk && !spec.minus && spec.width !== undefined) {
    return sign + body.padStart(spec.width - sign.length, "0");
  }
  return pad(sign + body, spec);
}

const signOf = (neg: boolean, spec: Spec): string => (neg ? "-" : spec.plus ? "+" : spec.space ? " " : "");

/** Go's note for a verb that does not fit the value; only scalars reach it, so it needs no meter. */
function badVerb(verb: string, v: unknown): string {
  return v === null || v === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${typeName(v)}=${formatValue(v, unmetered)})`;
}

function formatInteger(n: number, verb: string, spec: Spec): string {
  const big = BigInt(n);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  switch (verb) {
    case "c":
      return pad(isValidRune(n) ? String.fromCodePoint(n) : "\ufffd", spec);
    case "q":
      return pad(goQuoteRune(n), spec);
    case "U": {
      const u = "U+" + abs.toString(16).toUpperCase().padStart(4, "0");
      return pad(spec.sharp && isValidRune(n) ? `${u} '${String.fromCodePoint(n)}'` : u, spec);
    }
  }
  const base = { d: 10, v: 10, b: 2, o: 8, O: 8, x: 16, X: 16 }[verb];
  if (base === undefined) return badVerb(verb, n);
  let digits = abs.toString(base);
  if (verb === "X") digits = digits.toUpperCase();
  if (spec.prec !== undefined) digits = spec.prec === 0 && abs === 0n ? "" : digits.padStart(spec.prec, "0");
  let prefix = "";
  if (verb === "O") prefix = "0o";
  else if (spec.sharp) prefix = { b: "0b", o: digits.startsWith("0") ? "" : "0", x: "0x", X: "0X" }[verb] ?? "";
  return padNumber(signOf(neg, spec) + prefix, digits, spec, spec.prec === undefined);
}

function formatFloatVerb(x: number, verb: string, spec: Spec): string {
  if (verb === "d" && Number.isInteger(x)) return formatInteger(x, verb, spec);
  if (!"veEfFgG".includes(verb)) return badVerb(verb, x);
  const neg = x < 0 || Object.is(x, -0);
  if (!Number.isFinite(x)) {
    const body = Number.isNaN(x) ? "NaN" : "Inf";
    return pad((Number.isNaN(x) ? (spec.plus ? "+" : spec.space ? " " : "") : neg ? "-" : spec.space ? " " : "+") + body, spec);
  }
  const a = Math.abs(x);
  let body: string;
  switch (verb) {
    case "e":
    case "E":
      body = layoutE(expDigits(a, spec.prec ?? 6), spec.prec ?? 6, verb === "E");
      break;
    case "f":
    case "F":
      body = fixed(a, spec.prec ?? 6);
      break;
    default:
      body = layoutG(a, spec.prec, verb === "G");
  }
  return padNumber(signOf(neg, spec), body, spec, true);
}

/** Digits rounded to `prec` places after the first digit. */
function expDigits(a: number, prec: number): Digits {
  const [m = "", e = "0"] = a.toExponential(Math.min(prec, 100)).split("e");
  return { d: m.replace(".", "").replace(/0+$/, ""), dp: a === 0 ? 0 : Number(e) + 1 };
}

/** %f: toFixed is exact below 1e21; larger floats are integers, printed in full. */
function fixed(a: number, prec: number): string {
  if (a < 1e21) {
    const p = Math.min(prec, 100);
    return a.toFixed(p) + (prec > p ? "0".repeat(prec - p) : "");
  }
  return layoutF({ d: BigInt(a).toString().replace(/0+$/, ""), dp: BigInt(a).toString().length }, prec);
}

function formatString(s: string, verb: string, spec: Spec): string {
  const cut = spec.prec === undefined ? s : Array.from(s).slice(0, spec.prec).join("");
  switch (verb) {
    case "v":
    case "s":
      return pad(cut, spec);
    case "q":
      return pad(spec.sharp && !/[`\n\r\t\v\f\x00-\x08\x0e-\x1f\x7f]/.test(cut) ? "`" + cut + "`" : goQuote(cut, spec.plus), spec);
    case "x":
    case "X": {
      const hexes = Array.from(utf8.encode(s), (b) => b.toString(16).padStart(2, "0"));
      const joined = spec.space
        ? hexes.map((h) => (spec.sharp ? "0x" : "") + h).join(" ")
        : (spec.sharp && hexes.length ? "0x" : "") + hexes.join("");
      return pad(verb === "X" ? joined.toUpperCase() : joined, spec);
    }
  }
  return badVerb(verb, s);
}

/** One argument under one verb; slices and maps apply the verb to each element, as fmt does. */
function formatArg(v: unknown, verb: string, spec: Spec, meter: Meter): string {
  meter(1);
  if (verb === "T") return pad(typeName(v), spec);
  switch (kindOf(v)) {
    case "nil":
      return verb === "v" ? pad("<nil>", spec) : badVerb(verb, v);
    case "bool":
      return verb === "t" || verb === "v" ? pad(v ? "true" : "false", spec) : badVerb(verb, v);
    case "int":
      return "eEfFgG".includes(verb) ? formatFloatVerb(Number(v), verb, spec) : formatInteger(Number(v), verb, spec);
    case "float":
      return formatFloatVerb(numberOf(v as number), verb, spec);
    case "string":
      return formatString(v as string, verb, spec);
    case "slice":
      return "[" + (v as unknown[]).map((e) => formatArg(e, verb, spec, meter)).join(" ") + "]";
    case "map":
      return "map[" + sortedEntries(v as GoMap).map(([k, x]) => formatArg(k, verb, spec, meter) + ":" + formatArg(x, verb, spec, meter)).join(" ") + "]";
    default:
      return badVerb(verb, v);
  }
}

/** A width or precision: digits, or `*` taking an int argument. */
function readNumber(format: string, i: number, args: readonly unknown[], argi: number): { n?: number; i: number; argi: number; bad: boolean } {
  if (format[i] === "*") {
    const a = args[argi];
    const ok = kindOf(a) === "int" && Math.abs(Number(a)) <= MAX_WIDTH;
    return { n: ok ? Number(a) : undefined, i: i + 1, argi: argi + 1, bad: !ok };
  }
  let j = i;
  while (j < format.length && format[j]! >= "0" && format[j]! <= "9") j++;
  if (j === i) return { i, argi, bad: false };
  const n = Number(format.slice(i, j));
  return n > MAX_WIDTH ? { i: j, argi, bad: true } : { n, i: j, argi, bad: false };
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[], meter: Meter): string {
  let out = "";
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (let c = format[i]; c !== undefined && "+-# 0".includes(c); c = format[++i]) {
      if (c === "+") spec.plus = true;
      else if (c === "-") spec.minus = true;
      else if (c === "#") spec.sharp = true;
      else if (c === " ") spec.space = true;
      else spec.zero = true;
    }
    const w = readNumber(format, i, args, argi);
    ({ i, argi } = w);
    if (w.bad) out += "%!(BADWIDTH)";
    else if (w.n !== undefined && w.n < 0) (spec.minus = true), (spec.width = -w.n);
    else spec.width = w.n;
    if (format[i] === ".") {
      const p = readNumber(format, i + 1, args, argi);
      ({ i, argi } = p);
      if (p.bad) out += "%!(BADPREC)";
      else spec.prec = p.n === undefined || p.n >= 0 ? (p.n ?? 0) : undefined;
    }
    if (i >= format.length) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
    i += verb.length;
    if (verb === "%") out += "%";
    else if (argi >= args.length) out += `%!${verb}(MISSING)`;
    else out += formatArg(args[argi++], verb, spec, meter);
  }
  if (argi < args.length) {
    const extra = args.slice(argi).map((a) => (a === null || a === undefined ? "<nil>" : `${typeName(a)}=${formatValue(a, meter)}`));
    out += `%!(EXTRA ${extra.join(", ")})`;
  }
  return out;
}
