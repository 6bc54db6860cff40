import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DHCP_LEASE_TIME, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, helpText, loadConfig, OPTIONS } from "../daemon/config.ts";

describe("wispd configuration", () => {
  test("defaults when nothing is given", () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ dataDir: "./var", listenAddress: "0.0.0.0", httpPort: DEFAULT_HTTP_PORT, grpcPort: DEFAULT_GRPC_PORT, logLevel: "info" });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.apiToken).toBeUndefined();
    // DHCP answers on no network until one is named.
    expect(c).toMatchObject({ dhcpInterfaces: [], dhcpMode: "reservation", dhcpLeaseTime: DEFAULT_DHCP_LEASE_TIME });
  });

  test("--dhcp-interface repeats; the environment and config file give lists", () => {
    expect(loadConfig(["--dhcp-interface", "eth1", "--dhcp-interface=eth2", "--dhcp-interface", "eth1"], {}).dhcpInterfaces).toEqual(["eth1", "eth2"]);
    expect(loadConfig([], { WISP_DHCP_INTERFACE: "eth1, br0,," }).dhcpInterfaces).toEqual(["eth1", "br0"]);
    // Flags replace the environment's list rather than adding to it.
    expect(loadConfig(["--dhcp-interface", "eth3"], { WISP_DHCP_INTERFACE: "eth1" }).dhcpInterfaces).toEqual(["eth3"]);
    const dir = mkdtempSync(join(tmpdir(), "wisp-config-"));
    const file = join(dir, "wisp.yaml");
    writeFileSync(file, "dhcpInterface: [eth1, vlan100]\ndhcpMode: proxy\ndhcpLeaseTime: 600\n");
    expect(loadConfig(["--config", file], {})).toMatchObject({ dhcpInterfaces: ["eth1", "vlan100"], dhcpMode: "proxy", dhcpLeaseTime: 600 });
    writeFileSync(file, "dhcpInterface: eth1,eth2\n");
    expect(loadConfig(["--config", file], {}).dhcpInterfaces).toEqual(["eth1", "eth2"]);
    writeFileSync(file, "dhcpInterface: {a: 1}\n");
    expect(() => loadConfig(["--config", file], {})).toThrow(`config file ${file}: dhcpInterface: expected a list of strings`);
    writeFileSync(file, "dhcpMode: [proxy]\n");
    expect(() => loadConfig(["--config", file], {})).toThrow("dhcpMode: expected a string or number");
  });

  test("DHCP option errors name the option and what was expected", () => {
    expect(() => loadConfig(["--dhcp-mode", "full"], {})).toThrow('--dhcp-mode: expected one of reservation, proxy, auto-proxy, off, got "full"');
    expect(() => loadConfig(["--dhcp-interface", "a-name-longer-than-15"], {})).toThrow("--dhcp-interface: expected an interface name of 1-15 characters");
    expect(() => loadConfig([], { WISP_DHCP_INTERFACE: "eth0,bad/name" })).toThrow('WISP_DHCP_INTERFACE: expected an interface name of 1-15 characters without \'/\', \':\' or spaces, got "bad/name"');
    expect(() => loadConfig(["--dhcp-lease-time", "0"], {})).toThrow('--dhcp-lease-time: expected a number of seconds 1-4294967295, got "0"');
    expect(() => loadConfig(["--dhcp-lease-time", "1h"], {})).toThrow("expected a number of seconds");
    expect(loadConfig(["--tftp-max-transfers", "8192"], {}).tftpMaxTransfers).toBe(8192);
    expect(loadConfig([], { WISP_TFTP_MAX_TRANSFERS: "16" }).tftpMaxTransfers).toBe(16);
    expect(loadConfig([], {}).tftpMaxTransfers).toBe(4096);
    expect(() => loadConfig(["--tftp-max-transfers", "0"], {})).toThrow('--tftp-max-transfers: expected a whole number 1-1000000, got "0"');
    expect(() => loadConfig(["--tftp-max-transfers", "many"], {})).toThrow("expected a whole number");
  });

  test("--heap-headroom takes MiB, 0 turns the governor off, anything else is refused by name", () => {
    expect(loadConfig([], {}).heapHeadroom).toBe(64);
    expect(loadConfig(["--heap-headroom", "0"], {}).heapHeadroom).toBe(0);
    expect(loadConfig([], { WISP_HEAP_HEADROOM: "128" }).heapHeadroom).toBe(128);
    expect(() => loadConfig(["--heap-headroom", "-1"], {})).toThrow('--heap-headroom: expected a whole number of MiB 0-1048576, got "-1"');
    expect(() => loadConfig(["--heap-headroom", "64M"], {})).toThrow("--heap-headroom: expected a whole number of MiB");
    expect(() => loadConfig(["--heap-headroom", "2000000"], {})).toThrow("--heap-headroom: expected a whole number of MiB");
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
