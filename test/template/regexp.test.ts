/**
 * The regex functions and their linear-time engine: Go's (RE2) syntax and match semantics, the
 * examples from Go's regexp documentation, and patterns that would hang a backtracking engine.
 */
import { describe, expect, test } from "bun:test";
import { compileRegexp, execRegexp, findAll } from "../../daemon/template/regexp.ts";
import { fails, render, renders } from "./support.ts";

describe("regexMatch", () => {
  renders([
    ["a match", '{{ regexMatch "^[a-z]+$" "abc" }}', {}, "true"],
    ["no match", '{{ regexMatch "^[a-z]+$" "abc1" }}', {}, "false"],
    ["unanchored", '{{ regexMatch "a(arch|rm)" "aarch64" }} {{ regexMatch "a(arch|rm)" "x86_64" }}', {}, "true false"],
    ["a bad pattern is no match", '{{ regexMatch "(" "x" }}', {}, "false"],
    ["case-insensitive flag", '{{ regexMatch "(?i)^HELLO$" "hello" }}', {}, "true"],
    ["^ is the text start without (?m)", '{{ regexMatch "^b" "a\\nb" }} {{ regexMatch "(?m)^b" "a\\nb" }}', {}, "false true"],
    ["$ is the text end without (?m), as in RE2", '{{ regexMatch "a$" "a\\n" }} {{ regexMatch "(?m)a$" "a\\n" }}', {}, "false true"],
    [". skips newlines unless (?s)", '{{ regexMatch "a.b" "a\\nb" }} {{ regexMatch "(?s)a.b" "a\\nb" }}', {}, "false true"],
    ["Perl classes", '{{ regexMatch "^\\\\d+\\\\s\\\\w+$" "42 abc_1" }}', {}, "true"],
    ["POSIX classes", '{{ regexMatch "^[[:digit:][:upper:]]+$" "A1B2" }}', {}, "true"],
    ["negated class", '{{ regexMatch "^[^a-c]+$" "xyz" }} {{ regexMatch "^[^a-c]+$" "xbz" }}', {}, "true false"],
    ["word boundary", '{{ regexMatch "\\\\bfoo\\\\b" "a foo b" }} {{ regexMatch "\\\\bfoo\\\\b" "afoob" }}', {}, "true false"],
    ["counted repetition", '{{ regexMatch "^a{2,3}$" "aaa" }} {{ regexMatch "^a{2,3}$" "aaaa" }} {{ regexMatch "^a{2}$" "aa" }}', {}, "true false true"],
    ["a literal brace", '{{ regexMatch "^a{x}$" "a{x}" }}', {}, "true"],
    ["Unicode classes", '{{ regexMatch "^\\\\pL+$" "héllo" }} {{ regexMatch "^\\\\p{Greek}+$" "αβγ" }}', {}, "true true"],
    ["quoted text", '{{ regexMatch "^\\\\Q1.5+2\\\\E$" "1.5+2" }}', {}, "true"],
    ["case-insensitive classes", '{{ regexMatch "(?i)^[a-c]+$" "AbC" }}', {}, "true"],
    ["scoped flags", '{{ regexMatch "^(?i:a)b$" "Ab" }} {{ regexMatch "^(?i:a)b$" "AB" }}', {}, "true false"],
    ["escapes", '{{ regexMatch "^\\\\x41\\\\x{42}\\\\t$" "AB\\t" }}', {}, "true"],
  ]);
});

describe("regexFind and regexFindAll", () => {
  renders([
    ["leftmost first", '{{ regexFind "[0-9]+" "abc123def456" }}', {}, "123"],
    ["no match is empty", '[{{ regexFind "z" "abc" }}]', {}, "[]"],
    ["all", '{{ regexFindAll "[0-9]+" "abc123def456" -1 }}', {}, "[123 456]"],
    ["at most n", '{{ regexFindAll "[0-9]+" "1 2 3" 2 }}', {}, "[1 2]"],
    ["empty matches", '{{ len (regexFindAll "" "abc" -1) }}', {}, "4"],
    ["lazy", '{{ regexFind "a.*?b" "aXbYb" }} {{ regexFind "a.*b" "aXbYb" }}', {}, "aXb aXbYb"],
    ["alternation prefers the first", '{{ regexFind "a|ab" "ab" }}', {}, "a"],
    ["astral characters are one rune", '{{ regexFindAll "." "a😀b" -1 }}', {}, "[a 😀 b]"],
  ]);
});

describe("regexReplaceAll, regexReplaceAllLiteral, regexSplit, regexQuoteMeta", () => {
  renders([
    // Go's documentation examples for ReplaceAllString.
    ["${1} expansion", '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', {}, "-W-xxW-"],
    ["$1W names group 1W, which is empty", '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}', {}, "---"],
    ["plain replacement", '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "T" }}', {}, "-T-T-"],
    ["named groups", '{{ regexReplaceAll "(?P<first>\\\\w+) (?P<last>\\\\w+)" "John Smith" "${last}, ${first}" }}', {}, "Smith, John"],
    ["$$ is a dollar", '{{ regexReplaceAll "a" "a" "$$" }}', {}, "$"],
    ["empty matches between runes", '{{ regexReplaceAll "x*" "abc" "-" }}', {}, "-a-b-c-"],
    ["literal replacement", '{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}', {}, "-${1}-${1}-"],
    ["split (Go's example)", '{{ regexSplit "a*" "abaabaccadaaae" 5 }}', {}, "[ b b c cadaaae]"],
    ["split all", '{{ regexSplit "," "a,b,c" -1 }}', {}, "[a b c]"],
    ["split into nothing", '{{ len (regexSplit "," "a,b" 0) }}', {}, "0"],
    ["quote meta", '{{ regexQuoteMeta "1.5+2*[x]" }}', {}, "1\\.5\\+2\\*\\[x\\]"],
    ["MAC to dashes", '{{ regexReplaceAll ":" .mac "-" }}', { mac: "3c:ec:ef:4c:4f:54" }, "3c-ec-ef-4c-4f-54"],
  ]);
});

describe("bad patterns", () => {
  fails([
    ["missing paren", '{{ regexFind "(" "x" }}', {}, 'error calling regexFind: regexp: Compile("("): error parsing regexp: missing closing ): `(`'],
    ["nested repetition", '{{ regexReplaceAll "a**" "x" "y" }}', {}, "invalid nested repetition operator: `**`"],
    ["missing argument", '{{ regexFind "*a" "x" }}', {}, "missing argument to repetition operator: `*`"],
    ["backreference", '{{ regexFind "(a)\\\\1" "aa" }}', {}, "invalid escape sequence: `\\1`"],
    ["lookahead", '{{ regexFind "a(?=b)" "ab" }}', {}, "invalid or unsupported Perl syntax: `(?=`"],
    ["unmatched paren", '{{ regexFind "a)" "a" }}', {}, "unexpected ): `a)`"],
    ["bad class", '{{ regexFind "[z-a]" "a" }}', {}, "invalid character class range: `[z-a`"],
    ["unclosed class", '{{ regexFind "[a" "a" }}', {}, "missing closing ]: `[a`"],
    ["repeat too large", '{{ regexFind "a{1001}" "a" }}', {}, "invalid repeat count: `{1001}`"],
    ["trailing backslash", '{{ regexFind "a\\\\" "a" }}', {}, "trailing backslash at end of expression"],
    ["program too large", '{{ regexFind "((a{1000}){1000}){1000}" "a" }}', {}, "expression too large"],
  ]);
});

describe("the engine is linear", () => {
  test("nested quantifiers on a long near-match finish quickly", () => {
    const started = performance.now();
    expect(render('{{ regexMatch "^(a+)+$" .s }}', { s: "a".repeat(5000) + "b" })).toBe("false");
    expect(render('{{ regexMatch "^(a|aa)*c$" .s }}', { s: "a".repeat(5000) })).toBe("false");
    expect(render('{{ regexMatch "(x+x+)+y" .s }}', { s: "x".repeat(3000) })).toBe("false");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("work is charged to the render's budget", () => {
    const s = "a".repeat(200_000);
    const out = render('{{ len (regexFindAll "(a|b|c|d|e|f)*z" .s -1) }}', { s }, {});
    expect(out).toBe("0");
  });

  test("captures of the leftmost-first match", () => {
    const re = compileRegexp("(a+)(b*)");
    if (typeof re === "string") throw new Error(re);
    expect(execRegexp(re, "xxaabbb", 0, () => {})).toEqual([2, 7, 2, 4, 4, 7]);
    expect(findAll(re, "ab-aab", -1, () => {}).map((m) => m.slice(0, 2))).toEqual([
      [0, 2],
      [3, 6],
    ]);
  });
});
