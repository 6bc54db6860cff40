/** Go text/template's predefined functions, and printf's verbs, flags and error notes. */
import { describe } from "bun:test";
import { fails, renders } from "./support.ts";

describe("len, index, slice", () => {
  renders([
    ["len of a list", "{{ len .l }}", { l: [1, 2, 3] }, "3"],
    ["len of a map", "{{ len .m }}", { m: { a: 1, b: 2 } }, "2"],
    ["len of a string counts UTF-8 bytes", '{{ len "héllo" }}', {}, "6"],
    ["index a list", "{{ index .l 1 }}", { l: ["a", "b"] }, "b"],
    ["index through levels", '{{ index .m "a" 1 "b" }}', { m: { a: [0, { b: "deep" }] } }, "deep"],
    ["index a string gives a byte", '{{ index "abc" 1 }}', {}, "98"],
    ["index a missing map key gives nil", '[{{ index .m "x" }}]', { m: {} }, "[]"],
    ["index with no keys is the value", "{{ index .l }}", { l: [1] }, "[1]"],
    ["slice a list", "{{ slice .l 1 3 }}", { l: [1, 2, 3, 4] }, "[2 3]"],
    ["slice from", "{{ slice .l 2 }}", { l: [1, 2, 3, 4] }, "[3 4]"],
    ["slice with three indexes", "{{ slice .l 0 2 3 }}", { l: [1, 2, 3, 4] }, "[1 2]"],
    ["slice a string on bytes", '{{ slice "hello" 1 4 }}', {}, "ell"],
    ["slice with no indexes", "{{ slice .l }}", { l: [1] }, "[1]"],
  ]);
  fails([
    ["slice bounds reversed", "{{ slice .l 2 1 }}", { l: [1, 2, 3] }, "error calling slice: invalid slice index: 2 > 1"],
    ["slice past the end", "{{ slice .l 0 9 }}", { l: [1] }, "error calling slice: index out of range: 9"],
    ["three indexes on a string", '{{ slice "abc" 0 1 2 }}', {}, "cannot 3-index slice a string"],
    ["slice a map", "{{ slice .m 0 }}", { m: {} }, "can't slice item of type map[string]interface {}"],
    ["slice nil", "{{ slice .n 0 }}", { n: null }, "slice of untyped nil"],
  ]);
});

describe("print, println", () => {
  renders([
    ["print adds spaces between non-strings", "{{ print 1 2 }}", {}, "1 2"],
    ["print joins strings", '{{ print "a" "b" }}', {}, "ab"],
    ["print mixes", '{{ print "a" 1 2 "b" 3 }}', {}, "a1 2b3"],
    ["print of nil", "{{ print nil }}", {}, "<nil>"],
    ["println spaces everything and ends the line", '{{ println 1 "a" }}', {}, "1 a\n"],
  ]);
});

describe("comparisons", () => {
  renders([
    ["eq ints", "{{ eq 1 1 }} {{ eq 1 2 }}", {}, "true false"],
    ["eq against several", "{{ eq 3 1 2 3 }}", {}, "true"],
    ["eq strings", '{{ eq .s "a" }}', { s: "a" }, "true"],
    ["eq floats", "{{ eq 1.5 1.5 }}", {}, "true"],
    ["eq bools", "{{ eq true false }}", {}, "false"],
    ["eq nil and a value is false", '{{ eq .n "x" }}', { n: null }, "false"],
    ["eq nil and nil", "{{ eq .n .m }}", { n: null, m: null }, "true"],
    ["eq on a list and nil", "{{ eq .l .n }}", { l: [1], n: null }, "false"],
    ["ne", "{{ ne 1 2 }} {{ ne .s \"a\" }}", { s: "a" }, "true false"],
    ["lt le gt ge on ints", "{{ lt 1 2 }}{{ le 2 2 }}{{ gt 1 2 }}{{ ge 2 3 }}", {}, "truetruefalsefalse"],
    ["lt on floats", "{{ lt 1.5 2.5 }}", {}, "true"],
    ["lt on strings", '{{ lt "abc" "abd" }}', {}, "true"],
    ["comparisons in if", '{{ if gt (len .l) 1 }}many{{ end }}', { l: [1, 2] }, "many"],
  ]);
  fails([
    ["eq int and string", '{{ eq 1 "1" }}', {}, "error calling eq: incompatible types for comparison"],
    ["eq int and float, like Go", "{{ eq 1 1.0 }}", {}, "error calling eq: incompatible types for comparison"],
    ["eq with one argument", "{{ eq 1 }}", {}, "error calling eq: missing argument for comparison"],
    ["eq on lists", "{{ eq .l .l }}", { l: [1] }, "error calling eq: non-comparable type [1]: []interface {}"],
    ["lt on lists", "{{ lt .l .l }}", { l: [1] }, "error calling lt: invalid type for comparison"],
    ["lt on bools", "{{ lt true false }}", {}, "error calling lt: invalid type for comparison"],
    ["lt int and string", '{{ lt 1 "a" }}', {}, "error calling lt: incompatible types for comparison"],
  ]);
});

describe("html, js, urlquery", () => {
  renders([
    ["html", `{{ html "<a href='x'>&\\"" }}`, {}, "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"],
    ["html of several values", "{{ html 1 2 }}", {}, "1 2"],
    ["js", `{{ js "it's <b> \\"q\\" = \\\\ \\n" }}`, {}, "it\\'s \\u003Cb\\u003E \\\"q\\\" \\u003D \\\\ \\u000A"],
    ["urlquery", '{{ urlquery "a b&c=d/é~" }}', {}, "a+b%26c%3Dd%2F%C3%A9~"],
    ["urlquery as a pipeline stage", '{{ "x y" | urlquery }}', {}, "x+y"],
  ]);
});

describe("printf", () => {
  const pf = (format: string, args: string, want: string): [string, string, Record<string, unknown>, string] => [
    `${format} ${args}`.trim(),
    `{{ printf ${JSON.stringify(format)} ${args} }}`,
    { l: [1, "a", null], m: { b: 2, a: 1 }, n: null, i: 86400, f: 1.5 },
    want,
  ];
  renders([
    pf("%s", '"x"', "x"),
    pf("%v", '"x"', "x"),
    pf("%d", "42", "42"),
    pf("%d", ".i", "86400"),
    pf("%5d|", "42", "   42|"),
    pf("%-5d|", "42", "42   |"),
    pf("%05d", "42", "00042"),
    pf("%05d", "-42", "-0042"),
    pf("%+d", "5", "+5"),
    pf("% d", "5", " 5"),
    pf("%.3d", "7", "007"),
    pf("%x", "255", "ff"),
    pf("%X", "255", "FF"),
    pf("%#x", "255", "0xff"),
    pf("%x", "-255", "-ff"),
    pf("%o", "8", "10"),
    pf("%#o", "8", "010"),
    pf("%O", "8", "0o10"),
    pf("%b", "5", "101"),
    pf("%c", "65", "A"),
    pf("%q", "65", "'A'"),
    pf("%U", "65", "U+0041"),
    pf("%#U", "233", "U+00E9 'é'"),
    pf("%q", '"a\\"b\\n"', '"a\\"b\\n"'),
    pf("%q", '"é\\x01"', '"é\\x01"'),
    pf("%+q", '"é"', '"\\u00e9"'),
    pf("%#q", '"a b"', "`a b`"),
    pf("%t", "true", "true"),
    pf("%v", ".l", "[1 a <nil>]"),
    pf("%v", ".m", "map[a:1 b:2]"),
    pf("%d", ".l", "[1 %!d(string=a) %!d(<nil>)]"),
    pf("%s", ".m", "map[a:%!s(int=1) b:%!s(int=2)]"),
    pf("%q", '(list "a" "b")', '["a" "b"]'),
    pf("%f", "3.14159", "3.141590"),
    pf("%.2f", "3.14159", "3.14"),
    pf("%8.3f|", "3.14159", "   3.142|"),
    pf("%-8.2f|", "3.14159", "3.14    |"),
    pf("%08.2f", "-1.5", "-0001.50"),
    pf("%+.1f", "2.0", "+2.0"),
    pf("%.0f", "2.4", "2"),
    pf("%e", "1234.5678", "1.234568e+03"),
    pf("%E", "0.000123", "1.230000E-04"),
    pf("%.2e", "1234.5678", "1.23e+03"),
    pf("%g", "1234.5678", "1234.5678"),
    pf("%g", "1e21", "1e+21"),
    pf("%g", "100000.0", "100000"),
    pf("%g", "1000000.0", "1e+06"),
    pf("%.3g", "1234.5678", "1.23e+03"),
    pf("%.3g", "1.5", "1.5"),
    pf("%.3g", "100.0", "100"),
    pf("%G", "1e-7", "1E-07"),
    pf("%v", ".f", "1.5"),
    pf("%6.2v|", ".f", "   1.5|"),
    pf("%.1f (an int, accepted)", ".i", "86400.0 (an int, accepted)"),
    pf("%5s|%-5s|", '"ab" "cd"', "   ab|cd   |"),
    pf("%05s", '"ab"', "   ab"),
    pf("%.2s", '"abcdef"', "ab"),
    pf("%.2s", '"héllo"', "hé"),
    pf("%x", '"hi"', "6869"),
    pf("%X", '"hi"', "6869"),
    pf("% x", '"hi"', "68 69"),
    pf("%#x", '"hi"', "0x6869"),
    pf("%T %T %T %T %T %T %T", '"s" 1 1.5 true .l .m nil', "string int float64 bool []interface {} map[string]interface {} <nil>"),
    pf("100%%", "", "100%"),
    pf("%*d|", "5 42", "   42|"),
    pf("%-*d|", "5 42", "42   |"),
    pf("%.*f", "2 3.14159", "3.14"),
    pf("%d %d", "1", "1 %!d(MISSING)"),
    pf("%d", "1 2", "1%!(EXTRA int=2)"),
    pf("%d", '1 "x" nil', "1%!(EXTRA string=x, <nil>)"),
    pf("%s", "5", "%!s(int=5)"),
    pf("%d", '"x"', "%!d(string=x)"),
    pf("%d", "1.5", "%!d(float64=1.5)"),
    pf("%t", "1", "%!t(int=1)"),
    pf("%s", "nil", "%!s(<nil>)"),
    pf("%v", "nil", "<nil>"),
    pf("%z", "1", "%!z(int=1)"),
    pf("abc%", "", "abc%!(NOVERB)"),
    pf("%2000000d", "1", "%!(BADWIDTH)1"),
    pf("%v|%v", "(float64 3) 3", "3|3"),
  ]);
});
