/**
 * Go's quoting (strconv.Quote, %q, %#U), used in error messages as Go writes them and by the
 * `quote`, `printf "%q"` functions.
 */

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** True if Go would print the rune as is inside a quoted string. */
export function isPrint(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  if (c < 0x80) return c >= 0x20 && c < 0x7f;
  return PRINTABLE.test(ch);
}

const SHORT_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");

/** One rune escaped as Go does inside a quoted literal delimited by `quote`. */
function escapeRune(ch: string, quote: string, asciiOnly: boolean): string {
  if (ch === quote || ch === "\\") return "\\" + ch;
  const c = ch.codePointAt(0) ?? 0;
  if (c >= 0xd800 && c <= 0xdfff) return "\\ufffd"; // a lone surrogate is not a valid rune
  if (isPrint(ch) && (!asciiOnly || c < 0x80)) return ch;
  const short = SHORT_ESCAPES[ch];
  if (short) return short;
  if (c < 0x20 || c === 0x7f) return "\\x" + hex(c, 2);
  return c < 0x10000 ? "\\u" + hex(c, 4) : "\\U" + hex(c, 8);
}

/** strconv.Quote (or QuoteToASCII): a double-quoted Go string literal. */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch, '"', asciiOnly);
  return out + '"';
}

/** strconv.QuoteRune: a single-quoted Go rune literal. */
export function goQuoteRune(code: number): string {
  const ch = isValidRune(code) ? String.fromCodePoint(code) : "\ufffd";
  return "'" + escapeRune(ch, "'", false) + "'";
}

/** fmt's `%#U`: `U+0041 'A'`, without the quoted rune when it is not printable. */
export function runeName(ch: string): string {
  const c = ch.codePointAt(0) ?? 0;
  const u = "U+" + c.toString(16).toUpperCase().padStart(4, "0");
  return isPrint(ch) ? `${u} '${ch}'` : u;
}

/** Go's `%.Nq` on a string: at most n runes, then quoted. */
export function goQuoteTruncated(s: string, n: number): string {
  return goQuote(Array.from(s).slice(0, n).join(""));
}

/** A rune Go accepts: in range and not a surrogate. */
export const isValidRune = (c: number): boolean => c >= 0 && c <= 0x10ffff && (c < 0xd800 || c > 0xdfff);
