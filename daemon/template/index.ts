/**
 * Go text/template for Tinkerbell Templates: `spec.data` is checked when a Template is applied
 * and rendered once per Workflow, with Go's semantics (missingkey=error), Sprig's hermetic
 * functions and Tinkerbell's own. Rendering never throws: every failure is a Result whose
 * message says what failed and where, Go style. A hostile template is bounded in output bytes,
 * work and template-call depth.
 */
import type { Result } from "../lib/result.ts";
import { err } from "../lib/result.ts";
import type { TemplateError } from "./errors.ts";
import { execute } from "./exec.ts";
import { FUNCS, isFunction } from "./funcs.ts";
import { parseTemplate } from "./parser.ts";
import { importData } from "./values.ts";

export type { TemplateError } from "./errors.ts";

/** The default cap on rendered output, as Tinkerbell's: 256 KiB. */
export const DEFAULT_MAX_OUTPUT: number = 256 * 1024;

/** Name used in messages when the caller gives none. */
const DEFAULT_NAME = "template";

/** Units of work one render may spend (nodes, loop iterations, sizes of function results). */
const MAX_STEPS = 2_000_000;

/** Values in the caller's data beyond which a render is refused (Hardware objects hold hundreds). */
const MAX_DATA_NODES = 1_000_000;

/** Nested {{template}} calls allowed (Go allows 100000; real templates nest a few levels). */
const MAX_TEMPLATE_DEPTH = 200;

/** Parses only: syntax check at apply time. */
export function checkTemplate(source: string, opts?: { name?: string }): Result<void, TemplateError> {
  const name = opts?.name ?? DEFAULT_NAME;
  return guarded(name, () => {
    if (typeof source !== "string") return err({ message: `template: ${name}: source is not a string` });
    const parsed = parseTemplate(source, name, isFunction);
    return parsed.ok ? { ok: true, value: undefined } : parsed;
  });
}

/** Parses and executes; output capped at opts.maxBytes (default 256 KiB = DEFAULT_MAX_OUTPUT). */
export function renderTemplate(
  source: string,
  data: Record<string, unknown>,
  opts?: { name?: string; maxBytes?: number },
): Result<string, TemplateError> {
  const name = opts?.name ?? DEFAULT_NAME;
  const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_OUTPUT;
  return guarded(name, () => {
    if (typeof source !== "string") return err({ message: `template: ${name}: source is not a string` });
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) return err({ message: `template: ${name}: invalid output cap ${maxBytes}` });
    const parsed = parseTemplate(source, name, isFunction);
    if (!parsed.ok) return parsed;
    let imported: unknown;
    try {
      let nodes = 0;
      imported = importData(data, (n) => {
        nodes += n;
        if (nodes > MAX_DATA_NODES) throw new TypeError(`more than ${MAX_DATA_NODES} values`);
      });
    } catch (e) {
      return err({ message: `template: ${name}: unusable data: ${e instanceof Error ? e.message : String(e)}` });
    }
    return execute({ source, name, trees: parsed.value, funcs: FUNCS }, imported, {
      maxBytes,
      maxSteps: MAX_STEPS,
      maxDepth: MAX_TEMPLATE_DEPTH,
    });
  });
}

/** Runs `f`, turning anything thrown (a bug, or the stack running out) into an error result. */
function guarded<T>(name: string, f: () => Result<T, TemplateError>): Result<T, TemplateError> {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) return err({ message: `template: ${name}: nested too deeply to evaluate (${e.message})` });
    return err({ message: `template: ${name}: internal error: ${e instanceof Error ? e.message : String(e)}` });
  }
}
