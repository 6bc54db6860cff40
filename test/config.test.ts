import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, helpText, loadConfig, OPTIONS } from "../daemon/config.ts";

describe("wispd configuration", () => {
  test("defaults when nothing is given", () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ dataDir: "./var", listenAddress: "0.0.0.0", httpPort: DEFAULT_HTTP_PORT, grpcPort: DEFAULT_GRPC_PORT, logLevel: "info" });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.apiToken).toBeUndefined();
  });

  test("flags beat environment beat config file", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-config-"));
    const file = join(dir, "wisp.yaml");
    writeFileSync(file, "httpPort: 8000\ndataDir: /from/file\nlogLevel: warn\n");
    const c = loadConfig(["--config", file, "--http-port=9000"], { WISP_DATA_DIR: "/from/env", WISP_HTTP_PORT: "8500" });
    expect(c.httpPort).toBe(9000);
    expect(c.dataDir).toBe("/from/env");
    expect(c.logLevel).toBe("warn");
  });

  test("errors name the option and what was expected", () => {
    expect(() => loadConfig(["--http-port", "http"], {})).toThrow('--http-port: expected a port number 0-65535, got "http"');
    expect(() => loadConfig(["--http-port", "70000"], {})).toThrow("expected a port number");
    expect(() => loadConfig([], { WISP_LOG_LEVEL: "loud" })).toThrow('WISP_LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, got "loud"');
    expect(() => loadConfig(["--bogus", "1"], {})).toThrow("unknown option --bogus");
    expect(() => loadConfig(["--data-dir"], {})).toThrow("option --data-dir needs a value");
    expect(() => loadConfig(["stray"], {})).toThrow('unexpected argument "stray"');
    expect(() => loadConfig(["--database-url", "mysql://x"], {})).toThrow("expected a postgres:// URL");
  });

  test("config file problems name the file and key", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-config-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "httpPrt: 1\n");
    expect(() => loadConfig(["--config", bad], {})).toThrow(`config file ${bad}: unknown option "httpPrt"`);
    writeFileSync(bad, "- a\n- b\n");
    expect(() => loadConfig(["--config", bad], {})).toThrow("expected a mapping of options");
    expect(() => loadConfig(["--config", join(dir, "missing.yaml")], {})).toThrow("config file");
  });

  test("--help documents every option with its environment name and default", () => {
    const help = helpText();
    for (const o of OPTIONS) {
      expect(help).toContain(`--${o.flag}`);
      expect(help).toContain("WISP_" + o.flag.toUpperCase().replaceAll("-", "_"));
      if ("default" in o) expect(help).toContain(`(default ${o.default})`);
    }
  });
});
