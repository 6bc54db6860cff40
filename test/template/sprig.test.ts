/** Sprig's functions as Tinkerbell exposes them: strings, defaults, lists, dicts, numbers, encodings. */
import { describe, expect, test } from "bun:test";
import { fails, render, renders } from "./support.ts";

describe("strings", () => {
  renders([
    ["upper", '{{ upper "hello é" }}', {}, "HELLO É"],
    ["upper keeps runes without a one-rune capital", '{{ upper "ß" }}', {}, "ß"],
    ["lower", '{{ lower "HeLLo" }}', {}, "hello"],
    ["title", '{{ title "hello world-foo bar_baz" }}', {}, "Hello World-Foo Bar_baz"],
    ["trim", '{{ trim "  x y \\n" }}', {}, "x y"],
    ["trim Unicode spaces", '{{ trim "\\u00a0x\\u3000" }}', {}, "x"],
    ["trimAll", '{{ trimAll "$" "$5.00$" }}', {}, "5.00"],
    ["trimAll with a set", '{{ trimAll "-_" "-_x_-" }}', {}, "x"],
    ["trimPrefix", '{{ trimPrefix "/dev/" "/dev/sda" }}', {}, "sda"],
    ["trimSuffix", '{{ trimSuffix ".raw.gz" "img.raw.gz" }}', {}, "img"],
    ["replace", '{{ "filename with spaces" | replace " " "-" }}', {}, "filename-with-spaces"],
    ["replace an empty string", '{{ replace "" "-" "ab" }}', {}, "-a-b-"],
    ["contains (substring first)", '{{ contains "cat" "catch" }} {{ contains "HELLO" "H" }}', {}, "true false"],
    ["hasPrefix", '{{ hasPrefix "/dev/nvme" "/dev/nvme0n1" }}', {}, "true"],
    ["hasSuffix", '{{ hasSuffix "n1" "/dev/nvme0n1" }}', {}, "true"],
    ["split gives _N keys", '{{ $s := split "$" "foo$bar$baz" }}{{ $s._1 }} {{ $s }}', {}, "bar map[_0:foo _1:bar _2:baz]"],
    ["splitn", '{{ splitn "$" 2 "a$b$c" }}', {}, "map[_0:a _1:b$c]"],
    ["splitList", '{{ splitList "," "a,b,,c" }}', {}, "[a b  c]"],
    ["splitList with an empty separator splits runes", '{{ splitList "" "hé" }}', {}, "[h é]"],
    ["join", '{{ join "-" (list 1 "a" nil 2.5) }}', {}, "1-a-2.5"],
    ["join a lone value", '{{ join "-" "x" }}', {}, "x"],
    ["repeat", '{{ repeat 3 "ab" }}', {}, "ababab"],
    ["substr", '{{ substr 1 3 "hello" }}', {}, "el"],
    ["substr from a negative start", '{{ substr -1 2 "hello" }}', {}, "he"],
    ["substr to a negative end", '{{ substr 2 -1 "hello" }}', {}, "llo"],
    ["trunc", '{{ trunc 3 "hello" }}', {}, "hel"],
    ["trunc from the end", '{{ trunc -2 "hello" }}', {}, "lo"],
    ["trunc longer than the string", '{{ trunc 10 "hi" }}', {}, "hi"],
    ["quote", '{{ quote "a" "b\\n" 1 }}', {}, '"a" "b\\n" "1"'],
    ["quote skips nil", "{{ quote .n }}", { n: null }, ""],
    ["squote", '{{ squote "a" 2 }}', {}, "'a' '2'"],
    ["cat", '{{ cat "a" 1 .n "b" }}', { n: null }, "a 1 b"],
    ["indent", '{{ indent 2 "a\\nb" }}', {}, "  a\n  b"],
    ["nindent", '{{ nindent 4 "a" }}', {}, "\n    a"],
    ["nospace", '{{ nospace " a b\\tc " }}', {}, "abc"],
    ["toString", "{{ toString 1.5 }} {{ toString .l }} {{ toString nil }}", { l: [1] }, "1.5 [1] <nil>"],
    ["toStrings", "{{ toStrings (list 1 \"a\" nil) }}", {}, "[1 a]"],
  ]);
  fails([
    ["repeat a negative count", '{{ repeat -1 "a" }}', {}, "error calling repeat: strings: negative Repeat count"],
    ["substr out of range", '{{ substr 4 2 "hello" }}', {}, "error calling substr: slice bounds out of range"],
  ]);
});

describe("defaults and flow", () => {
  renders([
    ["default on empty", '{{ default "d" "" }}', {}, "d"],
    ["default keeps a value", '{{ "x" | default "d" }}', {}, "x"],
    ["default on 0, false, empty list", '{{ default "d" 0 }}{{ default "d" false }}{{ default "d" (list) }}', {}, "ddd"],
    ["default with no value", '{{ default "d" }}', {}, "d"],
    ["default for an optional key via index", '{{ index . "dockerVersion" | default "29.6.2" }}', {}, "29.6.2"],
    ["empty", '{{ empty "" }} {{ empty 0 }} {{ empty (list 1) }} {{ empty (dict) }} {{ empty .n }}', { n: null }, "true true false true true"],
    ["coalesce", '{{ coalesce "" 0 "x" "y" }}', {}, "x"],
    ["coalesce of nothing", '[{{ coalesce "" 0 }}]', {}, "[]"],
    ["all and any", '{{ all 1 "a" }} {{ all 1 "" }} {{ any 0 "" "x" }} {{ any 0 }}', {}, "true false true false"],
    ["ternary", '{{ ternary "a" "b" true }} {{ false | ternary "a" "b" }}', {}, "a b"],
    ["required passes values", '{{ required "need" "x" }}', {}, "x"],
    ["kindOf", '{{ kindOf "a" }} {{ kindOf 1 }} {{ kindOf 1.5 }} {{ kindOf (list) }} {{ kindOf (dict) }} {{ kindOf nil }}', {}, "string int float64 slice map invalid"],
    ["kindIs", '{{ kindIs "slice" (list) }} {{ kindIs "map" "x" }}', {}, "true false"],
    ["typeOf", '{{ typeOf "a" }} {{ typeOf (list) }}', {}, "string []interface {}"],
    ["typeIs", '{{ typeIs "string" "a" }}', {}, "true"],
  ]);
  fails([
    ["required on nil", '{{ required "need a disk" .d }}', { d: null }, "error calling required: need a disk"],
    ["fail", '{{ fail "unsupported architecture" }}', {}, "error calling fail: unsupported architecture"],
  ]);
});

describe("lists", () => {
  renders([
    ["list", '{{ list 1 "a" }}', {}, "[1 a]"],
    ["first last", "{{ first .l }} {{ last .l }}", { l: [1, 2, 3] }, "1 3"],
    ["rest initial", "{{ rest .l }} {{ initial .l }}", { l: [1, 2, 3] }, "[2 3] [1 2]"],
    ["first of empty", "[{{ first .l }}]", { l: [] }, "[]"],
    ["append does not change the list", "{{ append .l 4 }} {{ .l }}", { l: [1] }, "[1 4] [1]"],
    ["push", "{{ push .l 4 }}", { l: [1] }, "[1 4]"],
    ["prepend", "{{ prepend .l 0 }}", { l: [1] }, "[0 1]"],
    ["concat", "{{ concat .a .b (list) }}", { a: [1], b: [2, 3] }, "[1 2 3]"],
    ["uniq", '{{ uniq (list 1 2 1 "a" "a" (list 1) (list 1)) }}', {}, "[1 2 a [1]]"],
    ["has", '{{ has 2 .l }} {{ has "2" .l }} {{ has 1 .n }}', { l: [1, 2], n: null }, "true false false"],
    ["without", "{{ without .l 2 4 }}", { l: [1, 2, 3, 4] }, "[1 3]"],
    ["compact", '{{ compact (list 0 1 "" "a" nil false) }}', {}, "[1 a]"],
    ["reverse", "{{ reverse .l }}", { l: [1, 2, 3] }, "[3 2 1]"],
    ["sortAlpha", '{{ sortAlpha (list "b" "a" "c") }} {{ sortAlpha (list 10 9) }}', {}, "[a b c] [10 9]"],
    ["until", "{{ until 3 }} {{ until -2 }} {{ until 0 }}", {}, "[0 1 2] [0 -1] []"],
    ["untilStep", "{{ untilStep 0 10 3 }} {{ untilStep 5 0 -2 }}", {}, "[0 3 6 9] [5 3 1]"],
    ["seq", "{{ seq 3 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 0 2 10 }}|{{ seq 10 -3 1 }}|{{ seq 0 }}", {}, "1 2 3|2 3 4 5|5 4 3 2|0 2 4 6 8 10|10 7 4 1|1 0"],
    ["range over until", "{{ range $i := until 3 }}disk{{ $i }} {{ end }}", {}, "disk0 disk1 disk2 "],
  ]);
  fails([
    ["first of a string", '{{ first "abc" }}', {}, "error calling first: Cannot find first on type string"],
    ["concat a string", '{{ concat (list 1) "x" }}', {}, "error calling concat: Cannot concat type string as list"],
    ["has in a map", "{{ has 1 .m }}", { m: {} }, "error calling has: Cannot find has on type map"],
  ]);
});

describe("dicts", () => {
  renders([
    ["dict", '{{ dict "b" 2 "a" 1 }}', {}, "map[a:1 b:2]"],
    ["a field of a dict", '{{ (dict "a" 1).a }}', {}, "1"],
    ["dict with an odd count", '{{ dict "a" 1 "b" }}', {}, "map[a:1 b:]"],
    ["dict keys are strings", "{{ dict 1 2 }}", {}, "map[1:2]"],
    ["get", '{{ get (dict "a" 1) "a" }} [{{ get (dict) "x" }}]', {}, "1 []"],
    ["set changes the dict", '{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ $d.k }}', {}, "v"],
    ["set returns the dict", '{{ set (dict "a" 1) "b" 2 }}', {}, "map[a:1 b:2]"],
    ["unset", '{{ unset (dict "a" 1 "b" 2) "a" }}', {}, "map[b:2]"],
    ["hasKey", '{{ hasKey .m "a" }} {{ hasKey .m "z" }}', { m: { a: null } }, "true false"],
    ["keys are sorted", '{{ keys (dict "b" 1 "a" 2) (dict "c" 3) }}', {}, "[a b c]"],
    ["values follow sorted keys", '{{ values (dict "b" 1 "a" 2) }}', {}, "[2 1]"],
    ["pluck", '{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}', {}, "[1 3]"],
    ["pick", '{{ pick (dict "a" 1 "b" 2 "c" 3) "a" "c" }}', {}, "map[a:1 c:3]"],
    ["omit", '{{ omit (dict "a" 1 "b" 2) "a" }}', {}, "map[b:2]"],
    ["dig finds a value", '{{ dig "a" "b" "def" . }}', { a: { b: "found" } }, "found"],
    ["dig gives the default", '{{ dig "a" "x" "def" . }} {{ dig "q" "def" . }}', { a: {} }, "def def"],
    ["merge keeps existing values", '{{ merge (dict "a" 1) (dict "a" 2 "b" 3) }}', {}, "map[a:1 b:3]"],
    ["merge fills empty values", '{{ merge (dict "a" "") (dict "a" "x") }}', {}, "map[a:x]"],
    ["merge goes deep", '{{ merge (dict "n" (dict "x" 1)) (dict "n" (dict "y" 2)) }}', {}, "map[n:map[x:1 y:2]]"],
    ["mergeOverwrite", '{{ mergeOverwrite (dict "a" 1 "c" 5) (dict "a" 2 "b" 3) }}', {}, "map[a:2 b:3 c:5]"],
    ["deepCopy is independent", '{{ $c := deepCopy .m }}{{ $_ := set $c "a" 9 }}{{ .m.a }}{{ $c.a }}', { m: { a: 1 } }, "19"],
  ]);
  fails([
    ["set on nil", '{{ set .n "a" 1 }}', { n: null }, "error calling set: assignment to entry in nil map"],
    ["dig through a string", '{{ dig "a" "b" "def" . }}', { a: "s" }, "error calling dig: interface conversion"],
    ["get on a list", '{{ get .l "a" }}', { l: [] }, "wrong type for value; expected map[string]interface {}; got []interface {}"],
  ]);
});

describe("numbers", () => {
  renders([
    ["add", "{{ add 1 2 3 }}", {}, "6"],
    ["add converts strings and truncates floats", '{{ add "2" 3 1.9 }}', {}, "6"],
    ["add1 sub mul", "{{ add1 5 }} {{ sub 5 7 }} {{ mul 2 3 4 }}", {}, "6 -2 24"],
    ["div and mod truncate toward zero", "{{ div 7 2 }} {{ div -7 2 }} {{ mod 7 3 }} {{ mod -7 3 }}", {}, "3 -3 1 -1"],
    ["max min", "{{ max 1 5 3 }} {{ min 4 2 9 }}", {}, "5 2"],
    ["addf in decimal", "{{ addf 0.1 0.2 }}", {}, "0.3"],
    ["subf mulf divf", "{{ subf 1.5 0.5 }} {{ mulf 1.1 3 }} {{ divf 10 4 }}", {}, "1 3.3 2.5"],
    ["maxf minf", "{{ maxf 1 2.5 }} {{ minf 1 2.5 }}", {}, "2.5 1"],
    ["floor ceil round", "{{ floor 1.7 }} {{ ceil 1.2 }} {{ round 3.14159 2 }} {{ round 2.5 0 }}", {}, "1 2 3.14 3"],
    ["int", '{{ int "42" }} {{ int 3.9 }} {{ int "0x10" }} {{ int "abc" }} {{ int "3.0" }}', {}, "42 3 16 0 3"],
    ["int64 float64", '{{ int64 "12" }} {{ float64 "1.5" }} {{ float64 3 }}', {}, "12 1.5 3"],
    ["atoi", '{{ atoi "12" }} {{ atoi "-3" }} {{ atoi "1.5" }}', {}, "12 -3 0"],
    ["arithmetic on data", "{{ add .lease_time 60 }}", { lease_time: 86400 }, "86460"],
  ]);
  fails([
    ["div by zero", "{{ div 1 0 }}", {}, "error calling div: runtime error: integer divide by zero"],
    ["mod by zero", "{{ mod 1 0 }}", {}, "error calling mod: runtime error: integer divide by zero"],
    ["divf by zero", "{{ divf 1 0 }}", {}, "error calling divf: decimal division by 0"],
  ]);
});

describe("encodings", () => {
  renders([
    ["b64enc", '{{ b64enc "hello é" }}', {}, "aGVsbG8gw6k="],
    ["b64dec", '{{ b64dec "aGVsbG8gw6k=" }}', {}, "hello é"],
    ["b64dec of bad input returns Go's error text", '{{ b64dec "!!" }}', {}, "illegal base64 data at input byte 0"],
    ["toJson sorts keys and escapes HTML", '{{ toJson (dict "b" (list 1 2.5 nil true) "a" "<x&y>") }}', {}, '{"a":"\\u003cx\\u0026y\\u003e","b":[1,2.5,null,true]}'],
    ["toRawJson does not escape HTML", '{{ toRawJson (dict "a" "<x>") }}', {}, '{"a":"<x>"}'],
    ["toPrettyJson", '{{ toPrettyJson (dict "a" (list 1) "b" (dict)) }}', {}, '{\n  "a": [\n    1\n  ],\n  "b": {}\n}'],
    ["toJson of scalars", '{{ toJson nil }} {{ toJson "s\\n" }} {{ toJson 1.0 }} {{ toJson 1e21 }}', {}, 'null "s\\n" 1 1e+21'],
    ["toJson of hardware data", "{{ .hardware.spec | toJson }}", { hardware: { spec: { disks: [{ device: "/dev/sda" }] } } }, '{"disks":[{"device":"/dev/sda"}]}'],
    ["fromJson", '{{ (fromJson .j).a }}', { j: '{"a":[1,2]}' }, "[1 2]"],
    ["fromJson of bad JSON is nil", "[{{ fromJson .j }}]", { j: "{nope" }, "[]"],
  ]);

  test("toJson output reads back as the same data", () => {
    const data = { m: { s: "é\u2028<", n: [1, -2.5, 0, null], t: true, nested: { k: "v" } } };
    expect(JSON.parse(render("{{ toJson .m }}", data))).toEqual(data.m);
  });
});
