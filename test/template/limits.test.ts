/**
 * Hostile templates: output beyond the cap, runaway loops, recursion, deep nesting and values
 * that grow exponentially all end in a located error, quickly, without throwing.
 */
import { describe, expect, test } from "bun:test";
import { DEFAULT_MAX_OUTPUT, checkTemplate, renderTemplate } from "../../daemon/template/index.ts";
import { render, renderError } from "./support.ts";

/** Fails the test if `f` takes longer than `ms`. */
function quick<T>(ms: number, f: () => T): T {
  const started = performance.now();
  const out = f();
  expect(performance.now() - started).toBeLessThan(ms);
  return out;
}

describe("output cap", () => {
  test("the default is 256 KiB, as Tinkerbell's", () => {
    expect(DEFAULT_MAX_OUTPUT).toBe(262144);
  });

  test("output over the cap is an error naming the cap", () => {
    const e = renderError("{{ range until 100 }}0123456789{{ end }}", {}, { maxBytes: 500 });
    expect(e.message).toMatch(/^template: t:1:\d+: executing "t" at <.*>: rendered output exceeds 500 bytes$/);
  });

  test("output exactly at the cap is fine", () => {
    expect(render("{{ range until 100 }}0123456789{{ end }}", {}, { maxBytes: 1000 })).toHaveLength(1000);
  });

  test("the cap counts UTF-8 bytes", () => {
    expect(render("ééé", {}, { maxBytes: 6 })).toBe("ééé");
    expect(renderError("ééé", {}, { maxBytes: 5 }).message).toContain("rendered output exceeds 5 bytes");
  });

  test("Tinkerbell's oversized-output case", () => {
    const e = renderError('VALUE: "{{ repeat 300000 "a" }}"', { device_1: "x" });
    expect(e.message).toContain("error calling repeat: result exceeds 262144 bytes");
  });

  test("a default-capped render of many small writes", () => {
    const e = renderError("{{ range until 30000 }}0123456789{{ end }}");
    expect(e.message).toContain("rendered output exceeds 262144 bytes");
  });

  test("an invalid cap is refused", () => {
    expect(renderTemplate("x", {}, { maxBytes: -1 }).ok).toBe(false);
    expect(renderTemplate("x", {}, { maxBytes: Number.NaN }).ok).toBe(false);
  });
});

describe("runaway work", () => {
  test("a huge until is refused before it is built", () => {
    const e = quick(2000, () => renderError("{{ range until 100000000 }}{{ end }}"));
    expect(e.message).toContain("error calling until: execution exceeded");
  });

  test("a long empty loop runs out of budget", () => {
    const e = quick(3000, () => renderError("{{ range until 1000000 }}{{ range until 10 }}{{ end }}{{ end }}"));
    expect(e.message).toContain("steps");
  });

  test("ranging over a huge int runs out of budget", () => {
    const e = quick(3000, () => renderError("{{ range 1000000000 }}{{ end }}"));
    expect(e.message).toContain("execution exceeded");
  });

  test("a string doubling forty times is stopped at the cap", () => {
    const e = quick(2000, () => renderError('{{ $x := "aa" }}{{ range until 40 }}{{ $x = cat $x $x }}{{ end }}'));
    expect(e.message).toContain("result exceeds 262144 bytes");
  });

  test("a list doubling forty times runs out of budget", () => {
    const e = quick(3000, () => renderError("{{ $l := list 1 }}{{ range until 40 }}{{ $l = concat $l $l }}{{ end }}"));
    expect(e.message).toContain("execution exceeded");
  });

  test("replace with an empty pattern cannot blow up", () => {
    const e = quick(2000, () => renderError('{{ $s := repeat 1000 "a" }}{{ replace "" $s $s }}'));
    expect(e.message).toContain("error calling replace: result exceeds");
  });

  test("indent cannot blow up", () => {
    const e = renderError('{{ indent 100000 (repeat 100 "\\n") }}');
    expect(e.message).toContain("error calling indent: result exceeds");
  });

  test("printf widths are bounded", () => {
    expect(render('{{ printf "%2000000d" 1 }}')).toBe("%!(BADWIDTH)1");
    expect(renderError('{{ printf "%999999d" 1 }}').message).toContain("error calling printf: result exceeds");
  });

  test("a regex replacement cannot blow up", () => {
    const e = quick(3000, () => renderError('{{ $s := repeat 100000 "a" }}{{ regexReplaceAll "" $s $s }}'));
    expect(e.message).toContain("exceeds");
  });
});

describe("recursion and nesting", () => {
  test("infinite template recursion stops at the depth limit", () => {
    const e = quick(2000, () => renderError('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}'));
    expect(e.message).toContain('executing "r" at <{{template "r" .}}>: exceeded maximum template depth (200)');
  });

  test("mutual recursion too", () => {
    const e = renderError('{{ define "a" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "a" }}{{ end }}{{ template "a" }}');
    expect(e.message).toContain("exceeded maximum template depth");
  });

  test("bounded recursion works", () => {
    expect(render('{{ define "c" }}{{ if . }}{{ len . }}{{ template "c" (rest .) }}{{ end }}{{ end }}{{ template "c" (until 150) }}')).toHaveLength(
      [...Array(150)].map((_, i) => String(150 - i)).join("").length,
    );
  });

  test("deeply nested control structures are refused", () => {
    const src = "{{ if true }}".repeat(1000) + "{{ end }}".repeat(1000);
    const out = checkTemplate(src);
    expect(out.ok ? "" : out.error.message).toContain("max expression depth exceeded");
  });

  test("deeply nested parentheses are refused", () => {
    const src = "{{ " + "(".repeat(20000) + "1" + ")".repeat(20000) + " }}";
    const out = checkTemplate(src);
    expect(out.ok ? "" : out.error.message).toContain("max expression depth exceeded");
  });

  test("moderate nesting is fine", () => {
    const src = "{{ if true }}".repeat(100) + "x" + "{{ end }}".repeat(100) + "{{ " + "(".repeat(100) + "1" + ")".repeat(100) + " }}";
    expect(render(src)).toBe("x1");
  });

  // `$d = list $d $d` doubles a value at the cost of one call; walking it must be charged.
  const doubled = "{{ $d := list 1 }}{{ $e := list 1 }}{{ range until 200 }}{{ $d = list $d $d }}{{ $e = list $e $e }}{{ end }}";
  test.each([
    ["printing", "{{ $d }}"],
    ["printf", '{{ printf "%v" $d }}'],
    ["toJson", "{{ toJson $d }}"],
    ["toYaml", "{{ toYaml $d }}"],
    ["deepCopy", "{{ $c := deepCopy $d }}"],
    ["has against an equal copy", "{{ has $d (list $e) }}"],
    ["join", '{{ join "," $d }}'],
    ["eq's message", "{{ eq (list 1) $d }}"],
  ])("a value doubled 200 times cannot be walked: %s", (_, use) => {
    const e = quick(3000, () => renderError(doubled + use));
    expect(e.message).toContain("execution exceeded 2000000 steps");
  });

  test("comparing a shared value with itself is cheap, as in Go", () => {
    expect(quick(1000, () => render(doubled + "{{ len (uniq (list $d $d)) }}"))).toBe("1");
  });

  test("deeply nested data built by a template is refused, not thrown", () => {
    const out = renderTemplate('{{ $d := dict }}{{ range until 100000 }}{{ $d = dict "a" $d }}{{ end }}{{ toJson $d }}', {});
    expect(out.ok).toBe(false);
  });
});

describe("inputs that are not what the types say", () => {
  test("a non-string source is an error, not a throw", () => {
    expect(renderTemplate(42 as unknown as string, {}).ok).toBe(false);
    expect(checkTemplate(null as unknown as string).ok).toBe(false);
  });

  test("null data is nil", () => {
    expect(renderTemplate("{{ . }}x", null as unknown as Record<string, unknown>)).toEqual({ ok: true, value: "x" });
  });
});
