/** `--trusted-proxies`: repeatable flag, comma-separated environment, list in the config file, checked CIDRs. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { helpText, loadConfig } from "../../daemon/config.ts";

describe("--trusted-proxies", () => {
  test("none by default: X-Forwarded-For is never believed", () => {
    expect(loadConfig([], {}).trustedProxies).toEqual([]);
  });
  test("flags repeat, the environment is comma-separated, the file takes a list; flags win", () => {
    expect(loadConfig(["--trusted-proxies", "10.0.0.0/8", "--trusted-proxies=192.168.1.5"], {}).trustedProxies).toEqual(["10.0.0.0/8", "192.168.1.5"]);
    expect(loadConfig([], { WISP_TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1" }).trustedProxies).toEqual(["10.0.0.0/8", "127.0.0.1"]);
    const file = join(mkdtempSync(join(tmpdir(), "wisp-config-")), "wisp.yaml");
    writeFileSync(file, "trustedProxies:\n  - 172.16.0.0/12\n");
    expect(loadConfig(["--config", file], {}).trustedProxies).toEqual(["172.16.0.0/12"]);
    expect(loadConfig(["--config", file, "--trusted-proxies", "10.1.0.0/16"], {}).trustedProxies).toEqual(["10.1.0.0/16"]);
  });
  test("a value that is not an IPv4 address or CIDR names the option", () => {
    expect(() => loadConfig(["--trusted-proxies", "10.0.0.0/40"], {})).toThrow('--trusted-proxies: expected an IPv4 address or CIDR like 10.0.0.0/8, got "10.0.0.0/40"');
    expect(() => loadConfig([], { WISP_TRUSTED_PROXIES: "proxy.example" })).toThrow("WISP_TRUSTED_PROXIES: expected an IPv4 address or CIDR");
  });
  test("--help lists it", () => {
    expect(helpText()).toContain("--trusted-proxies <cidr>");
  });
});
