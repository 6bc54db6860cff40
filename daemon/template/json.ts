/**
 * JSON as Go's encoding/json writes it (what Sprig's toJson produces): map keys sorted,
 * `<`, `>`, `&` escaped as \u003c… unless raw, U+2028/2029 escaped, ints exact, NaN refused.
 */
import { FuncError } from "./errors.ts";
import type { GoMap, Meter } from "./values.ts";
import { kindOf, numberOf, sortedEntries } from "./values.ts";

const hex4 = (c: number): string => "\\u" + c.toString(16).padStart(4, "0");

const SHORT: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };

/** A JSON string literal, escaped as Go escapes it. */
function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const html = c === 0x3c || c === 0x3e || c === 0x26;
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0xd800 && c !== 0x2028 && c !== 0x2029 && !(escapeHTML && html)) {
      out += s[i];
    } else if (SHORT[c] !== undefined) {
      out += SHORT[c];
    } else if (c < 0x20 || html || c === 0x2028 || c === 0x2029) {
      out += hex4(c);
    } else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += s.slice(i, i + 2); // a valid surrogate pair
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += "\\ufffd"; // a lone surrogate is invalid UTF-8 to Go
    } else {
      out += s[i];
    }
  }
  return out + '"';
}

/** Go's float encoding: shortest digits, exponent form outside [1e-6, 1e21) — as JavaScript's. */
function jsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new FuncError(`json: unsupported value: ${Number.isNaN(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf"}`);
  return String(x);
}

/** Encodes a template value as Go's json.Marshal (or MarshalIndent with `indent`) would. */
export function goJson(v: unknown, meter: Meter, opts: { indent?: string; escapeHTML?: boolean } = {}): string {
  const escapeHTML = opts.escapeHTML ?? true;
  const indent = opts.indent;
  const encode = (x: unknown, prefix: string): string => {
    meter(1);
    const nl = indent === undefined ? "" : "\n" + prefix + indent;
    const close = indent === undefined ? "" : "\n" + prefix;
    const colon = indent === undefined ? ":" : ": ";
    switch (kindOf(x)) {
      case "nil":
        return "null";
      case "bool":
        return x ? "true" : "false";
      case "int":
        return BigInt(x as number).toString();
      case "float":
        return jsonFloat(numberOf(x as number));
      case "string":
        return jsonString(x as string, escapeHTML);
      case "slice": {
        const items = (x as unknown[]).map((e) => encode(e, prefix + (indent ?? "")));
        return items.length === 0 ? "[]" : "[" + nl + items.join("," + nl) + close + "]";
      }
      case "map": {
        const entries = sortedEntries(x as GoMap)
          .map(([k, e]) => [String(k), e] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const items = entries.map(([k, e]) => jsonString(k, escapeHTML) + colon + encode(e, prefix + (indent ?? "")));
        return items.length === 0 ? "{}" : "{" + nl + items.join("," + nl) + close + "}";
      }
      default:
        throw new FuncError("json: unsupported type: func()");
    }
  };
  return encode(v, "");
}
