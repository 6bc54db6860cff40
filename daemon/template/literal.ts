/**
 * Go literals inside actions: numbers (ints, floats, hex/octal/binary, runes) and quoted
 * strings, with strconv's rules, so `0755`, `0x1F`, `1e3`, `'a'` and `"\u00e9"` mean what they
 * mean in Go.
 */
import type { Result } from "../lib/result.ts";
import { err, ok } from "../lib/result.ts";
import { isValidRune } from "./quote.ts";
import { Float64 } from "./values.ts";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

const SIMPLE: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92 };

/** One escape after a backslash at `i`: a rune, or a raw byte (\x, octal), and where it ends. */
function readEscape(s: string, i: number, quote: string): { rune?: number; byte?: number; next: number } | undefined {
  const c = s[i];
  if (c === undefined) return undefined;
  if (c in SIMPLE) return { rune: SIMPLE[c], next: i + 1 };
  if (c === quote && (c === '"' || c === "'")) return { rune: c.charCodeAt(0), next: i + 1 };
  const hexLen = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
  if (hexLen > 0) {
    const digits = s.slice(i + 1, i + 1 + hexLen);
    if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(digits)) return undefined;
    const v = parseInt(digits, 16);
    if (c === "x") return quote === "'" ? { rune: v, next: i + 3 } : { byte: v, next: i + 3 };
    return isValidRune(v) ? { rune: v, next: i + 1 + hexLen } : undefined;
  }
  if (c >= "0" && c <= "7") {
    const digits = s.slice(i, i + 3);
    if (!/^[0-7]{3}$/.test(digits)) return undefined;
    const v = parseInt(digits, 8);
    if (v > 255) return undefined;
    return quote === "'" ? { rune: v, next: i + 3 } : { byte: v, next: i + 3 };
  }
  return undefined;
}

/** strconv.Unquote for "…" and `…` literals; undefined if the syntax is invalid. */
export function unquote(lit: string): string | undefined {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) return undefined;
  const body = lit.slice(1, -1);
  if (q === "`") return body.includes("`") ? undefined : body.replaceAll("\r", ""); // Go drops CRs in raw strings
  if (q !== '"') return undefined;
  if (!body.includes("\\")) return body.includes('"') || body.includes("\n") ? undefined : body;
  // Escapes can produce raw bytes (\xff), so build UTF-8 and decode once, as Go's bytes would print.
  const bytes: number[] = [];
  for (let i = 0; i < body.length; ) {
    const ch = body[i] as string;
    if (ch === '"' || ch === "\n") return undefined;
    if (ch !== "\\") {
      const cp = body.codePointAt(i) ?? 0;
      const len = cp > 0xffff ? 2 : 1;
      bytes.push(...utf8.encode(body.slice(i, i + len)));
      i += len;
      continue;
    }
    const e = readEscape(body, i + 1, '"');
    if (!e) return undefined;
    if (e.byte !== undefined) bytes.push(e.byte);
    else bytes.push(...utf8.encode(String.fromCodePoint(e.rune ?? 0)));
    i = e.next;
  }
  return fromUtf8.decode(new Uint8Array(bytes));
}

/** The rune of a character constant like 'a' or '\n'; undefined if malformed. */
export function unquoteChar(lit: string): number | undefined {
  if (lit.length < 3 || lit[0] !== "'" || lit[lit.length - 1] !== "'") return undefined;
  const body = lit.slice(1, -1);
  if (body[0] === "\\") {
    const e = readEscape(body, 1, "'");
    return e && e.next === body.length ? (e.rune ?? e.byte) : undefined;
  }
  const cp = body.codePointAt(0) ?? 0;
  const len = cp > 0xffff ? 2 : 1;
  return len === body.length && body !== "'" && body !== "\n" ? cp : undefined;
}

/** Go's rule for `_` in numbers: only between digits, or after a base prefix. */
function underscoresOk(s: string): boolean {
  let t = s.replace(/^[+-]/, "");
  let saw = "^";
  let hex = false;
  if (/^0[bBoOxX]/.test(t)) {
    hex = /^0[xX]/.test(t);
    t = t.slice(2);
    saw = "0";
  }
  for (const c of t) {
    if ((c >= "0" && c <= "9") || (hex && /[a-fA-F]/.test(c))) saw = "0";
    else if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
    } else {
      if (saw === "_") return false;
      saw = "!";
    }
  }
  return saw !== "_";
}

const INT64_LIMIT = 2n ** 63n;

/** strconv.ParseInt(text, 0, 64): base prefixes, leading-zero octal, a sign, underscores. */
function parseGoInt(text: string): number | "overflow" | undefined {
  if (!underscoresOk(text)) return undefined;
  const neg = text[0] === "-";
  let s = text.replace(/^[+-]/, "").replaceAll("_", "");
  let base = 10;
  if (/^0[xX]/.test(s)) (base = 16), (s = s.slice(2));
  else if (/^0[oO]/.test(s)) (base = 8), (s = s.slice(2));
  else if (/^0[bB]/.test(s)) (base = 2), (s = s.slice(2));
  else if (s.length > 1 && s[0] === "0") (base = 8), (s = s.slice(1));
  const digits = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base];
  if (!digits?.test(s)) return undefined;
  const prefix = { 2: "0b", 8: "0o", 10: "", 16: "0x" }[base] ?? "";
  const big = BigInt(prefix + s);
  if (neg ? big > INT64_LIMIT : big >= INT64_LIMIT) return "overflow";
  return Number(neg ? -big : big);
}

/** strconv.ParseFloat for Go's decimal and hexadecimal float syntax. */
export function parseGoFloat(text: string): number | undefined {
  if (!underscoresOk(text)) return undefined;
  const s = text.replaceAll("_", "");
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s);
  if (!hex || (hex[2] === "" && hex[3] === "")) return undefined;
  const [, sign, whole = "", frac = "", exp = "0"] = hex;
  const mantissa = parseInt(whole + frac || "0", 16) / 16 ** frac.length;
  const v = mantissa * 2 ** Number(exp);
  return sign === "-" ? -v : v;
}

/** The value of a number literal as Go's template exec sees it (an int or a float64). */
export function parseNumber(text: string, kind: "number" | "charConstant" | "complex"): Result<number | Float64, string> {
  if (kind === "charConstant") {
    const r = unquoteChar(text);
    return r === undefined ? err(`malformed character constant: ${text}`) : ok(r);
  }
  if (kind === "complex" || text.endsWith("i")) return err(`complex number ${text} is not supported`);
  const isHexInt = /^0[xX]/.test(text) && !/[pP]/.test(text);
  const looksFloat = !isHexInt && /[.eEpP]/.test(text);
  const i = looksFloat ? undefined : parseGoInt(text);
  if (i === "overflow") return err(`integer overflow: "${text}"`);
  if (i !== undefined) return ok(i);
  const f = parseGoFloat(text);
  if (f === undefined || !Number.isFinite(f)) return err(`illegal number syntax: "${text}"`);
  if (!looksFloat) return err(`integer overflow: "${text}"`);
  return ok(Number.isInteger(f) ? new Float64(f) : f);
}
