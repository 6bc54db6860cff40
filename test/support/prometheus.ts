/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws, naming
 * the line, on anything a scraper could reject or misread: bad names or escapes, a TYPE or HELP
 * twice or after the samples, a family's samples split up, a series twice, a negative counter,
 * a histogram without +Inf, with buckets out of order or not cumulative, or whose +Inf bucket
 * is not its _count.
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its TYPE, HELP and samples in order. */
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Parses `text`; throws an Error naming the line at the first violation. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | undefined; // the family whose samples are being read
  const closed = new Set<string>(); // families whose samples are over
  if (text !== "" && !text.endsWith("\n")) throw new Error("the text does not end with a newline");
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    const fail = (why: string): never => {
      throw new Error(`${where}: ${why}`);
    };
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, keyword, name, rest = ""] = m;
      if (!NAME.test(name!)) fail(`metric name ${name} is not valid`);
      const family = families.get(name!) ?? { name: name!, type: "untyped" as const, samples: [] };
      if (family.samples.length > 0) fail(`${keyword} for ${name} after its samples`);
      if (keyword === "HELP") {
        if (family.help !== undefined) fail(`second HELP for ${name}`);
        family.help = unescape(rest, false, fail);
      } else {
        if ((family as Family & { typed?: boolean }).typed) fail(`second TYPE for ${name}`);
        if (!TYPES.has(rest.trim())) fail(`unknown type ${rest}`);
        family.type = rest.trim() as Family["type"];
        (family as Family & { typed?: boolean }).typed = true;
      }
      families.set(name!, family);
      if (current && current.name !== name) {
        closed.add(current.name);
        current = undefined;
      }
      return;
    }
    const sample = parseSample(line, fail);
    const familyName = familyOf(sample.name, families);
    const family = families.get(familyName) ?? { name: familyName, type: "untyped" as const, samples: [] };
    families.set(familyName, family);
    if (closed.has(familyName)) fail(`samples of ${familyName} are not together`);
    if (current && current.name !== familyName) closed.add(current.name);
    current = family;
    const key = `${sample.name}{${Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${v}`).join(",")}}`;
    if (series.has(key)) fail(`series ${key} appears twice`);
    series.add(key);
    if (family.type === "counter" && !(sample.value >= 0)) fail(`counter ${sample.name} is ${sample.value}`);
    if (family.type === "counter" && sample.name !== familyName && sample.name !== `${familyName}_total`) fail(`sample ${sample.name} in counter ${familyName}`);
    if ((family.type === "gauge" || family.type === "untyped") && sample.name !== familyName) fail(`sample ${sample.name} in ${family.type} ${familyName}`);
    family.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = sampleName.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === "histogram" || f.type === "summary")) return base;
  }
  return sampleName;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line);
  if (!m) return fail("no metric name");
  const name = m[1]!;
  let i = m[0].length;
  const labels: Record<string, string> = {};
  if (m[2]) {
    for (;;) {
      if (line[i] === "}") {
        i++;
        break;
      }
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!l) fail(`label expected at column ${i + 1}`);
      const labelName = l![1]!;
      if (!LABEL_NAME.test(labelName) || labelName.startsWith("__")) fail(`label name ${labelName} is reserved or not valid`);
      if (labelName in labels) fail(`label ${labelName} twice`);
      i += l![0].length;
      let raw = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) fail("unterminated label value");
        if (c === '"') break;
        if (c === "\\") {
          raw += c + (line[i + 1] ?? "");
          i += 2;
          continue;
        }
        raw += c;
        i++;
      }
      labels[labelName] = unescape(raw, true, fail);
      i++; // closing quote
      if (line[i] === ",") i++;
      else if (line[i] !== "}") fail(`"," or "}" expected at column ${i + 1}`);
    }
  }
  const rest = line.slice(i);
  const v = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!v) return fail("a single space, then a value (and an optional timestamp) expected");
  return { name, labels, value: parseValue(v[1]!, fail) };
}

function parseValue(text: string, fail: (why: string) => never): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(`value ${text} is not a float`);
  return Number(text);
}

// Label values escape \\, \" and \n; HELP escapes \\ and \n. Anything else after a backslash is an error.
function unescape(raw: string, quoteAllowed: boolean, fail: (why: string) => never): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\n") fail("raw newline");
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = raw[++i];
    if (n === "\\") out += "\\";
    else if (n === "n") out += "\n";
    else if (n === '"' && quoteAllowed) out += '"';
    else fail(`bad escape \\${n ?? ""}`);
  }
  return out;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: { le: number; value: number }[]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le (${key})`);
      g.buckets.push({ le: parseValue(le, (why) => { throw new Error(`${f.name}: le ${why}`); }), value: s.value });
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, g] of groups) {
    const at = `${f.name}${key}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${at}: _sum or _count missing`);
    const last = g.buckets.at(-1);
    if (!last || last.le !== Infinity) throw new Error(`${at}: no le="+Inf" bucket last`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]!.le > g.buckets[i - 1]!.le)) throw new Error(`${at}: buckets not in increasing le order`);
      if (g.buckets[i]!.value < g.buckets[i - 1]!.value) throw new Error(`${at}: bucket counts not cumulative`);
    }
    if (last.value !== g.count) throw new Error(`${at}: +Inf bucket ${last.value} is not _count ${g.count}`);
  }
}

/** The value of the one sample with this name and (at least) these labels; undefined when none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

/** The sum of every sample with this name and (at least) these labels (0 when none). */
export function sampleSum(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families.values()) for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  return total;
}
