/**
 * The lexer: template text to tokens, following Go's text/template/parse lexer (delimiters
 * `{{ }}`, trim markers `{{- ` and ` -}}`, comments, and the tokens inside actions). Lexing
 * stops at the first error, which becomes an "error" token carrying Go's message.
 */
import { goQuote, runeName } from "./quote.ts";

/** Token kinds; keywords are their own kinds, as in Go. */
export type TokenType =
  | "text"
  | "leftDelim"
  | "rightDelim"
  | "space"
  | "eof"
  | "error"
  | "identifier"
  | "field"
  | "variable"
  | "dot"
  | "bool"
  | "number"
  | "charConstant"
  | "complex"
  | "string"
  | "rawString"
  | "leftParen"
  | "rightParen"
  | "pipe"
  | "declare"
  | "assign"
  | "char"
  | Keyword;

/** Words that are keywords inside actions. */
export type Keyword = "block" | "break" | "continue" | "define" | "else" | "end" | "if" | "nil" | "range" | "template" | "with";

const KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ...(["block", "break", "continue", "define", "else", "end", "if", "nil", "range", "template", "with"] as const).map(
    (k) => [k, k] as [string, TokenType],
  ),
  ["true", "bool"],
  ["false", "bool"],
]);

/** Token kinds Go prints as `<word>` in messages. */
export const KEYWORD_TYPES: ReadonlySet<TokenType> = new Set<TokenType>([
  "block", "break", "continue", "define", "dot", "else", "end", "if", "nil", "range", "template", "with",
]);

/** One token: its kind, its text, and its offset in the source. */
export interface Token {
  type: TokenType;
  val: string;
  pos: number;
}

const LEFT = "{{";
const RIGHT = "}}";

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";
const ALNUM = /^[\p{L}\p{Nd}_]$/u;
const isAlnum = (c: string | undefined): boolean =>
  c !== undefined && (/^[A-Za-z0-9_]$/.test(c) || (c.charCodeAt(0) >= 0x80 && ALNUM.test(c)));

/** Go's `{{- `: a minus then a space right after the left delimiter. */
const hasLeftTrim = (s: string, at: number): boolean => s[at] === "-" && isSpace(s[at + 1]);

/** Length of the whitespace run ending at `end` (Go's rightTrimLength). */
function trailingSpace(s: string, start: number, end: number): number {
  let n = 0;
  while (end - n > start && isSpace(s[end - n - 1])) n++;
  return n;
}

/** Turns template source into tokens, ending with an "eof" or an "error" token. */
export function lex(input: string): Token[] {
  const l = new Lexer(input);
  l.run();
  return l.tokens;
}

class Lexer {
  readonly tokens: Token[] = [];
  private pos = 0;
  private start = 0;
  private parenDepth = 0;

  constructor(private readonly input: string) {}

  run(): void {
    while (this.text()) if (!this.leftDelim()) return;
    this.tokens.push({ type: "eof", val: "", pos: this.input.length });
  }

  private emit(type: TokenType): void {
    this.tokens.push({ type, val: this.input.slice(this.start, this.pos), pos: this.start });
    this.start = this.pos;
  }

  private fail(message: string): false {
    this.tokens.push({ type: "error", val: message, pos: this.start });
    return false;
  }

  /** The rune at the current position ("" at the end). */
  private peekRune(): string {
    const cp = this.input.codePointAt(this.pos);
    return cp === undefined ? "" : String.fromCodePoint(cp);
  }

  private accept(valid: string): boolean {
    const c = this.input[this.pos];
    if (c !== undefined && valid.includes(c)) {
      this.pos++;
      return true;
    }
    return false;
  }

  private acceptRun(valid: string): void {
    while (this.accept(valid));
  }

  /** Emits text up to the next "{{" (trimmed for `{{- `); false at the end of input. */
  private text(): boolean {
    const x = this.input.indexOf(LEFT, this.pos);
    const end = x < 0 ? this.input.length : x;
    const trimmed = x >= 0 && hasLeftTrim(this.input, x + LEFT.length) ? end - trailingSpace(this.input, this.pos, end) : end;
    if (trimmed > this.pos) {
      this.tokens.push({ type: "text", val: this.input.slice(this.pos, trimmed), pos: this.pos });
    }
    this.pos = this.start = end;
    return x >= 0;
  }

  /** At "{{": a comment (skipped) or an action. */
  private leftDelim(): boolean {
    const afterDelim = this.pos + LEFT.length;
    const trim = hasLeftTrim(this.input, afterDelim);
    const afterMarker = afterDelim + (trim ? 2 : 0);
    if (this.input.startsWith("/*", afterMarker)) return this.comment(afterMarker);
    this.pos = afterDelim;
    this.emit("leftDelim");
    this.pos = this.start = afterMarker;
    return this.action();
  }

  private comment(at: number): boolean {
    this.start = at;
    const end = this.input.indexOf("*/", at + 2);
    if (end < 0) return this.fail("unclosed comment");
    this.pos = end + 2;
    const delim = this.atRightDelim();
    if (!delim) return this.fail("comment ends before closing delimiter");
    this.skipRightDelim(delim.trim);
    return true;
  }

  /** Is the input at "}}" or " -}}"? */
  private atRightDelim(): { trim: boolean } | undefined {
    const s = this.input;
    if (isSpace(s[this.pos]) && s[this.pos + 1] === "-" && s.startsWith(RIGHT, this.pos + 2)) return { trim: true };
    return s.startsWith(RIGHT, this.pos) ? { trim: false } : undefined;
  }

  private skipRightDelim(trim: boolean): void {
    if (trim) this.pos += 2;
    this.pos += RIGHT.length;
    if (trim) while (isSpace(this.input[this.pos])) this.pos++;
    this.start = this.pos;
  }

  /** Tokens inside an action, through its right delimiter; false on error. */
  private action(): boolean {
    for (;;) {
      const delim = this.atRightDelim();
      if (delim) {
        if (this.parenDepth > 0) return this.fail("unclosed left paren");
        if (delim.trim) this.pos += 2;
        this.start = this.pos;
        this.pos += RIGHT.length;
        this.emit("rightDelim");
        if (delim.trim) while (isSpace(this.input[this.pos])) this.pos++;
        this.start = this.pos;
        return true;
      }
      if (!this.actionToken()) return false;
    }
  }

  private actionToken(): boolean {
    const r = this.peekRune();
    this.pos += r.length;
    if (r === "") return this.fail("unclosed action");
    if (isSpace(r)) return this.space();
    switch (r) {
      case "=":
        this.emit("assign");
        return true;
      case ":":
        if (!this.accept("=")) return this.fail("expected :=");
        this.emit("declare");
        return true;
      case "|":
        this.emit("pipe");
        return true;
      case '"':
        return this.quoted('"', "unterminated quoted string", "string");
      case "`":
        return this.raw();
      case "'":
        return this.quoted("'", "unterminated character constant", "charConstant");
      case "$":
        return this.fieldOrVariable("variable");
      case "(":
        this.parenDepth++;
        this.emit("leftParen");
        return true;
      case ")":
        if (--this.parenDepth < 0) return this.fail("unexpected right paren");
        this.emit("rightParen");
        return true;
    }
    if (r === ".") {
      const next = this.input[this.pos];
      if (next === undefined || next < "0" || next > "9") return this.fieldOrVariable("field");
    }
    if (r === "+" || r === "-" || r === "." || (r >= "0" && r <= "9")) {
      this.pos = this.start;
      return this.number();
    }
    if (isAlnum(r)) return this.identifier();
    if (r.charCodeAt(0) < 0x7f && r >= " ") {
      this.emit("char");
      return true;
    }
    return this.fail(`unrecognized character in action: ${runeName(r)}`);
  }

  /** A run of spaces, leaving the one before a " -}}" for the delimiter check. */
  private space(): boolean {
    while (isSpace(this.input[this.pos])) this.pos++;
    const last = this.pos - 1;
    if (this.input[last + 1] === "-" && this.input.startsWith(RIGHT, last + 2)) {
      this.pos = last;
      if (this.pos === this.start) return true;
    }
    this.emit("space");
    return true;
  }

  private quoted(quote: string, unterminated: string, type: TokenType): boolean {
    for (;;) {
      const c = this.input[this.pos++];
      if (c === "\\") {
        const n = this.input[this.pos];
        if (n !== undefined && n !== "\n") {
          this.pos++;
          continue;
        }
        return this.fail(unterminated);
      }
      if (c === undefined || c === "\n") return this.fail(unterminated);
      if (c === quote) break;
    }
    this.emit(type);
    return true;
  }

  private raw(): boolean {
    const end = this.input.indexOf("`", this.pos);
    if (end < 0) return this.fail("unterminated raw quoted string");
    this.pos = end + 1;
    this.emit("rawString");
    return true;
  }

  private atTerminator(): boolean {
    const c = this.input[this.pos];
    if (c === undefined || isSpace(c) || ".,|:)(".includes(c)) return true;
    return this.input.startsWith(RIGHT, this.pos);
  }

  /** After "$" or ".": a variable or field name, or just "$" / "." alone. */
  private fieldOrVariable(type: "field" | "variable"): boolean {
    if (this.atTerminator()) {
      this.emit(type === "variable" ? "variable" : "dot");
      return true;
    }
    let r = this.peekRune();
    while (isAlnum(r)) {
      this.pos += r.length;
      r = this.peekRune();
    }
    if (!this.atTerminator()) return this.fail(`bad character ${runeName(r)}`);
    this.emit(type);
    return true;
  }

  private identifier(): boolean {
    let r = this.peekRune();
    while (isAlnum(r)) {
      this.pos += r.length;
      r = this.peekRune();
    }
    if (!this.atTerminator()) return this.fail(`bad character ${runeName(r)}`);
    this.emit(KEYWORDS.get(this.input.slice(this.start, this.pos)) ?? "identifier");
    return true;
  }

  private number(): boolean {
    if (!this.scanNumber()) return this.fail(`bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
    const sign = this.input[this.pos];
    if (sign === "+" || sign === "-") {
      // Go reads 1+2i as one complex constant; anything else glued on is bad syntax.
      if (!this.scanNumber() || this.input[this.pos - 1] !== "i") {
        return this.fail(`bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
      }
      this.emit("complex");
      return true;
    }
    this.emit("number");
    return true;
  }

  private scanNumber(): boolean {
    this.accept("+-");
    let digits = "0123456789_";
    if (this.accept("0")) {
      if (this.accept("xX")) digits = "0123456789abcdefABCDEF_";
      else if (this.accept("oO")) digits = "01234567_";
      else if (this.accept("bB")) digits = "01_";
    }
    this.acceptRun(digits);
    if (this.accept(".")) this.acceptRun(digits);
    if (digits.length === 11 && this.accept("eE")) {
      this.accept("+-");
      this.acceptRun("0123456789_");
    }
    if (digits.length === 23 && this.accept("pP")) {
      this.accept("+-");
      this.acceptRun("0123456789_");
    }
    this.accept("i");
    const r = this.peekRune();
    if (isAlnum(r)) {
      this.pos += r.length;
      return false;
    }
    return true;
  }
}
