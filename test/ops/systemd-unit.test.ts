/**
 * The systemd unit: the committed one is what `wisp install-service` renders for /opt/wisp, it
 * passes `systemd-analyze verify` (offline: PID 1 need not be systemd), and the command's dry run
 * prints its steps through the real CLI and changes nothing.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError } from "../../cli/client.ts";
import { installServiceCommand, installSteps, PACKAGED_ROOT, parseInstallArgs, renderUnit, SERVICE_CAPABILITIES, SERVICE_DEFAULTS, type InstallHost } from "../../cli/install-service.ts";
import { execHost, requireTools } from "../support/netns.ts";
import { runWisp } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
const COMMITTED = join(ROOT, "packaging", "systemd", "wispd.service");
const BUN = process.execPath;

async function verify(unitText: string): Promise<{ code: number; stderr: string }> {
  await requireTools({ "systemd-analyze": "systemd" });
  const dir = mkdtempSync(join(tmpdir(), "wisp-unit-"));
  try {
    writeFileSync(join(dir, "wispd.service"), unitText);
    const r = await execHost(["systemd-analyze", "verify", join(dir, "wispd.service")], { timeoutMs: 30_000 });
    return { code: r.code, stderr: (r.stderr + r.stdout).trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("systemd unit", () => {
  test("the committed unit is the one install-service renders for /opt/wisp", () => {
    const rendered = renderUnit({ bun: `${PACKAGED_ROOT}/node_modules/bun/bin/bun.exe`, root: PACKAGED_ROOT, user: SERVICE_DEFAULTS.user, envFile: SERVICE_DEFAULTS.envFile });
    expect(readFileSync(COMMITTED, "utf8")).toBe(rendered);
  });

  test("the unit rendered for this checkout passes systemd-analyze verify without a warning", async () => {
    const unit = renderUnit({ bun: BUN, root: ROOT, user: "wisp", envFile: "/etc/wisp/wispd.env", args: ["--log-level", "debug", "--public-ip", "192.0.2.1"] });
    expect(await verify(unit)).toEqual({ code: 0, stderr: "" });
    // The committed unit too, once its /opt/wisp is this checkout (verify checks ExecStart exists).
    expect(await verify(readFileSync(COMMITTED, "utf8").replaceAll(PACKAGED_ROOT, ROOT))).toEqual({ code: 0, stderr: "" });
  });

  test("systemd-analyze security rates the unit's exposure OK (at most 4.0 of 10)", async () => {
    await requireTools({ "systemd-analyze": "systemd" });
    const dir = mkdtempSync(join(tmpdir(), "wisp-unit-"));
    try {
      writeFileSync(join(dir, "wispd.service"), renderUnit({ bun: BUN, root: ROOT, user: "wisp", envFile: "/etc/wisp/wispd.env" }));
      const r = await execHost(["systemd-analyze", "security", "--offline=true", "--no-pager", join(dir, "wispd.service")], { timeoutMs: 60_000 });
      const level = /Overall exposure level for wispd\.service: ([\d.]+)/.exec(r.stdout + r.stderr);
      expect(level).not.toBeNull();
      expect(Number(level![1])).toBeLessThanOrEqual(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("verify does catch a broken unit (the check above can fail)", async () => {
    const unit = renderUnit({ bun: "/nonexistent/bun", root: ROOT, user: "wisp", envFile: "/etc/wisp/wispd.env" }).replace("Type=notify", "Type=notify\nNoSuchKey=1");
    const r = await verify(unit);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("NoSuchKey");
    expect(r.stderr).toContain("/nonexistent/bun");
  });

  test("Type=notify, the three network capabilities and no more, a dedicated user and a read-only system", () => {
    const unit = renderUnit({ bun: BUN, root: ROOT, user: "wisp", envFile: "/etc/wisp/wispd.env" });
    const values = (key: string) => unit.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
    expect(values("Type")).toEqual(["notify"]);
    expect(values("AmbientCapabilities")).toEqual([SERVICE_CAPABILITIES.join(" ")]);
    expect(values("CapabilityBoundingSet")).toEqual(["CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN"]);
    expect(values("User")).toEqual(["wisp"]);
    expect(values("ProtectSystem")).toEqual(["strict"]);
    expect(values("StateDirectory")).toEqual(["wisp"]);
    expect(values("Environment")).toContain("WISP_DATA_DIR=/var/lib/wisp");
    expect(values("ExecStart")).toEqual([`${BUN} ${ROOT}/daemon/main.ts`]);
  });

  test("wispd arguments after -- are quoted for systemd; bad arguments are refused", () => {
    const o = parseInstallArgs(["--no-start", "--user", "prov", "--", "--public-ip", "10.0.0.1", "a b", "100%"], { bun: BUN, root: ROOT });
    expect(o).toMatchObject({ start: false, user: "prov", args: ["--public-ip", "10.0.0.1", "a b", "100%"] });
    expect(renderUnit(o)).toContain(`daemon/main.ts --public-ip 10.0.0.1 "a b" 100%%\n`);
    expect(installSteps(o).at(-1)).toEqual({ kind: "run", argv: ["systemctl", "enable", "wispd.service"] });
    expect(() => parseInstallArgs(["--user", "Bad User"], { bun: BUN, root: ROOT })).toThrow('--user: "Bad User" is not a valid user name');
    expect(() => parseInstallArgs(["--bogus"], { bun: BUN, root: ROOT })).toThrow("unknown argument --bogus");
    expect(() => parseInstallArgs(["--user"], { bun: BUN, root: ROOT })).toThrow("--user needs a value");
  });

  test("wisp install-service --dry-run prints the steps and writes nothing", async () => {
    const unitDir = mkdtempSync(join(tmpdir(), "wisp-unitdir-"));
    try {
      const r = await runWisp(["install-service", "--dry-run", "--unit-dir", unitDir, "--environment-file", join(unitDir, "wispd.env"), "--", "--dhcp-interface", "eth1"], {});
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("useradd --system --user-group --home-dir /var/lib/wisp --no-create-home --shell /usr/sbin/nologin wisp");
      expect(r.stdout).toContain(`write ${unitDir}/wispd.service (mode 644)`);
      expect(r.stdout).toContain(`  | ExecStart=${BUN} ${ROOT}/daemon/main.ts --dhcp-interface eth1\n`);
      expect(r.stdout).toContain(`systemd-analyze verify ${unitDir}/wispd.service`);
      expect(r.stdout).toContain("systemctl enable --now wispd.service");
      expect(readdirSync(unitDir)).toEqual([]);
      expect(existsSync("/etc/systemd/system/wispd.service") && readFileSync("/etc/systemd/system/wispd.service", "utf8").includes(unitDir)).toBe(false);
    } finally {
      rmSync(unitDir, { recursive: true, force: true });
    }
  });

  /**
   * The real command on this host, with systemd's run directory and systemctl the only parts
   * replaced (PID 1 is not systemd here): a real user is made with useradd and removed after,
   * the files are written, and systemd-analyze verify runs on the unit.
   */
  describe("install-service, not a dry run", () => {
    const user = `wisptest${process.pid % 100000}`;
    const userExists = async () => (await execHost(["id", "-u", user], { timeoutMs: 10_000 })).code === 0;
    const setup = () => {
      const dir = mkdtempSync(join(tmpdir(), "wisp-install-"));
      mkdirSync(join(dir, "run-systemd"));
      const calls: string[][] = [];
      const host = (systemctl: (argv: string[]) => number, systemdRunDir = join(dir, "run-systemd")): InstallHost => ({
        systemdRunDir,
        async spawn(argv) {
          calls.push(argv);
          if (argv[0] === "systemctl") {
            const code = systemctl(argv);
            return { code, output: code === 0 ? "" : "Failed to enable unit: Unit file wispd.service does not exist.\n" };
          }
          const r = await execHost(argv, { timeoutMs: 30_000 });
          return { code: r.code, output: r.stdout + r.stderr };
        },
      });
      const args = ["--unit-dir", join(dir, "units"), "--environment-file", join(dir, "etc", "wispd.env"), "--user", user, "--", "--dhcp-interface", "eth1"];
      return { dir, calls, host, args };
    };
    const cleanup = async (dir: string) => {
      if (await userExists()) expect((await execHost(["userdel", user], { timeoutMs: 10_000 })).code).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    };

    test("creates the user, writes the environment file and the unit, verifies it, then daemon-reload and enable --now", async () => {
      const { dir, calls, host, args } = setup();
      try {
        expect(await userExists()).toBe(false);
        const lines: string[] = [];
        expect(await installServiceCommand(args, { bun: BUN, root: ROOT }, (l) => lines.push(l), host((_) => 0))).toBe(0);
        expect(await userExists()).toBe(true);
        const unit = join(dir, "units", "wispd.service");
        expect(readFileSync(unit, "utf8")).toBe(renderUnit({ bun: BUN, root: ROOT, user, envFile: join(dir, "etc", "wispd.env"), args: ["--dhcp-interface", "eth1"] }));
        expect(statSync(unit).mode & 0o777).toBe(0o644);
        expect(statSync(join(dir, "etc", "wispd.env")).mode & 0o777).toBe(0o640);
        expect(calls.map((c) => c.join(" "))).toEqual([
          `id -u ${user}`,
          `useradd --system --user-group --home-dir /var/lib/wisp --no-create-home --shell /usr/sbin/nologin ${user}`,
          `systemd-analyze verify ${unit}`,
          "systemctl daemon-reload",
          "systemctl enable --now wispd.service",
        ]);
        expect(lines.at(-1)).toBe("wispd.service started; systemctl status wispd, journalctl -u wispd");

        // Again: the user is there, the operator's environment file is kept, the unit rewritten.
        writeFileSync(join(dir, "etc", "wispd.env"), "WISP_LOG_LEVEL=debug\n");
        calls.length = 0;
        lines.length = 0;
        expect(await installServiceCommand([...args.slice(0, 6), "--no-start"], { bun: BUN, root: ROOT }, (l) => lines.push(l), host((_) => 0))).toBe(0);
        expect(calls.map((c) => c[0])).toEqual(["id", "systemd-analyze", "systemctl", "systemctl"]);
        expect(calls.at(-1)).toEqual(["systemctl", "enable", "wispd.service"]);
        expect(lines).toContain(`kept ${join(dir, "etc", "wispd.env")}`);
        expect(readFileSync(join(dir, "etc", "wispd.env"), "utf8")).toBe("WISP_LOG_LEVEL=debug\n");
        expect(lines.at(-1)).toBe("wispd.service enabled (not started: --no-start)");
      } finally {
        await cleanup(dir);
      }
    }, 60_000);

    test("a failing step stops the installation and names the command, its exit code and its output", async () => {
      const { dir, host, args } = setup();
      try {
        const run = installServiceCommand(args, { bun: BUN, root: ROOT }, () => {}, host((argv) => (argv[1] === "enable" ? 1 : 0)));
        await expect(run).rejects.toThrow("systemctl enable --now wispd.service failed (exit 1): Failed to enable unit: Unit file wispd.service does not exist.");
      } finally {
        await cleanup(dir);
      }
    }, 60_000);

    test("without systemd running, it is refused before any step and changes nothing", async () => {
      const { dir, calls, host, args } = setup();
      try {
        const missing = join(dir, "no-such-run-dir");
        const refused = await installServiceCommand(args, { bun: BUN, root: ROOT }, () => {}, host((_) => 0, missing)).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(CliError);
        expect((refused as CliError).message).toStartWith(`systemd is not running on this host (no ${missing}): install-service changed nothing.`);
        expect(calls).toEqual([]);
        expect(await userExists()).toBe(false);
        expect(readdirSync(dir).sort()).toEqual(["run-systemd"]);
      } finally {
        await cleanup(dir);
      }
    }, 60_000);
  });
});
