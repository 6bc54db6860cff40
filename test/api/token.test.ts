import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkBearer, resolveApiToken, TOKEN_FILE } from "../../daemon/api/token.ts";

describe("api token", () => {
  test("generated once into the data directory with mode 0600, then reused", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "wisp-token-")), "data");
    const first = resolveApiToken(dir);
    expect(first.created).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(40);
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    const second = resolveApiToken(dir);
    expect(second).toEqual({ token: first.token, path: join(dir, TOKEN_FILE), created: false });
  });

  test("a configured token wins and nothing is written", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-token-"));
    expect(resolveApiToken(dir, "given")).toEqual({ token: "given", created: false });
    expect(() => readFileSync(join(dir, TOKEN_FILE))).toThrow();
  });

  test("a token file readable by others is tightened to 0600", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-token-"));
    writeFileSync(join(dir, TOKEN_FILE), "abc\n");
    chmodSync(join(dir, TOKEN_FILE), 0o644);
    expect(resolveApiToken(dir).token).toBe("abc");
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
  });

  test("bearer check", () => {
    expect(checkBearer("Bearer abc", "abc")).toBe(true);
    expect(checkBearer("bearer abc", "abc")).toBe(true);
    expect(checkBearer("Bearer abd", "abc")).toBe(false);
    expect(checkBearer("Bearer ab", "abc")).toBe(false);
    expect(checkBearer("Basic abc", "abc")).toBe(false);
    expect(checkBearer(null, "abc")).toBe(false);
    expect(checkBearer("Bearer", "abc")).toBe(false);
  });
});
