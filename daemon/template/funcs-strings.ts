/**
 * Sprig's string functions, with Sprig's argument order (the string last, so it can be piped)
 * and Go's strings package semantics: byte offsets for substr/trunc, Unicode spaces for trim.
 */
import { FuncError } from "./errors.ts";
import type { CallContext, FuncSpec } from "./func-spec.ts";
import { byteLength, byteSlice, checkSize, fn, fnCtx, fnRestCtx, strslice, strval } from "./func-spec.ts";
import { formatValue } from "./format.ts";
import { goQuote } from "./quote.ts";
import { isNil, newMap } from "./values.ts";

/** Go's unicode.IsSpace. */
const SPACE = "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const isSpace = (ch: string): boolean => SPACE.includes(ch);

/** strings.Trim with a cutset (rune-wise, both ends). */
function trimSet(s: string, cut: (ch: string) => boolean): string {
  const runes = Array.from(s);
  let a = 0;
  let b = runes.length;
  while (a < b && cut(runes[a] as string)) a++;
  while (b > a && cut(runes[b - 1] as string)) b--;
  return runes.slice(a, b).join("");
}

/** Case mapping rune by rune, keeping runes whose mapping is not a single rune (Go's ToUpper). */
function mapCase(s: string, f: (ch: string) => string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return f(s);
  let out = "";
  for (const ch of s) {
    const m = f(ch);
    out += Array.from(m).length === 1 ? m : ch;
  }
  return out;
}

/** Go's strings.Title separators: not ASCII alphanumerics/underscore, not letters or digits. */
function isSeparator(ch: string): boolean {
  if (/^[0-9A-Za-z_]$/.test(ch)) return false;
  if ((ch.codePointAt(0) ?? 0) < 0x80) return true;
  if (/^[\p{L}\p{Nd}]$/u.test(ch)) return false;
  return isSpace(ch);
}

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  let prev = " ";
  let out = "";
  for (const ch of s) {
    out += isSeparator(prev) ? mapCase(ch, (c) => c.toUpperCase()) : ch;
    prev = ch;
  }
  return out;
}

/** strings.SplitN: n < 0 means all; an empty separator splits into runes. */
export function goSplit(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  const parts = sep === "" ? Array.from(s) : s.split(sep);
  if (n > 0 && parts.length > n) return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
  return parts;
}

/** Sprig's split result: a map with keys _0, _1, … */
function indexedMap(parts: string[]): Record<string, unknown> {
  const m = newMap();
  parts.forEach((p, i) => (m[`_${i}`] = p));
  return m;
}

/** strings.Replace(s, old, new, -1), refusing results over the output cap before building them. */
function replace(ctx: CallContext, old: string, repl: string, s: string): string {
  const runes = old === "" ? Array.from(s) : [];
  const count = old === "" ? runes.length + 1 : s.split(old).length - 1;
  checkSize(ctx, byteLength(s) + count * Math.max(0, byteLength(repl) - byteLength(old)));
  if (old !== "") return s.split(old).join(repl);
  return runes.length === 0 ? repl : repl + runes.join(repl) + repl;
}

function repeat(ctx: CallContext, count: number, s: string): string {
  if (count < 0) throw new FuncError("strings: negative Repeat count");
  checkSize(ctx, count * byteLength(s));
  return s.repeat(count);
}

function indent(ctx: CallContext, spaces: number, s: string): string {
  if (spaces < 0) throw new FuncError("strings: negative Repeat count");
  const lines = s.split("\n").length;
  checkSize(ctx, byteLength(s) + spaces * lines);
  const pad = " ".repeat(spaces);
  return pad + s.replaceAll("\n", "\n" + pad);
}

/** Sprig's substr on bytes; bounds Go would panic on are errors. */
function substr(start: number, end: number, s: string): string {
  const n = byteLength(s);
  const bad = (): never => {
    throw new FuncError(`slice bounds out of range [${start}:${end}] with length ${n}`);
  };
  if (start < 0) return end > n || end < 0 ? bad() : byteSlice(s, 0, end);
  if (end < 0 || end > n) return start > n ? bad() : byteSlice(s, start);
  return start > end ? bad() : byteSlice(s, start, end);
}

/** Sprig's trunc on bytes: a negative count keeps the end. */
function trunc(c: number, s: string): string {
  const n = byteLength(s);
  if (c < 0 && n + c > 0) return byteSlice(s, n + c);
  if (c >= 0 && n > c) return byteSlice(s, 0, c);
  return s;
}

/** Sprig's string functions. */
export const STRING_FUNCS: Record<string, FuncSpec> = {
  upper: fn(["string"], (s) => mapCase(s, (c) => c.toUpperCase())),
  lower: fn(["string"], (s) => mapCase(s, (c) => c.toLowerCase())),
  title: fn(["string"], title),
  trim: fn(["string"], (s) => trimSet(s, isSpace)),
  trimAll: fn(["string", "string"], (cut, s) => trimSet(s, (ch) => cut.includes(ch))),
  trimall: fn(["string", "string"], (cut, s) => trimSet(s, (ch) => cut.includes(ch))),
  trimPrefix: fn(["string", "string"], (p, s) => (s.startsWith(p) ? s.slice(p.length) : s)),
  trimSuffix: fn(["string", "string"], (x, s) => (x !== "" && s.endsWith(x) ? s.slice(0, s.length - x.length) : s)),
  nospace: fn(["string"], (s) => Array.from(s).filter((ch) => !isSpace(ch)).join("")),
  replace: fnCtx(["string", "string", "string"], replace),
  contains: fn(["string", "string"], (sub, s) => s.includes(sub)),
  hasPrefix: fn(["string", "string"], (p, s) => s.startsWith(p)),
  hasSuffix: fn(["string", "string"], (x, s) => s.endsWith(x)),
  split: fn(["string", "string"], (sep, s) => indexedMap(goSplit(s, sep))),
  splitn: fn(["string", "int", "string"], (sep, n, s) => indexedMap(goSplit(s, sep, n))),
  splitList: fn(["string", "string"], (sep, s) => goSplit(s, sep)),
  join: fnCtx(["string", "any"], (ctx, sep, v) => strslice(v, ctx.charge).join(sep)),
  repeat: fnCtx(["int", "string"], repeat),
  substr: fn(["int", "int", "string"], substr),
  trunc: fn(["int", "string"], trunc),
  quote: fnRestCtx([], "any", (ctx, ...a) => a.filter((x) => !isNil(x)).map((x) => goQuote(strval(x, ctx.charge))).join(" ")),
  squote: fnRestCtx([], "any", (ctx, ...a) => a.filter((x) => !isNil(x)).map((x) => `'${strval(x, ctx.charge)}'`).join(" ")),
  cat: fnRestCtx([], "any", (ctx, ...a) => a.filter((x) => !isNil(x)).map((x) => formatValue(x, ctx.charge)).join(" ")),
  indent: fnCtx(["int", "string"], indent),
  nindent: fnCtx(["int", "string"], (ctx, n, s) => "\n" + indent(ctx, n, s)),
  toString: fnCtx(["any"], (ctx, v) => strval(v, ctx.charge)),
  toStrings: fnCtx(["any"], (ctx, v) => strslice(v, ctx.charge)),
};
