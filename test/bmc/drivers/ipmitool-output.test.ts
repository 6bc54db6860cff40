/** The ipmitool driver's pure parts: argv, and strict readings of ipmitool 1.8.19's output (seen against ipmi_sim). */
import { describe, expect, test } from "bun:test";
import { connectionFor } from "../../../daemon/bmc/ipmitool.ts";
import {
  bootdevCommand, classifyFailure, ipmitoolArgv, parseBootdev, parsePowerControl, parsePowerStatus,
} from "../../../daemon/bmc/ipmitool-output.ts";

describe("ipmitool argv", () => {
  test("lanplus, port, cipher suite, -E; never the password", () => {
    const target = { host: "10.0.0.9", username: "root", password: "hunter2", options: { ipmitool: { port: 6230, cipherSuite: "17" } }, timeoutMs: 30_000 };
    const argv = ipmitoolArgv(connectionFor(target), ["power", "status"]);
    expect(argv).toEqual(["ipmitool", "-I", "lanplus", "-H", "10.0.0.9", "-p", "6230", "-U", "root", "-E", "-C", "17", "-N", "3", "-R", "2", "-v", "power", "status"]);
    expect(argv.join(" ")).not.toContain("hunter2");
  });

  test("defaults: port 623, cipher suite 3, -N from the 30 s default bound", () => {
    const c = connectionFor({ host: "h", username: "u", password: "p" });
    expect([c.port, c.cipherSuite, c.answerSeconds, c.retries]).toEqual([623, "3", 3, 2]);
    expect(connectionFor({ host: "h", username: "u", password: "p", timeoutMs: 500 }).answerSeconds).toBe(1);
    expect(connectionFor({ host: "h", username: "u", password: "p", timeoutMs: 600_000 }).answerSeconds).toBe(5);
  });

  test("bootdev options: efiboot and persistent as ipmitool spells them", () => {
    expect(bootdevCommand("pxe", { efi: true, persistent: true })).toEqual(["chassis", "bootdev", "pxe", "options=efiboot,persistent"]);
    expect(bootdevCommand("disk", { efi: true, persistent: false })).toEqual(["chassis", "bootdev", "disk", "options=efiboot"]);
    expect(bootdevCommand("bios", { efi: false, persistent: true })).toEqual(["chassis", "bootdev", "bios", "options=persistent"]);
    expect(bootdevCommand("cdrom", { efi: false, persistent: false })).toEqual(["chassis", "bootdev", "cdrom"]);
  });
});

describe("ipmitool output", () => {
  test("power status", () => {
    expect(parsePowerStatus("Chassis Power is on\n")).toEqual({ ok: true, value: "on" });
    expect(parsePowerStatus("Chassis Power is off\n")).toEqual({ ok: true, value: "off" });
    expect(parsePowerStatus("Chassis Power is unknown\n").ok).toBe(false);
    expect(parsePowerStatus("").ok).toBe(false);
    expect(parsePowerStatus("xChassis Power is on").ok).toBe(false);
  });

  test("power control must echo the action that was asked", () => {
    expect(parsePowerControl("Chassis Power Control: Up/On\n", "on").ok).toBe(true);
    expect(parsePowerControl("Chassis Power Control: Down/Off\n", "off").ok).toBe(true);
    expect(parsePowerControl("Chassis Power Control: Cycle\n", "cycle").ok).toBe(true);
    expect(parsePowerControl("Chassis Power Control: Reset\n", "reset").ok).toBe(true);
    expect(parsePowerControl("Chassis Power Control: Soft\n", "soft").ok).toBe(true);
    expect(parsePowerControl("Chassis Power Control: Up/On\n", "off").ok).toBe(false);
    expect(parsePowerControl("", "on").ok).toBe(false);
  });

  test("bootdev: the success line, and a failure ipmitool reports with exit status 0", () => {
    expect(parseBootdev("Set Boot Device to pxe\n", "pxe").ok).toBe(true);
    expect(parseBootdev("Set Boot Device to disk\n", "pxe").ok).toBe(false);
    const failed = parseBootdev("Set Chassis Boot Parameter 5 failed: Unspecified error\n", "pxe");
    expect(failed).toEqual({ ok: false, error: "Set Chassis Boot Parameter 5 failed: Unspecified error" });
  });

  test("failures: wrong password, unknown user, silence, cipher suite, a refused command", () => {
    const wrongPassword = "Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n";
    expect(classifyFailure(wrongPassword).code).toBe("auth");
    const unknownUser = "RAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session\n";
    expect(classifyFailure(unknownUser)).toEqual({ code: "auth", why: "RAKP 2 message indicates an error : unauthorized name (check username and password)" });
    const silent = "Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\nError: Unable to establish IPMI v2 / RMCP+ session\n";
    expect(classifyFailure(silent)).toEqual({ code: "unreachable", why: "Get Auth Capabilities error" });
    const cipher = "Error in open session response message : invalid authentication algorithm\n\nError: Unable to establish IPMI v2 / RMCP+ session\n";
    expect(classifyFailure(cipher).code).toBe("refused");
    expect(classifyFailure("Set Chassis Power Control to Cycle failed: Command not supported in present state\n").code).toBe("refused");
    expect(classifyFailure("").code).toBe("protocol");
  });
});
