/**
 * RE2 regular expression syntax (what Go's regexp accepts) parsed to a small tree. Sprig's
 * regex functions must behave like Go's, and JavaScript's backtracking RegExp can take
 * exponential time on hostile patterns, so templates get their own linear-time engine
 * (regexp.ts); this file is its parser. Flags i, m, s, U; classes with ranges, negation,
 * Perl (\d \s \w), POSIX ([:alpha:]) and Unicode (\pL, \p{Greek}) forms; groups, named groups,
 * repetition with bounds; \A \z \b \B ^ $ assertions; \Q…\E.
 */

/** A parsed expression. Characters are predicates over code points, with flags applied. */
export type Re =
  | { t: "char"; test: (c: number) => boolean }
  | { t: "assert"; k: "bol" | "eol" | "bot" | "eot" | "wb" | "nwb" }
  | { t: "cat"; xs: Re[] }
  | { t: "alt"; xs: Re[] }
  | { t: "rep"; x: Re; min: number; max: number; greedy: boolean }
  | { t: "cap"; x: Re; n: number };

/** The parse: the tree, how many groups capture, and their names (index = group number). */
export interface RegexSyntax {
  re: Re;
  ncap: number;
  names: (string | undefined)[];
}

/** A pattern Go's regexp would reject. */
export class RegexSyntaxError extends Error {}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

/** RE2's limit on counted repetition. */
const MAX_REPEAT = 1000;

type Ranges = [number, number][];

const DIGIT: Ranges = [[0x30, 0x39]];
const SPACE: Ranges = [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]];
const WORD: Ranges = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];

const POSIX: Record<string, Ranges> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const inRanges = (r: Ranges, c: number): boolean => r.some(([lo, hi]) => c >= lo && c <= hi);

/** Simple case variants of a code point (one code point each), for (?i). */
function caseVariants(c: number): number[] {
  const ch = String.fromCodePoint(c);
  const out = [c];
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    const cp = v.codePointAt(0) ?? c;
    if (String.fromCodePoint(cp) === v && !out.includes(cp)) out.push(cp);
  }
  return out;
}

const folded = (test: (c: number) => boolean, fold: boolean): ((c: number) => boolean) =>
  fold ? (c) => caseVariants(c).some(test) : test;

/** A Unicode class \p{Name}: general categories and scripts, tested through RegExp. */
function unicodeClass(name: string): (c: number) => boolean {
  if (name === "Any") return () => true;
  for (const source of [`^\\p{${name}}$`, `^\\p{Script=${name}}$`]) {
    try {
      const re = new RegExp(source, "u");
      return (c) => re.test(String.fromCodePoint(c));
    } catch {
      // not this form; try the next
    }
  }
  throw new RegexSyntaxError(`invalid character class range: \`\\p{${name}}\``);
}

/** Parses an RE2 pattern; throws RegexSyntaxError with Go's wording. */
export function parseRegex(src: string): RegexSyntax {
  const p = new RegexParser(src);
  const re = p.alternation({ i: false, m: false, s: false, U: false });
  if (p.pos < src.length) throw new RegexSyntaxError(`unexpected ): \`${src}\``);
  return { re, ncap: p.ncap, names: p.names };
}

class RegexParser {
  pos = 0;
  ncap = 0;
  names: (string | undefined)[] = [undefined];

  constructor(private readonly src: string) {}

  private fail(what: string, frag: string = this.src): never {
    throw new RegexSyntaxError(`${what}: \`${frag}\``);
  }

  private peek(): string | undefined {
    const cp = this.src.codePointAt(this.pos);
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private take(): number {
    const cp = this.src.codePointAt(this.pos);
    if (cp === undefined) this.fail("trailing backslash at end of expression", "");
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  alternation(flags: Flags): Re {
    const xs = [this.concat(flags)];
    while (this.peek() === "|") {
      this.pos++;
      xs.push(this.concat(flags));
    }
    return xs.length === 1 ? (xs[0] as Re) : { t: "alt", xs };
  }

  private concat(flags: Flags): Re {
    const xs: Re[] = [];
    for (let c = this.peek(); c !== undefined && c !== "|" && c !== ")"; c = this.peek()) {
      if ("*+?".includes(c)) this.fail("missing argument to repetition operator", c);
      if (c === "{" && this.repeatBounds(false)) this.fail("missing argument to repetition operator", c);
      const atom = this.atom(flags);
      if (atom) xs.push(this.quantified(atom, flags));
    }
    return xs.length === 1 ? (xs[0] as Re) : { t: "cat", xs };
  }

  private quantified(atom: Re, flags: Flags): Re {
    const start = this.pos;
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === "*") (min = 0), (max = -1), this.pos++;
    else if (c === "+") (min = 1), (max = -1), this.pos++;
    else if (c === "?") (min = 0), (max = 1), this.pos++;
    else {
      const bounds = c === "{" ? this.repeatBounds(true) : undefined;
      if (!bounds) return atom;
      [min, max] = bounds;
    }
    let greedy = !flags.U;
    if (this.peek() === "?") {
      this.pos++;
      greedy = !greedy;
    }
    const next = this.peek();
    if (next !== undefined && ("*+?".includes(next) || (next === "{" && this.repeatBounds(false)))) {
      this.fail("invalid nested repetition operator", this.src.slice(start, this.pos + 1));
    }
    return { t: "rep", x: atom, min, max, greedy };
  }

  /** `{n}`, `{n,}` or `{n,m}` at the position; anything else is a literal `{`. */
  private repeatBounds(consume: boolean): [number, number] | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) this.fail("invalid repeat count", m[0]);
    if (consume) this.pos += m[0].length;
    return [min, max];
  }

  private atom(flags: Flags): Re | undefined {
    const c = this.peek();
    switch (c) {
      case "(":
        return this.group(flags);
      case "[":
        this.pos++;
        return this.charClass(flags);
      case ".":
        this.pos++;
        return { t: "char", test: flags.s ? () => true : (x) => x !== 0x0a };
      case "^":
        this.pos++;
        return { t: "assert", k: flags.m ? "bol" : "bot" };
      case "$":
        this.pos++;
        return { t: "assert", k: flags.m ? "eol" : "eot" };
      case "\\":
        this.pos++;
        return this.escape(flags);
    }
    const lit = this.take();
    return { t: "char", test: folded((x) => x === lit, flags.i) };
  }

  private group(flags: Flags): Re | undefined {
    const start = this.pos;
    this.pos++;
    let name: string | undefined;
    if (this.src.startsWith("?P<", this.pos) || this.src.startsWith("?<", this.pos)) {
      const m = /^\?P?<([^>]*)>/.exec(this.src.slice(this.pos));
      if (!m || !/^[A-Za-z0-9_]+$/.test(m[1] ?? "")) this.fail("invalid named capture", this.src.slice(start));
      name = m[1];
      if (this.names.includes(name)) this.fail("duplicate capture group name", this.src.slice(start, this.pos + m[0].length));
      this.pos += m[0].length;
    } else if (this.peek() === "?") {
      const m = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(this.src.slice(this.pos));
      if (!m || (m[1] === "" && m[2] === "")) this.fail("invalid or unsupported Perl syntax", this.src.slice(start, start + 3));
      this.pos += m[0].length;
      const scoped = m[3] === ":" ? { ...flags } : flags;
      for (const f of m[1] ?? "") scoped[f as keyof Flags] = true;
      for (const f of m[2] ?? "") scoped[f as keyof Flags] = false;
      if (m[3] === ")") return undefined; // (?i) changes the rest of the enclosing group
      return this.closeGroup(this.alternation(scoped), start);
    }
    const n = ++this.ncap;
    this.names[n] = name;
    return { t: "cap", n, x: this.closeGroup(this.alternation({ ...flags }), start) };
  }

  private closeGroup(x: Re, start: number): Re {
    if (this.peek() !== ")") this.fail("missing closing )", this.src.slice(start));
    this.pos++;
    return x;
  }

  /** After a backslash outside a class. */
  private escape(flags: Flags): Re {
    const c = this.peek();
    const asserts: Record<string, Re & { t: "assert" }> = {
      A: { t: "assert", k: "bot" },
      z: { t: "assert", k: "eot" },
      b: { t: "assert", k: "wb" },
      B: { t: "assert", k: "nwb" },
    };
    if (c !== undefined && asserts[c]) {
      this.pos++;
      return asserts[c];
    }
    if (c === "Q") {
      const end = this.src.indexOf("\\E", this.pos + 1);
      const text = this.src.slice(this.pos + 1, end < 0 ? undefined : end);
      this.pos = end < 0 ? this.src.length : end + 2;
      const xs: Re[] = Array.from(text, (ch) => {
        const lit = ch.codePointAt(0) ?? 0;
        return { t: "char", test: folded((x) => x === lit, flags.i) } as Re;
      });
      return { t: "cat", xs };
    }
    const item = this.classEscape();
    return { t: "char", test: folded(item, flags.i) };
  }

  /** An escape usable in and out of classes: \d \pL \x{41} \n \. … as a predicate. */
  private classEscape(): (c: number) => boolean {
    const start = this.pos - 1;
    const c = String.fromCodePoint(this.take());
    const perl: Record<string, Ranges> = { d: DIGIT, s: SPACE, w: WORD };
    const lower = c.toLowerCase();
    if (perl[lower]) {
      const r = perl[lower] as Ranges;
      return c === lower ? (x) => inRanges(r, x) : (x) => !inRanges(r, x);
    }
    if (c === "p" || c === "P") {
      let name: string;
      if (this.peek() === "{") {
        const end = this.src.indexOf("}", this.pos);
        if (end < 0) this.fail("invalid character class range", this.src.slice(start));
        name = this.src.slice(this.pos + 1, end);
        this.pos = end + 1;
      } else {
        name = String.fromCodePoint(this.take());
      }
      const neg = name.startsWith("^") !== (c === "P");
      const test = unicodeClass(name.replace(/^\^/, ""));
      return neg ? (x) => !test(x) : test;
    }
    const lit = this.escapedLiteral(c, start);
    return (x) => x === lit;
  }

  private escapedLiteral(c: string, start: number): number {
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (simple[c] !== undefined) return simple[c];
    if (c === "x") {
      const m = /^\{([0-9a-fA-F]{1,6})\}|^([0-9a-fA-F]{2})/.exec(this.src.slice(this.pos));
      const v = m ? parseInt(m[1] ?? m[2] ?? "", 16) : NaN;
      if (!m || v > 0x10ffff) this.fail("invalid escape sequence", this.src.slice(start, this.pos + 2));
      this.pos += m[0].length;
      return v;
    }
    if (c >= "0" && c <= "7") {
      const m = /^[0-7]{0,2}/.exec(this.src.slice(this.pos))?.[0] ?? "";
      if (c !== "0" && m === "") this.fail("invalid escape sequence", this.src.slice(start, this.pos)); // \1: no backreferences
      this.pos += m.length;
      return parseInt(c + m, 8);
    }
    const cp = c.codePointAt(0) ?? 0;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return cp; // escaped punctuation is itself
    this.fail("invalid escape sequence", this.src.slice(start, this.pos));
  }

  /** After "[": a class up to its "]". */
  private charClass(flags: Flags): Re {
    const start = this.pos - 1;
    const neg = this.peek() === "^";
    if (neg) this.pos++;
    const tests: ((c: number) => boolean)[] = [];
    const ranges: Ranges = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("missing closing ]", this.src.slice(start));
      if (c === "]" && !first) break;
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
      if (posix) {
        const r = POSIX[posix[2] ?? ""];
        if (!r) this.fail("invalid character class range", posix[0]);
        tests.push(posix[1] ? (x) => !inRanges(r, x) : (x) => inRanges(r, x));
        this.pos += posix[0].length;
        continue;
      }
      const lo = this.classChar(tests);
      if (lo === undefined) continue;
      if (this.peek() === "-" && this.src[this.pos + 1] !== "]" && this.pos + 1 < this.src.length) {
        this.pos++;
        const hi = this.classChar(tests);
        if (hi === undefined || hi < lo) this.fail("invalid character class range", this.src.slice(start, this.pos));
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    this.pos++;
    const member = folded((x) => inRanges(ranges, x) || tests.some((t) => t(x)), flags.i);
    return { t: "char", test: neg ? (x) => !member(x) : member };
  }

  /** One class member: a single code point, or (for \d, \pL…) a predicate added to `tests`. */
  private classChar(tests: ((c: number) => boolean)[]): number | undefined {
    if (this.peek() !== "\\") return this.take();
    this.pos++;
    const c = this.peek();
    if (c !== undefined && /[dDsSwWpP]/.test(c)) {
      tests.push(this.classEscape());
      return undefined;
    }
    return this.escapedLiteral(String.fromCodePoint(this.take()), this.pos - 2);
  }
}
