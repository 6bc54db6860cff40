/**
 * Encodings: Sprig's b64enc/b64dec and toJson/toPrettyJson/toRawJson/fromJson, and
 * Tinkerbell's toYaml/fromYaml (sigs.k8s.io/yaml: sorted keys, Go's list indentation, no
 * trailing newline; an empty input is an error).
 */
import YAML from "yaml";
import { BudgetError, FuncError } from "./errors.ts";
import type { FuncSpec } from "./func-spec.ts";
import type { CallContext } from "./func-spec.ts";
import { bytesOf, fn, fnCtx } from "./func-spec.ts";
import { goJson } from "./json.ts";
import { importData, toPlain } from "./values.ts";

const fromUtf8 = new TextDecoder();

/** Go's base64.StdEncoding.DecodeString; Sprig returns the error text instead of failing. */
function b64dec(s: string): string {
  const clean = s.replace(/[\r\n]/g, "");
  const bad = /[^A-Za-z0-9+/=]|=[^=]|={3,}/.exec(clean);
  if (bad) return `illegal base64 data at input byte ${bad.index + (bad[0][0] === "=" ? 1 : 0)}`;
  if (clean.length % 4 !== 0) return `illegal base64 data at input byte ${clean.length - (clean.length % 4)}`;
  return fromUtf8.decode(Buffer.from(clean, "base64"));
}

/** Sprig's toJson family: an encoding error gives "" rather than failing. */
function toJson(ctx: CallContext, v: unknown, opts: { indent?: string; escapeHTML?: boolean }): string {
  try {
    return goJson(v, ctx.charge, opts);
  } catch (e) {
    if (e instanceof FuncError && !(e instanceof BudgetError)) return "";
    throw e;
  }
}

/** Sprig's fromJson: invalid JSON gives nil. */
function fromJson(ctx: CallContext, s: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    return null;
  }
  return importData(parsed, ctx.charge);
}

/** Tinkerbell's toYaml. */
function toYaml(ctx: CallContext, v: unknown): string {
  const plain = toPlain(v, ctx.charge);
  try {
    const text = YAML.stringify(plain, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
    return text.endsWith("\n") ? text.slice(0, -1) : text;
  } catch (e) {
    throw new FuncError(`toYaml: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Tinkerbell's fromYaml. */
function fromYaml(ctx: CallContext, s: string): unknown {
  if (s === "") throw new FuncError("fromYaml: empty YAML input");
  let parsed: unknown;
  try {
    parsed = YAML.parse(s);
  } catch (e) {
    throw new FuncError(`fromYaml: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  return importData(parsed, ctx.charge);
}

/** Encoding functions. */
export const ENCODING_FUNCS: Record<string, FuncSpec> = {
  b64enc: fn(["string"], (s) => Buffer.from(bytesOf(s)).toString("base64")),
  b64dec: fn(["string"], b64dec),
  toJson: fnCtx(["any"], (ctx, v) => toJson(ctx, v, {})),
  toPrettyJson: fnCtx(["any"], (ctx, v) => toJson(ctx, v, { indent: "  " })),
  toRawJson: fnCtx(["any"], (ctx, v) => toJson(ctx, v, { escapeHTML: false })),
  fromJson: fnCtx(["string"], fromJson),
  toYaml: fnCtx(["any"], toYaml),
  fromYaml: fnCtx(["string"], fromYaml),
};
