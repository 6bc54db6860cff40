/**
 * Sprig's regex functions on the linear-time engine: regexMatch (a bad pattern is simply no
 * match), and regexFind, regexFindAll, regexReplaceAll(Literal), regexSplit, which fail on a bad
 * pattern as Go's MustCompile does.
 */
import { FuncError } from "./errors.ts";
import type { CallContext, FuncSpec } from "./func-spec.ts";
import { fn, fnCtx } from "./func-spec.ts";
import type { Regexp } from "./regexp.ts";
import { compileRegexp, execRegexp, findAll, quoteMeta, replaceAll, split } from "./regexp.ts";
import { goQuote } from "./quote.ts";

/** VM thread-steps per unit of the render's work budget: a thread step is much cheaper than a node. */
const STEPS_PER_UNIT = 16;

/** A charge function that batches VM steps into budget units. */
function charger(ctx: CallContext): (steps: number) => void {
  let pending = 0;
  return (steps) => {
    pending += steps;
    if (pending >= STEPS_PER_UNIT) {
      ctx.charge(Math.floor(pending / STEPS_PER_UNIT));
      pending %= STEPS_PER_UNIT;
    }
  };
}

/** regexp.MustCompile: a bad pattern is an error naming it. */
function mustCompile(pattern: string): Regexp {
  const re = compileRegexp(pattern);
  if (typeof re === "string") throw new FuncError(`regexp: Compile(${goQuote(pattern)}): ${re}`);
  return re;
}

/** Sprig's regex functions. */
export const REGEXP_FUNCS: Record<string, FuncSpec> = {
  regexMatch: fnCtx(["string", "string"], (ctx, pattern, s) => {
    const re = compileRegexp(pattern);
    return typeof re !== "string" && execRegexp(re, s, 0, charger(ctx)) !== undefined;
  }),
  regexFind: fnCtx(["string", "string"], (ctx, pattern, s) => {
    const m = execRegexp(mustCompile(pattern), s, 0, charger(ctx));
    return m ? s.slice(m[0], m[1]) : "";
  }),
  regexFindAll: fnCtx(["string", "string", "int"], (ctx, pattern, s, n) =>
    findAll(mustCompile(pattern), s, n, charger(ctx)).map((m) => s.slice(m[0], m[1])),
  ),
  regexReplaceAll: fnCtx(["string", "string", "string"], (ctx, pattern, s, repl) =>
    replaceAll(mustCompile(pattern), s, repl, false, charger(ctx), ctx.maxBytes),
  ),
  regexReplaceAllLiteral: fnCtx(["string", "string", "string"], (ctx, pattern, s, repl) =>
    replaceAll(mustCompile(pattern), s, repl, true, charger(ctx), ctx.maxBytes),
  ),
  regexSplit: fnCtx(["string", "string", "int"], (ctx, pattern, s, n) => split(mustCompile(pattern), s, n, charger(ctx))),
  regexQuoteMeta: fn(["string"], quoteMeta),
};
