/**
 * A linear-time regular expression engine for Sprig's regex functions: RE2 syntax compiled to
 * a small program and run by a Pike VM, which tracks all threads in lock-step, so matching is
 * O(pattern × text) whatever the pattern. Leftmost-first semantics and Go's rules for
 * FindAll, ReplaceAll (with $1/${name} expansion) and Split.
 */
import { FuncError } from "./errors.ts";
import type { Re } from "./regexp-syntax.ts";
import { parseRegex, RegexSyntaxError } from "./regexp-syntax.ts";

/** Programs larger than this are refused (RE2 refuses large expressions too). */
const MAX_PROGRAM = 20_000;

type Inst =
  | { op: "char"; test: (c: number) => boolean }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "save"; n: number }
  | { op: "assert"; k: "bol" | "eol" | "bot" | "eot" | "wb" | "nwb" }
  | { op: "match" };

/** A compiled expression. */
export interface Regexp {
  readonly source: string;
  readonly prog: readonly Inst[];
  /** Capture groups, not counting the whole match. */
  readonly ncap: number;
  readonly names: readonly (string | undefined)[];
}

/** Counts work, so a long text cannot run past the render's budget. */
export type Charge = (units: number) => void;

/** Compiles a pattern, or says why Go's regexp would reject it. */
export function compileRegexp(source: string): Regexp | string {
  try {
    const syntax = parseRegex(source);
    const prog: Inst[] = [];
    const push = (inst: Inst): number => {
      if (prog.length >= MAX_PROGRAM) throw new RegexSyntaxError(`expression too large: \`${source}\``);
      return prog.push(inst) - 1;
    };
    push({ op: "save", n: 0 });
    emit(syntax.re, prog, push);
    push({ op: "save", n: 1 });
    push({ op: "match" });
    return { source, prog, ncap: syntax.ncap, names: syntax.names };
  } catch (e) {
    if (e instanceof RegexSyntaxError) return `error parsing regexp: ${e.message}`;
    throw e;
  }
}

function emit(re: Re, prog: Inst[], push: (i: Inst) => number): void {
  switch (re.t) {
    case "char":
      push({ op: "char", test: re.test });
      return;
    case "assert":
      push({ op: "assert", k: re.k });
      return;
    case "cap":
      push({ op: "save", n: 2 * re.n });
      emit(re.x, prog, push);
      push({ op: "save", n: 2 * re.n + 1 });
      return;
    case "cat":
      for (const x of re.xs) emit(x, prog, push);
      return;
    case "alt": {
      const exits: number[] = [];
      re.xs.forEach((x, i) => {
        if (i === re.xs.length - 1) return emit(x, prog, push);
        const split = push({ op: "split", x: prog.length + 1, y: -1 });
        emit(x, prog, push);
        exits.push(push({ op: "jmp", x: -1 }));
        (prog[split] as { y: number }).y = prog.length;
      });
      for (const j of exits) (prog[j] as { x: number }).x = prog.length;
      return;
    }
    case "rep": {
      for (let i = 0; i < re.min; i++) emit(re.x, prog, push);
      const order = (self: number, out: number) => (re.greedy ? { x: self + 1, y: out } : { x: out, y: self + 1 });
      if (re.max < 0) {
        const loop = push({ op: "split", x: -1, y: -1 });
        emit(re.x, prog, push);
        push({ op: "jmp", x: loop });
        Object.assign(prog[loop] as object, order(loop, prog.length));
        return;
      }
      const optional: number[] = [];
      for (let i = re.min; i < re.max; i++) {
        optional.push(push({ op: "split", x: -1, y: -1 }));
        emit(re.x, prog, push);
      }
      for (const s of optional) Object.assign(prog[s] as object, order(s, prog.length));
    }
  }
}

const isWordChar = (s: string, i: number): boolean => i >= 0 && i < s.length && /[0-9A-Za-z_]/.test(s[i] as string);

function assertHolds(k: Inst & { op: "assert" }, s: string, pos: number): boolean {
  switch (k.k) {
    case "bot":
      return pos === 0;
    case "eot":
      return pos === s.length;
    case "bol":
      return pos === 0 || s[pos - 1] === "\n";
    case "eol":
      return pos === s.length || s[pos] === "\n";
    case "wb":
      return isWordChar(s, pos - 1) !== isWordChar(s, pos);
    case "nwb":
      return isWordChar(s, pos - 1) === isWordChar(s, pos);
  }
}

interface Thread {
  pc: number;
  caps: number[];
}

/**
 * The leftmost-first match at or after `from`: capture offsets (pairs, -1 when a group did not
 * take part), or undefined.
 */
export function execRegexp(re: Regexp, s: string, from: number, charge: Charge): number[] | undefined {
  const prog = re.prog;
  const seen = new Int32Array(prog.length).fill(-1);
  let gen = 0;
  const add = (list: Thread[], pc0: number, caps0: number[], pos: number): void => {
    const stack: Thread[] = [{ pc: pc0, caps: caps0 }];
    while (stack.length > 0) {
      const { pc, caps } = stack.pop() as Thread;
      if (seen[pc] === gen) continue;
      seen[pc] = gen;
      const inst = prog[pc] as Inst;
      switch (inst.op) {
        case "jmp":
          stack.push({ pc: inst.x, caps });
          break;
        case "split":
          stack.push({ pc: inst.y, caps }, { pc: inst.x, caps });
          break;
        case "save": {
          const next = caps.slice();
          next[inst.n] = pos;
          stack.push({ pc: pc + 1, caps: next });
          break;
        }
        case "assert":
          if (assertHolds(inst, s, pos)) stack.push({ pc: pc + 1, caps });
          break;
        default:
          list.push({ pc, caps });
      }
    }
  };
  const empty = new Array<number>(2 * re.ncap + 2).fill(-1);
  let matched: number[] | undefined;
  let clist: Thread[] = [];
  for (let pos = from; ; ) {
    if (!matched) add(clist, 0, empty, pos);
    else if (clist.length === 0) break; // nothing left that could beat the match
    const c = s.codePointAt(pos) ?? -1;
    const width = c > 0xffff ? 2 : 1;
    gen++;
    const nlist: Thread[] = [];
    for (const th of clist) {
      const inst = prog[th.pc] as Inst;
      if (inst.op === "match") {
        matched = th.caps;
        break; // threads after this one have lower priority
      }
      if (inst.op === "char" && c >= 0 && inst.test(c)) add(nlist, th.pc + 1, th.caps, pos + width);
    }
    charge(clist.length);
    if (c < 0) break;
    pos += width;
    clist = nlist;
  }
  return matched;
}

const runeWidth = (s: string, i: number): number => ((s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1);

/** Go's allMatches: successive matches, skipping an empty match right after a match; n < 0 = all. */
export function findAll(re: Regexp, s: string, n: number, charge: Charge): number[][] {
  const out: number[][] = [];
  for (let pos = 0, prevEnd = -1; (n < 0 || out.length < n) && pos <= s.length; ) {
    const m = execRegexp(re, s, pos, charge);
    if (!m) break;
    const [start = 0, end = 0] = m;
    let accept = true;
    if (end === pos) {
      if (start === prevEnd) accept = false; // an empty match abutting the previous one
      pos += pos < s.length ? runeWidth(s, pos) : 1;
    } else {
      pos = end;
    }
    prevEnd = end;
    if (accept) out.push(m);
  }
  return out;
}

/** Go's ReplaceAllString / ReplaceAllLiteralString; results longer than `limit` are refused. */
export function replaceAll(re: Regexp, src: string, repl: string, literal: boolean, charge: Charge, limit: number): string {
  let out = "";
  let lastEnd = 0;
  for (let search = 0; search <= src.length; ) {
    const m = execRegexp(re, src, search, charge);
    if (!m) break;
    const [start = 0, end = 0] = m;
    out += src.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += literal ? repl : expand(re, repl, src, m);
    if (out.length > limit) throw new FuncError(`result exceeds ${limit} bytes`);
    lastEnd = end;
    const width = search < src.length ? runeWidth(src, search) : 1;
    search = search + width > end ? search + width : end;
  }
  return out + src.slice(lastEnd);
}

/** Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
export function expand(re: Regexp, template: string, src: string, m: number[]): string {
  let out = "";
  let t = template;
  for (let i = t.indexOf("$"); i >= 0; i = t.indexOf("$")) {
    out += t.slice(0, i);
    t = t.slice(i + 1);
    if (t[0] === "$") {
      out += "$";
      t = t.slice(1);
      continue;
    }
    const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(t);
    if (!ref) {
      out += "$"; // malformed: the $ is kept as text
      continue;
    }
    t = t.slice(ref[0].length);
    const name = ref[1] ?? ref[2] ?? "";
    const num = /^(0|[1-9]\d{0,7})$/.test(name) ? Number(name) : -1;
    const group = num >= 0 ? num : re.names.indexOf(name);
    const a = m[2 * group] ?? -1;
    if (group >= 0 && a >= 0) out += src.slice(a, m[2 * group + 1]);
  }
  return out + t;
}

/** Go's Regexp.Split. */
export function split(re: Regexp, s: string, n: number, charge: Charge): string[] {
  if (n === 0) return [];
  if (re.source.length > 0 && s.length === 0) return [""];
  const parts: string[] = [];
  let beg = 0;
  let end = 0;
  for (const [a = 0, b = 0] of findAll(re, s, n, charge)) {
    if (n > 0 && parts.length === n - 1) break;
    end = a;
    if (b !== 0) parts.push(s.slice(beg, end));
    beg = b;
  }
  if (end !== s.length) parts.push(s.slice(beg));
  return parts;
}

/** Go's QuoteMeta: escapes the regex metacharacters. */
export const quoteMeta = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
