import { expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { parseManifests, validateManifest } from "../../daemon/manifest/parse.ts";

const EXAMPLES = new URL("../../../shared/examples/", import.meta.url);
const examples = ["hardware.yaml", "template.yaml", "workflow.yaml"].map((n) => readFileSync(new URL(n, EXAMPLES), "utf8"));

test("random text never makes parseManifests throw", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
      const r = parseManifests(text, "fuzz.yaml");
      expect(Array.isArray(r.errors) && Array.isArray(r.warnings)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test("mutated examples never make parseManifests throw", () => {
  const chars = fc.constantFrom(":", "-", " ", "\n", "\t", "[", "{", "}", "]", "'", '"', "&a", "*a", "!!int ", "#", "---\n", "a", "0");
  fc.assert(
    fc.property(fc.constantFrom(...examples), fc.nat(), fc.nat({ max: 20 }), fc.array(chars, { maxLength: 5 }), (base, at, cut, insert) => {
      const i = at % (base.length + 1);
      const text = base.slice(0, i) + insert.join("") + base.slice(i + cut);
      const r = parseManifests(text, "m.yaml");
      for (const m of r.manifests) expect(typeof m.object.metadata.name).toBe("string");
    }),
    { numRuns: 1000 },
  );
});

test("random JSON values never make parseManifests (as JSON) or validateManifest throw", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      parseManifests(JSON.stringify(value) ?? "null", "fuzz.json");
      const r = validateManifest(value, { source: "-", document: 0 });
      expect(r.errors.length === 0 || r.object === undefined).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test("random values in the shape of a Hardware never make validateManifest throw", () => {
  const anything = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.string(), fc.constant("1c:69:7a:11:22:33"));
  const hw = fc.record(
    {
      apiVersion: fc.oneof(fc.constant("tinkerbell.org/v1alpha1"), anything),
      kind: fc.constantFrom("Hardware", "Template", "Workflow", "List", "Machine"),
      metadata: fc.oneof(fc.record({ name: fc.oneof(fc.constant("a"), anything), namespace: anything, labels: anything }), anything),
      spec: fc.oneof(
        fc.record({
          interfaces: fc.oneof(fc.array(fc.record({ dhcp: fc.dictionary(fc.constantFrom("mac", "ip", "lease_time", "vlan_id", "name_servers"), anything), netboot: anything })), anything),
          data: anything,
          templateRef: anything,
          hardwareMap: anything,
          bootOptions: anything,
          metadata: anything,
        }),
        anything,
      ),
      status: anything,
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(hw, (value) => {
      const r = validateManifest(value, { source: "-", document: 0 });
      expect(r.errors.length === 0 || r.object === undefined).toBe(true);
    }),
    { numRuns: 1000 },
  );
});

test("deep nesting and alias bombs are errors, not crashes", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  for (const text of [deep(100_000), "a: " + deep(100_000), "a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"]) {
    const r = parseManifests(text, "deep.yaml");
    expect(r.manifests).toEqual([]);
    expect(r.errors.length).toBeGreaterThan(0);
  }
});
