/** Helpers shared by the template tests: render or fail, and table-driven cases. */
import { expect, test } from "bun:test";
import type { TemplateError } from "../../daemon/template/index.ts";
import { checkTemplate, renderTemplate } from "../../daemon/template/index.ts";

/** Renders, failing the test with the template's message if rendering fails. */
export function render(source: string, data: Record<string, unknown> = {}, opts: { maxBytes?: number } = {}): string {
  const out = renderTemplate(source, data, { name: "t", ...opts });
  if (!out.ok) throw new Error(`unexpected template error: ${out.error.message}`);
  return out.value;
}

/** The error a render must end with. */
export function renderError(source: string, data: Record<string, unknown> = {}, opts: { maxBytes?: number } = {}): TemplateError {
  const out = renderTemplate(source, data, { name: "t", ...opts });
  if (out.ok) throw new Error(`expected an error, got ${JSON.stringify(out.value)}`);
  return out.error;
}

/** The error the apply-time check must report. */
export function checkError(source: string): TemplateError {
  const out = checkTemplate(source, { name: "t" });
  if (out.ok) throw new Error("expected a parse error");
  return out.error;
}

/** A rendering case: name, template, data, expected output. */
export type Case = [name: string, source: string, data: Record<string, unknown>, want: string];

/** One test per case. */
export function renders(cases: Case[]): void {
  for (const [name, source, data, want] of cases) {
    test(name, () => expect(render(source, data)).toBe(want));
  }
}

/** An error case: name, template, data, and the text the message must contain. */
export type ErrorCase = [name: string, source: string, data: Record<string, unknown>, contains: string];

/** One test per error case; every message must also be located (`template: t:<line>:<col>:`). */
export function fails(cases: ErrorCase[]): void {
  for (const [name, source, data, contains] of cases) {
    test(name, () => {
      const e = renderError(source, data);
      expect(e.message).toContain(contains);
      expect(e.message).toMatch(/^template: t:\d+:\d+: /);
      expect(e.line).toBeGreaterThan(0);
      expect(e.column).toBeGreaterThan(0);
    });
  }
}
