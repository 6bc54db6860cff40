/**
 * The console's browser code is its own TypeScript project (DOM types, no Bun types), excluded
 * from the root tsconfig: type-check it here so `npm test` covers it, and bundle it as wispd does.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const UI = join(ROOT, "daemon", "console", "ui");

test("the console's browser code type-checks (tsc -p daemon/console/ui)", async () => {
  const p = Bun.spawn([join(ROOT, "node_modules", ".bin", "tsc"), "--noEmit", "-p", UI], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(`${out}${err}`).toBe("");
  expect(code).toBe(0);
});

test("the console bundles for the browser with nothing left to fetch", async () => {
  const out = await Bun.build({ entrypoints: [join(UI, "main.ts")], target: "browser", format: "esm", minify: true });
  expect(out.logs.filter((l) => l.level === "error")).toEqual([]);
  expect(out.success).toBe(true);
  expect(out.outputs).toHaveLength(1);
  const js = await out.outputs[0]!.text();
  // One self-contained file: no import of another module, no absolute URL to fetch code from.
  expect(js).not.toMatch(/\bimport\s*[("'{*]/);
  expect(js).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
});
