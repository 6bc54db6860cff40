import { err, ok, type Result } from "../lib/result.ts";

// RFC 3397 2: option 119 holds RFC 1035 3.1 names, compressed as RFC 1035 4.1.4 with pointers
// counted from the start of the (RFC 3396 concatenated) option data.
const POINTER = 0xc0; // RFC 1035 4.1.4: top two bits set
const MAX_LABEL = 63; // RFC 1035 2.3.4
const MAX_NAME = 255; // RFC 1035 2.3.4, counting length bytes and the root

/**
 * Walks the name starting at `start`; returns where the name ends in the data (after its root
 * byte or first pointer), or an error. With `labels`, collects the labels it reads.
 */
function walkName(data: Uint8Array, start: number, labels?: string[]): number | string {
  let i = start;
  let end = -1; // where the name ends in the data, fixed at the first pointer
  let size = 1; // the root byte
  let limit = start; // pointers must go strictly backwards, which also rules out loops
  for (;;) {
    if (i >= data.length) return `name at +${start}: truncated at +${i}`;
    const len = data[i]!;
    if (len === 0) return end === -1 ? i + 1 : end;
    if ((len & POINTER) === POINTER) {
      if (i + 1 >= data.length) return `name at +${start}: truncated pointer at +${i}`;
      const target = ((len & 0x3f) << 8) | data[i + 1]!;
      if (target >= limit) return `name at +${start}: pointer at +${i} to +${target} does not point back`;
      if (end === -1) end = i + 2;
      limit = target;
      i = target;
      continue;
    }
    if (len > MAX_LABEL) return `name at +${start}: label length ${len} at +${i}, expected at most ${MAX_LABEL}`;
    if (i + 1 + len > data.length) return `name at +${start}: label at +${i} overruns the option`;
    size += len + 1;
    if (size > MAX_NAME) return `name at +${start}: longer than ${MAX_NAME} bytes`;
    if (labels) labels.push(String.fromCharCode(...data.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
}

/** Why `data` is not a valid RFC 3397 domain search list, or undefined. */
export function checkDomains(data: Uint8Array): string | undefined {
  for (let i = 0; i < data.length; ) {
    const next = walkName(data, i);
    if (typeof next === "string") return next;
    i = next;
  }
  return undefined;
}

/** Decodes an RFC 3397 domain search list to names ("example.com"); undefined if invalid. */
export function decodeDomains(data: Uint8Array): string[] | undefined {
  const names: string[] = [];
  for (let i = 0; i < data.length; ) {
    const labels: string[] = [];
    const next = walkName(data, i, labels);
    if (typeof next === "string") return undefined;
    names.push(labels.join("."));
    i = next;
  }
  return names;
}

/** Encodes names as an RFC 3397 domain search list, compressing repeated suffixes. */
export function encodeDomains(names: readonly string[]): Result<Uint8Array> {
  const out: number[] = [];
  const seen = new Map<string, number>(); // suffix (lower-case, as DNS compares) -> offset
  for (const name of names) {
    const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
    const labels = trimmed === "" ? [] : trimmed.split(".");
    let size = 1;
    for (let k = 0; k < labels.length; k++) {
      const suffix = labels.slice(k).join(".").toLowerCase();
      const at = seen.get(suffix);
      if (at !== undefined) {
        out.push(POINTER | (at >> 8), at & 0xff);
        size = -1;
        break;
      }
      const label = labels[k]!;
      if (label.length === 0 || label.length > MAX_LABEL || /[^\x00-\xff]/.test(label)) {
        return err(`domain ${JSON.stringify(name)}: bad label ${JSON.stringify(label)}`);
      }
      size += label.length + 1;
      if (size > MAX_NAME) return err(`domain ${JSON.stringify(name)}: longer than ${MAX_NAME} bytes`);
      if (out.length <= 0x3fff) seen.set(suffix, out.length); // 14-bit pointer, RFC 1035 4.1.4
      out.push(label.length);
      for (let c = 0; c < label.length; c++) out.push(label.charCodeAt(c));
    }
    if (size !== -1) out.push(0);
  }
  return ok(Uint8Array.from(out));
}
