import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findToken } from "../../cli/client.ts";
import { age, duration, table } from "../../cli/format.ts";
import { parseArgs, readSources } from "../../cli/main.ts";

describe("wisp argument parsing", () => {
  test("flags anywhere, repeated -f, = forms", () => {
    const a = parseArgs(["get", "-n", "tink-system", "wf", "--output=yaml", "demo", "-A"]);
    expect(a).toMatchObject({ positional: ["get", "wf", "demo"], namespace: "tink-system", output: "yaml", all: true });
    expect(parseArgs(["apply", "-f", "a.yaml", "-f", "-", "--dry-run"])).toMatchObject({ files: ["a.yaml", "-"], dryRun: true });
  });
  test("bad flags are one-line errors", () => {
    expect(() => parseArgs(["get", "--bogus"])).toThrow("unknown option --bogus");
    expect(() => parseArgs(["get", "-o", "xml", "hw"])).toThrow('-o: expected table, yaml or json, got "xml"');
    expect(() => parseArgs(["apply", "-f"])).toThrow("-f needs a value");
  });
  test("directories give their manifest files in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-cli-"));
    writeFileSync(join(dir, "b.yaml"), "b");
    writeFileSync(join(dir, "a.json"), "a");
    writeFileSync(join(dir, "notes.txt"), "x");
    const s = await readSources([dir]);
    expect(s.map((x) => x.name)).toEqual([join(dir, "a.json"), join(dir, "b.yaml")]);
    await expect(readSources([join(dir, "nope.yaml")])).rejects.toThrow("no such file or directory");
    await expect(readSources([])).rejects.toThrow("apply needs -f");
  });
  test("token lookup order", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-cli-"));
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "d", "api-token"), "from-file\n");
    expect(findToken("flag", { WISP_TOKEN: "env" })).toBe("flag");
    expect(findToken(undefined, { WISP_TOKEN: "env", WISP_DATA_DIR: join(dir, "d") })).toBe("env");
    expect(findToken(undefined, { WISP_DATA_DIR: join(dir, "d") })).toBe("from-file");
  });
  test("formatting helpers", () => {
    expect(duration(4.21)).toBe("4.2s");
    expect(duration(185)).toBe("3m05s");
    expect(duration(3720)).toBe("1h02m");
    expect(age(new Date(Date.now() - 90_000).toISOString())).toBe("90s");
    expect(table(["A", "BB"], [["xyz", "1"]])).toBe("A     BB\nxyz   1");
  });
});
