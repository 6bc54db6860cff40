/**
 * Evaluation: field access with missingkey=error, truth, printing, and located execution
 * errors worded as Go words them.
 */
import { describe, expect, test } from "bun:test";
import { renderTemplate } from "../../daemon/template/index.ts";
import { fails, render, renderError, renders } from "./support.ts";

describe("fields", () => {
  renders([
    ["a top-level key", "{{ .device_1 }}", { device_1: "3c:ec:ef:4c:4f:54" }, "3c:ec:ef:4c:4f:54"],
    ["a chain", "{{ .hardware.spec.metadata.instance.id }}", { hardware: { spec: { metadata: { instance: { id: "i-1" } } } } }, "i-1"],
    ["dot itself", "{{ . }}", { a: 1 }, "map[a:1]"],
    ["a key with a dash through index", '{{ index . "my-key" }}', { "my-key": "v" }, "v"],
    ["a JavaScript Map", "{{ .m.k }} {{ range $k, $v := .m }}{{ $k }}{{ end }}", { m: new Map([["k", 1], ["a", 2]]) }, "1 ak"],
    ["Map keys sort numerically", "{{ range $k, $v := .m }}{{ $k }}:{{ $v }} {{ end }}", { m: new Map([[10, "a"], [9, "b"]]) }, "9:b 10:a "],
    ["an own __proto__ key", "{{ .__proto__ }}", JSON.parse('{"__proto__": 5}'), "5"],
    ["legacy Hardware disks", "{{ index .Hardware.Disks 0 }}", { Hardware: { Disks: ["/dev/sda", "/dev/sdb"] } }, "/dev/sda"],
  ]);

  test("inherited object properties are not fields", () => {
    expect(renderError("{{ .constructor }}").message).toContain('map has no entry for key "constructor"');
    expect(renderError("{{ .toString }}").message).toContain('map has no entry for key "toString"');
  });
});

describe("truth", () => {
  const truth = (value: unknown): string => render("{{ if .v }}T{{ else }}F{{ end }}", { v: value });
  test.each([
    [false, "F"],
    [true, "T"],
    [0, "F"],
    [1, "T"],
    [-1, "T"],
    [0.5, "T"],
    ["", "F"],
    ["0", "T"],
    [[], "F"],
    [[0], "T"],
    [{}, "F"],
    [{ a: 0 }, "T"],
    [null, "F"],
    [new Map(), "F"],
  ])("%p is %s", (value, want) => expect(truth(value)).toBe(want));

  renders([
    ["a float zero literal", "{{ if 0.0 }}T{{ else }}F{{ end }}", {}, "F"],
    ["not", "{{ not .a }} {{ not .b }}", { a: 0, b: "x" }, "true false"],
    ["and returns the first false value", "{{ and 1 0 2 }}", {}, "0"],
    ["and returns the last value", "{{ and 1 2 }}", {}, "2"],
    ["or returns the first true value", '{{ or 0 "" "x" }}', {}, "x"],
    ["or returns the last value", '{{ or 0 "" }}', {}, ""],
    ["and short-circuits", '{{ and false (fail "not evaluated") }}', {}, "false"],
    ["or short-circuits", '{{ or true (fail "not evaluated") }}', {}, "true"],
    ["and takes a piped value last", "{{ 0 | and 1 }}", {}, "0"],
  ]);
});

describe("printing", () => {
  renders([
    ["an int", "{{ .n }}", { n: 86400 }, "86400"],
    ["a float", "{{ .n }}", { n: 1.25 }, "1.25"],
    ["a negative float", "{{ .n }}", { n: -0.001 }, "-0.001"],
    ["a large int stays digits", "{{ .n }}", { n: 12345678901 }, "12345678901"],
    ["a bool", "{{ .b }}", { b: false }, "false"],
    ["a list", "{{ .l }}", { l: ["a", 1, true] }, "[a 1 true]"],
    ["nil inside a list", "{{ .l }}", { l: [null, "x"] }, "[<nil> x]"],
    ["a nested map with sorted keys", "{{ .m }}", { m: { b: [1, 2], a: { y: 1, x: "s" } } }, "map[a:map[x:s y:1] b:[1 2]]"],
    ["an empty list and map", "{{ .l }} {{ .m }}", { l: [], m: {} }, "[] map[]"],
    // Go prints "<no value>" for a nil; a rendered YAML should not carry that text.
    ["nil prints as nothing", "[{{ .n }}]", { n: null }, "[]"],
    ["undefined counts as nil", "[{{ .n }}]", { n: undefined }, "[]"],
    ["a Date becomes RFC 3339 text", "{{ .d }}", { d: new Date("2024-01-02T03:04:05Z") }, "2024-01-02T03:04:05.000Z"],
  ]);
});

describe("the caller's data", () => {
  test("is never modified", () => {
    const hardware = { spec: { disks: [{ device: "/dev/sda" }] } };
    const data = { hardware };
    const out = render('{{ $_ := set .hardware "x" 1 }}{{ $_ := unset .hardware "spec" }}{{ .hardware }}', data);
    expect(out).toBe("map[x:1]");
    expect(data).toEqual({ hardware: { spec: { disks: [{ device: "/dev/sda" }] } } });
  });

  test("bigints are ints", () => {
    expect(render("{{ add .n 1 }}", { n: 41n })).toBe("42");
  });

  test("functions in data are refused, not thrown", () => {
    const out = renderTemplate("x", { f: () => 1 });
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.message).toBe("template: template: unusable data: unsupported function value in template data");
  });

  test("cyclic data is refused, not thrown", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    const out = renderTemplate("x", a);
    expect(out.ok ? "" : out.error.message).toContain("nested deeper than");
  });
});

describe("execution errors, located as Go locates them", () => {
  test("a missing key names the key and the place", () => {
    // Go counts columns from 0 in bytes ("t:1:2"); Wisp counts from 1, like editors.
    expect(renderError("{{.device_2}}", { device_1: "x" })).toEqual({
      message: 'template: t:1:3: executing "t" at <.device_2>: map has no entry for key "device_2"',
      line: 1,
      column: 3,
    });
  });

  test("the line and column of a later action", () => {
    const e = renderError("a: 1\nb:\n  c: {{ .nope }}\n");
    expect([e.line, e.column]).toEqual([3, 9]);
    expect(e.message).toStartWith("template: t:3:9: ");
  });

  test("an error inside a define names that template", () => {
    const e = renderError('{{ define "d" }}\n  {{ .nope }}{{ end }}{{ template "d" . }}');
    expect(e.message).toBe('template: t:2:6: executing "d" at <.nope>: map has no entry for key "nope"');
  });

  test("long contexts are cut at 20 characters, as Go cuts them", () => {
    expect(renderError("{{ printf \"%s\" .aVeryLongFieldName.x }}").message).toContain("at <.aVeryLongFieldName....>");
    expect(renderError('{{ fail "boom" | printf "%s and more" }}').message).toContain('at <fail "boom">: error calling fail: boom');
    expect(renderError('{{ index (list 1 2 3 4 5 6 7) 99 }}').message).toContain("at <index (list 1 2 3 4 ...>");
  });

  fails([
    ["a missing key deep in a chain", "{{ .a.b.c }}", { a: { b: {} } }, 'map has no entry for key "c"'],
    ["a field of nil", "{{ .a.b }}", { a: null }, "nil pointer evaluating interface {}.b"],
    ["a field of a string", "{{ .a.b }}", { a: "s" }, "can't evaluate field b in type string"],
    ["a field of a list", "{{ .l.x }}", { l: [] }, "can't evaluate field x in type []interface {}"],
    ["a field of a number", "{{ $x := 1 }}{{ $x.y }}", {}, "can't evaluate field y in type int"],
    ["index past the end", "{{ index .l 5 }}", { l: [1] }, "error calling index: index out of range: 5"],
    ["index of a missing key", "{{ index .missing 0 }}", {}, 'map has no entry for key "missing"'],
    ["index of nil", "{{ index .n 0 }}", { n: null }, "error calling index: index of untyped nil"],
    ["index of nil inside", "{{ index .m \"a\" \"b\" }}", { m: { a: null } }, "error calling index: index of nil pointer"],
    ["index a map with an int", "{{ index .m 1 }}", { m: {} }, "error calling index: value has type int; should be string"],
    ["index a list with a string", '{{ index .l "a" }}', { l: [1] }, "cannot index slice/array with type string"],
    ["len of an int", "{{ len 3 }}", {}, "error calling len: len of type int"],
    ["an undefined template", '{{ template "nope" }}', {}, 'template "nope" not defined'],
    ["a string function given an int", "{{ upper 5 }}", {}, "wrong type for value; expected string; got int"],
    ["an int parameter given a string", '{{ repeat "3" "a" }}', {}, "wrong type for value; expected int; got string"],
    ["an int parameter given nil", '{{ repeat nil "a" }}', {}, "cannot assign nil to int"],
    ["a piped value of the wrong type", '{{ 5 | upper }}', {}, "wrong type for value; expected string; got int"],
    ["too few arguments", "{{ upper }}", {}, "wrong number of args for upper: want 1 got 0"],
    ["too many arguments", '{{ upper "a" "b" }}', {}, "wrong number of args for upper: want 1 got 2"],
    ["too few for a variadic", "{{ printf }}", {}, "wrong number of args for printf: want at least 1 got 0"],
    ["arguments to a field", "{{ .x 1 }}", { x: 1 }, "x is not a method but has arguments"],
    ["arguments to a literal", "{{ 1 2 }}", {}, "can't give argument to non-function 1"],
    ["arguments to a variable", "{{ $x := 1 }}{{ $x 2 }}", {}, "can't give argument to non-function $x"],
    ["a pipe into a field", "{{ 1 | .x }}", { x: 1 }, "x is not a method but has arguments"],
    ["nil as a command", "{{ nil }}", {}, "nil is not a command"],
    ["fields of an explicit nil", "{{ (nil).x }}", {}, "nil is not a command"],
    ["an unset variable assigned", "{{ if false }}{{ $x := 1 }}{{ else }}{{ $x = 2 }}{{ end }}", {}, "undefined variable: $x"],
    ["range over a float", "{{ range 1.5 }}{{ end }}", {}, "range can't iterate over 1.5"],
    ["range over a string", '{{ range "abc" }}{{ end }}', {}, "range can't iterate over abc"],
    ["two variables over an int", "{{ range $i, $v := 3 }}{{ end }}", {}, "can't use 3 to iterate over more than one variable"],
    ["a function's error", '{{ fail "boom" }}', {}, "error calling fail: boom"],
    ["required", '{{ required "device_1 is required" .d }}', { d: "" }, "error calling required: device_1 is required"],
    ["call", "{{ call .f }}", { f: 1 }, "error calling call: call is not supported"],
  ]);
});
