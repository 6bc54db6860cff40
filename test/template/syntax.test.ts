/**
 * Lexing and parsing: every construct of Go text/template, and the parse errors Go reports,
 * with their positions.
 */
import { describe, expect, test } from "bun:test";
import { checkTemplate } from "../../daemon/template/index.ts";
import { checkError, render, renders } from "./support.ts";

describe("text and actions", () => {
  renders([
    ["plain text", "hello, world", {}, "hello, world"],
    ["empty template", "", {}, ""],
    ["an action", "a{{.x}}b", { x: 1 }, "a1b"],
    ["unicode text and values", "héllo {{ .x }} ✓", { x: "wörld" }, "héllo wörld ✓"],
    ["newlines inside an action", "{{\n  .x\n}}", { x: 1 }, "1"],
    ["adjacent actions", "{{.a}}{{.b}}", { a: 1, b: 2 }, "12"],
    ["braces that are not delimiters", "{ x } {{ .x }} }}", { x: 1 }, "{ x } 1 }}"],
  ]);
});

describe("trim markers", () => {
  renders([
    ["left trim eats spaces and newlines", "a  \n\t {{- .x }}", { x: 1 }, "a1"],
    ["right trim", "{{ .x -}} \n\t b", { x: 1 }, "1b"],
    ["both sides", "a \n{{- .x -}}\n b", { x: 1 }, "a1b"],
    ["only whitespace is trimmed", "a.{{- .x -}}.b", { x: 1 }, "a.1.b"],
    ["carriage returns are whitespace", "a\r\n{{- .x -}}\r\nb", { x: 1 }, "a1b"],
    ["a minus without a space is a number", "{{-3}}", {}, "-3"],
    ["trim around a negative number", "a {{- -3 -}} b", {}, "a-3b"],
    ["trim around control words", "<\n{{- if true -}}\n  x\n{{- end -}}\n>", {}, "<x>"],
    ["trim keeps text of other lines", "a\n\n  {{- .x }}\n  b", { x: 1 }, "a1\n  b"],
  ]);
});

describe("comments", () => {
  renders([
    ["a comment", "a{{/* c */}}b", {}, "ab"],
    ["a comment over lines", "a{{/* line 1\nline 2 */}}b", {}, "ab"],
    ["a trimmed comment", "a \n{{- /* c */ -}}\n b", {}, "ab"],
    ["delimiters inside a comment", "a{{/* {{ .nope }} */}}b", {}, "ab"],
  ]);
});

describe("literals", () => {
  renders([
    ["int", "{{ 42 }}", {}, "42"],
    ["negative int", "{{ -7 }}", {}, "-7"],
    ["signed int", "{{ +7 }}", {}, "7"],
    ["hex", "{{ 0x1F }}", {}, "31"],
    ["octal with 0o", "{{ 0o17 }}", {}, "15"],
    ["octal with a leading zero", "{{ 0755 }}", {}, "493"],
    ["binary", "{{ 0b101 }}", {}, "5"],
    ["underscores", "{{ 1_000_000 }}", {}, "1000000"],
    ["float", "{{ 1.5 }}", {}, "1.5"],
    ["integral float prints as Go prints float64", "{{ 1.0 }}", {}, "1"],
    ["exponent", "{{ 1e3 }}", {}, "1000"],
    ["large float uses %g exponent form", "{{ 1e6 }}", {}, "1e+06"],
    ["leading point", "{{ .5 }}", {}, "0.5"],
    ["small float", "{{ 2.5e-5 }}", {}, "2.5e-05"],
    ["many digits", "{{ 123456789.0 }}", {}, "1.23456789e+08"],
    ["hex float", "{{ 0x1p-2 }}", {}, "0.25"],
    ["char constant is its code point", "{{ 'a' }}", {}, "97"],
    ["escaped char", "{{ '\\n' }}", {}, "10"],
    ["unicode char", "{{ 'é' }}", {}, "233"],
    ["unicode escape char", "{{ '\\u00e9' }}", {}, "233"],
    ["string with escapes", '{{ "a\\tb\\n" }}', {}, "a\tb\n"],
    ["string with \\u", '{{ "\\u00e9\\U0001F600" }}', {}, "é😀"],
    ["string with \\x and octal bytes", '{{ "\\x41\\101\\xc3\\xa9" }}', {}, "AAé"],
    ["string with an escaped quote", '{{ "q\\"q" }}', {}, 'q"q'],
    ["raw string keeps backslashes", "{{ `a\\nb` }}", {}, "a\\nb"],
    ["raw string over lines", "{{ `a\nb` }}", {}, "a\nb"],
    ["raw string drops carriage returns", "{{ `a\r\nb` }}", {}, "a\nb"],
    ["true", "{{ true }}", {}, "true"],
    ["false", "{{ false }}", {}, "false"],
    ["delimiters in a string", '{{ "{{" }}x{{ "}}" }}', {}, "{{x}}"],
  ]);
});

describe("variables", () => {
  renders([
    ["declare then use", "{{ $x := 5 }}{{ $x }}", {}, "5"],
    ["a declaration prints nothing", "a{{ $x := 5 }}b", {}, "ab"],
    ["assign", "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", {}, "2"],
    ["$ is the data", "{{ with .a }}{{ $.b }}{{ end }}", { a: 1, b: "root" }, "root"],
    ["fields of $", "{{ $.a.b }}", { a: { b: 3 } }, "3"],
    ["fields of a variable", "{{ $h := .hw }}{{ $h.spec.name }}", { hw: { spec: { name: "n1" } } }, "n1"],
    ["an inner declaration shadows until end", "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", {}, "21"],
    ["assignment reaches the outer variable", "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", {}, "2"],
    ["a variable declared in if", "{{ if $v := .a }}{{ $v }}{{ end }}", { a: "A" }, "A"],
    ["a variable declared in with", "{{ with $v := .a }}{{ $v }}={{ . }}{{ end }}", { a: "A" }, "A=A"],
    ["a pipeline into a declaration", '{{ $u := .s | upper }}{{ $u }}', { s: "ab" }, "AB"],
    ["a declaration inside parentheses", "{{ ($x := 3) }}{{ $x }}", {}, "33"],
  ]);

  test("a variable is out of scope after its end", () => {
    expect(checkError("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}").message).toBe('template: t:1:39: undefined variable "$x"');
  });
});

describe("if / else if / else", () => {
  renders([
    ["if true", "{{ if .a }}yes{{ end }}", { a: true }, "yes"],
    ["if false", "{{ if .a }}yes{{ end }}", { a: false }, ""],
    ["else", "{{ if .a }}yes{{ else }}no{{ end }}", { a: 0 }, "no"],
    ["else if chain", "{{ if .a }}A{{ else if .b }}B{{ else if .c }}C{{ else }}D{{ end }}", { a: 0, b: "", c: [1] }, "C"],
    ["else if falls to else", "{{ if .a }}A{{ else if .b }}B{{ else }}D{{ end }}", { a: 0, b: "" }, "D"],
    ["nested if", "{{ if .a }}{{ if .b }}ab{{ else }}a{{ end }}{{ end }}", { a: 1, b: 0 }, "a"],
    ["if keeps dot", "{{ if .a }}{{ .b }}{{ end }}", { a: 1, b: "B" }, "B"],
  ]);
});

describe("with / else with / else", () => {
  renders([
    ["with sets dot", "{{ with .a }}{{ .b }}{{ end }}", { a: { b: 1 } }, "1"],
    ["with skips empty", "{{ with .a }}x{{ end }}", { a: "" }, ""],
    ["with else", "{{ with .a }}x{{ else }}{{ .b }}{{ end }}", { a: [], b: "B" }, "B"],
    ["else with", "{{ with .a }}A{{ else with .b }}B{{ . }}{{ else }}C{{ end }}", { a: 0, b: "b" }, "Bb"],
    ["else with falls to else", "{{ with .a }}A{{ else with .b }}B{{ else }}C{{ end }}", { a: 0, b: null }, "C"],
  ]);
});

describe("range", () => {
  renders([
    ["over a list", "{{ range .l }}[{{ . }}]{{ end }}", { l: ["a", "b"] }, "[a][b]"],
    ["with index and value", "{{ range $i, $v := .l }}{{ $i }}={{ $v }} {{ end }}", { l: ["a", "b"] }, "0=a 1=b "],
    ["with the value only", "{{ range $v := .l }}{{ $v }}{{ end }}", { l: [1, 2] }, "12"],
    ["over a map in sorted key order", "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}", { m: { z: 1, a: 2, m: 3 } }, "a=2;m=3;z=1;"],
    ["map values only", "{{ range .m }}{{ . }}{{ end }}", { m: { b: 2, a: 1 } }, "12"],
    ["else on empty", "{{ range .l }}x{{ else }}empty{{ end }}", { l: [] }, "empty"],
    ["else on nil", "{{ range .l }}x{{ else }}none{{ end }}", { l: null }, "none"],
    ["else on an empty map", "{{ range .m }}x{{ else }}none{{ end }}", { m: {} }, "none"],
    ["over an int (Go 1.22)", "{{ range 3 }}{{ . }}{{ end }}", {}, "012"],
    ["over an int with a variable", "{{ range $i := 3 }}{{ $i }}{{ end }}", {}, "012"],
    ["$ stays the data", "{{ range .l }}{{ $.p }}{{ . }} {{ end }}", { l: [1, 2], p: "#" }, "#1 #2 "],
    ["continue", "{{ range .l }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", { l: [1, 2, 3] }, "13"],
    ["break", "{{ range .l }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}", { l: [1, 2, 3, 4] }, "12"],
    [
      "break leaves only the inner range",
      "{{ range $i := .a }}{{ range $j := $.b }}{{ if eq $j 1 }}{{ break }}{{ end }}{{ $i }}{{ $j }} {{ end }}{{ end }}",
      { a: [0, 1], b: [0, 1, 2] },
      "00 10 ",
    ],
    ["break inside with", "{{ range .l }}{{ with . }}{{ break }}{{ end }}x{{ end }}y", { l: [1, 2] }, "y"],
    ["assigning range form", "{{ $i := 0 }}{{ $v := 0 }}{{ range $i, $v = .l }}{{ end }}{{ $i }}{{ $v }}", { l: ["a", "b"] }, "1b"],
    ["nested ranges", "{{ range .rows }}{{ range . }}{{ . }}{{ end }};{{ end }}", { rows: [[1, 2], [3]] }, "12;3;"],
    ["variables declared in the body are per iteration", "{{ range .l }}{{ $x := . }}{{ $x }}{{ end }}", { l: [1, 2] }, "12"],
  ]);
});

describe("define, template, block", () => {
  renders([
    ["define and call", '{{ define "d" }}T{{ . }}{{ end }}{{ template "d" 1 }}{{ template "d" "x" }}', {}, "T1Tx"],
    ["define after use", '{{ template "d" . }}{{ define "d" }}<{{ .a }}>{{ end }}', { a: 1 }, "<1>"],
    ["a raw-string name", '{{ define `d` }}x{{ end }}{{ template `d` }}', {}, "x"],
    ["template without data gets nil (printed empty)", '{{ define "d" }}[{{ . }}]{{ end }}{{ template "d" }}', {}, "[]"],
    ["block renders in place", '{{ block "b" .x }}<{{ . }}>{{ end }}', { x: 1 }, "<1>"],
    ["block is callable later", '{{ block "b" 1 }}<{{ . }}>{{ end }}{{ template "b" 2 }}', {}, "<1><2>"],
    [
      "recursion",
      '{{ define "r" }}{{ if . }}{{ len . }}{{ template "r" (rest .) }}{{ end }}{{ end }}{{ template "r" .l }}',
      { l: [1, 2, 3] },
      "321",
    ],
    ["only defines and whitespace", '{{ define "d" }}x{{ end }}\n', {}, "\n"],
    ["an empty main body keeps a define of the same name", '{{ define "t" }}x{{ end }}\n', {}, "x"],
    ["$ in a template is its data", '{{ define "d" }}{{ $.v }}{{ end }}{{ template "d" .in }}', { in: { v: "inner" }, v: "outer" }, "inner"],
  ]);

  test("a template does not see the caller's variables", () => {
    expect(checkError('{{ define "d" }}{{ $x }}{{ end }}{{ $x := 1 }}{{ template "d" }}').message).toContain('undefined variable "$x"');
  });

  test("a define may not reuse the main template's name", () => {
    expect(checkError('{{ define "t" }}x{{ end }}body').message).toBe('template: t:1:1: template: multiple definition of template "t"');
  });
});

describe("pipelines, parentheses and chains", () => {
  renders([
    ["a pipeline feeds the last argument", '{{ .s | printf "%s!" }}', { s: "hi" }, "hi!"],
    ["several stages", '{{ .s | upper | printf "<%s>" }}', { s: "hi" }, "<HI>"],
    ["parentheses", "{{ (len .l) }}", { l: [1, 2] }, "2"],
    ["nested parentheses", "{{ add (add 1 2) (add 3 (add 4 0)) }}", {}, "10"],
    ["fields of a parenthesised value", "{{ (index .l 0).name }}", { l: [{ name: "n" }] }, "n"],
    [
      "Tinkerbell's legacy interface access",
      "{{ (index .Hardware.Interfaces 0).DHCP.MAC }}",
      { Hardware: { Interfaces: [{ DHCP: { MAC: "02:aa:ff:00:00:01" } }] } },
      "02:aa:ff:00:00:01",
    ],
    ["a pipeline in parentheses", "{{ (.s | upper) }}", { s: "a" }, "A"],
    ["a niladic function as an argument", "{{ len list }}", {}, "0"],
    ["a function result piped twice", '{{ list 1 2 | len | printf "%d items" }}', {}, "2 items"],
  ]);
});

describe("parse errors, located", () => {
  const cases: [string, string, string][] = [
    ["undefined function", "{{ foo }}", 'template: t:1:4: function "foo" not defined'],
    ["unexpected end", "x{{ end }}", "template: t:1:5: unexpected {{end}}"],
    ["unexpected else", "{{ else }}", "template: t:1:4: unexpected {{else}}"],
    ["missing end", "{{ if .x }}a", "unexpected EOF"],
    ["two elses", "{{ if .x }}a{{ else }}b{{ else }}c{{ end }}", "expected end; found {{else}}"],
    ["undefined variable", "{{ $x }}", 'template: t:1:4: undefined variable "$x"'],
    ["break outside range", "{{ break }}", "{{break}} outside {{range}}"],
    ["continue outside range", "{{ if true }}{{ continue }}{{ end }}", "{{continue}} outside {{range}}"],
    ["break in a range's else", "{{ range .l }}{{ else }}{{ break }}{{ end }}", "{{break}} outside {{range}}"],
    ["literal as a later pipeline stage", "{{ 1 | 2 }}", "non executable command in pipeline stage 2"],
    ["empty action", "{{ }}", "missing value for command"],
    ["if without a condition", "{{ if }}x{{ end }}", "missing value for if"],
    ["unterminated string", '{{ "abc }}', "unterminated quoted string"],
    ["unterminated raw string", "{{ `abc }}", "unterminated raw quoted string"],
    ["bad character constant", "{{ 'ab' }}", "malformed character constant: 'ab'"],
    ["bad number", "{{ 3x }}", 'bad number syntax: "3x"'],
    ["expression without spaces", "{{ 1+2 }}", 'bad number syntax: "1+2"'],
    ["complex number", "{{ 1+2i }}", "complex number 1+2i is not supported"],
    ["integer overflow", "{{ 99999999999999999999 }}", 'integer overflow: "99999999999999999999"'],
    ["field of a literal", '{{ "a".b }}', 'unexpected . after term "\\"a\\""'],
    ["template name not a string", "{{ template .x }}", 'unexpected ".x" in template clause'],
    ["duplicate define", '{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', 'template: multiple definition of template "a"'],
    ["else with without a value", "{{ with .a }}x{{ else with }}y{{ end }}", "missing value for with"],
    ["three range variables", "{{ range $i, $v, $w := .l }}{{ end }}", "too many declarations in range"],
    ["two variables outside range", "{{ $a, $b := 1 }}", "too many declarations in command"],
    ["unclosed paren", "{{ (1 }}", "unclosed left paren"],
    ["stray paren", "{{ 1) }}", "unexpected right paren"],
    ["unclosed action", "{{ .x", "unclosed action"],
    ["single brace close", "{{ .x }", 'unexpected "}" in operand'],
    ["stray character", "{{ # }}", 'unexpected "#" in command'],
    ["control character", "{{ \u0001 }}", "unrecognized character in action: U+0001"],
    ["unclosed comment", "{{/* x", "unclosed comment"],
    ["comment with more after it", "{{/* x */ y }}", "comment ends before closing delimiter"],
    ["define inside an action", '{{ if true }}{{ define "x" }}{{ end }}{{ end }}', "unexpected <define> in command"],
    ["nil piped into", "{{ 1 | nil }}", "non executable command in pipeline stage 2"],
    ["bad escape", '{{ "\\q" }}', "invalid syntax"],
    ["colon without equals", "{{ $x : 1 }}", "expected :="],
    ["bad character after a field", "{{ .x-1 }}", "bad character U+002D '-'"],
  ];
  for (const [name, source, want] of cases) {
    test(name, () => {
      const e = checkError(source);
      expect(e.message).toContain(want);
      expect(e.message).toMatch(/^template: t:\d+:\d+: /);
    });
  }

  test("positions count lines and columns", () => {
    const e = checkError("line one\nline two {{ foo }}");
    expect(e).toEqual({ message: 'template: t:2:13: function "foo" not defined', line: 2, column: 13 });
  });

  test("the name appears in the message", () => {
    const out = checkTemplate("{{ foo }}", { name: "ubuntu-focal" });
    expect(out.ok ? "" : out.error.message).toBe('template: ubuntu-focal:1:4: function "foo" not defined');
  });

  test("checkTemplate does not evaluate", () => {
    expect(checkTemplate('{{ .missing }}{{ template "nowhere" }}{{ fail "x" }}')).toEqual({ ok: true, value: undefined });
  });

  test("every known function name parses", () => {
    for (const fn of ["formatPartition", "netmaskToPrefixLength", "toYaml", "fromYaml", "dig", "regexMatch", "and", "call"]) {
      expect(checkTemplate(`{{ if false }}{{ ${fn} }}{{ end }}`).ok).toBe(true);
    }
  });

  test("a comment may hold anything but its end", () => {
    expect(render("{{/* \" ` ' {{ */}}ok")).toBe("ok");
  });
});
