/**
 * The agent's own log lines to syslog_host (agent/syslog.ts): the datagram is RFC 5424 as wispd's
 * decoder reads it (severity from pino's level, cut at 2048 bytes on a character boundary); and
 * the compiled agent's lines reach a real wispd's syslog receiver, read back through the API.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_DATAGRAM_BYTES, parseSyslogHost, severityOfLevel, syslogDatagram } from "../../agent/syslog.ts";
import { decodeSyslog } from "../../daemon/syslog/codec.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";
import { compileAgent, startAgent, type AgentHandle } from "./harness.ts";

const NOW = new Date("2026-11-22T07:00:00.123Z");

test("a pino line becomes an RFC 5424 datagram wispd's decoder reads back", () => {
  const line = '{"level":40,"time":"2026-11-22T07:00:00.123Z","name":"wisp-agent","msg":"action report failed, retrying"}\n';
  const decoded = decodeSyslog(syslogDatagram(line, { hostname: "hook-1", pid: 42, now: NOW }));
  expect(decoded.ok).toBe(true);
  if (!decoded.ok) return;
  expect(decoded.value).toMatchObject({ format: "rfc5424", facility: 3, severity: 4, timestamp: NOW.toISOString(), hostname: "hook-1", app: "wisp-agent", procId: "42" });
  expect(decoded.value.message).toBe(line.trimEnd());
  expect([10, 20, 30, 40, 50, 60].map(severityOfLevel)).toEqual([7, 7, 6, 4, 3, 2]);
});

test("a long line is cut to 2048 bytes without splitting a character", () => {
  for (const filler of ["x", "é", "€", "😀"]) {
    const line = `{"level":30,"msg":"action output","line":"${filler.repeat(3000)}"}`;
    const datagram = syslogDatagram(line, { hostname: "h", pid: 1, now: NOW });
    expect(datagram.length).toBeLessThanOrEqual(MAX_DATAGRAM_BYTES);
    expect(datagram.length).toBeGreaterThan(MAX_DATAGRAM_BYTES - 4);
    // Valid UTF-8 throughout (a fatal decoder throws on a split sequence).
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(datagram)).not.toThrow();
    expect(decodeSyslog(datagram).ok).toBe(true);
  }
});

test("syslog_host: host, host:port, [v6]:port; a bad one is named", () => {
  expect(parseSyslogHost("10.0.0.1")).toEqual({ host: "10.0.0.1", port: 514 });
  expect(parseSyslogHost("10.0.0.1:5514")).toEqual({ host: "10.0.0.1", port: 5514 });
  expect(parseSyslogHost("[fd00::1]:5514")).toEqual({ host: "fd00::1", port: 5514 });
  expect(parseSyslogHost("fd00::1")).toEqual({ host: "fd00::1", port: 514 });
  expect(() => parseSyslogHost("10.0.0.1:99999")).toThrow('syslog_host "10.0.0.1:99999": expected host, host:port or [ipv6]:port');
  expect(() => parseSyslogHost("")).toThrow("syslog_host");
});

describe("the compiled agent's log lines in wispd's syslog receiver", () => {
  let data: { dataDir: string; remove(): void };
  let dir: string;
  let wispd: WispdHandle;
  let binary: string;
  let agent: AgentHandle | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wisp-agent-syslog-"));
    [binary, data] = await Promise.all([compileAgent(dir), pgliteDataDir()]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await agent?.stop();
    if (wispd) await wispd.stop();
    data?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the agent's start and its polls arrive as lines of app wisp-agent from 127.0.0.1", async () => {
    // A free UDP port for the receiver (released just before wispd binds it).
    const probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const syslogPort = probe.port;
    probe.close();
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--grpc-port", "0", "--syslog-port", String(syslogPort), "--agent-auth", "token"]);
    await wispd.waitForLog("wispd ready");
    const grpcAuthority = `127.0.0.1:${(await wispd.waitForLog("grpc listening")).port}`;
    const token = readFileSync(join(data.dataDir, "agent-token"), "utf8").trim();
    const apiToken = readFileSync(join(data.dataDir, "api-token"), "utf8").trim();
    // No workflow: the agent starts and polls (NOT_FOUND at debug), which is all it logs.
    agent = startAgent({ binary, dir, mac: "02:00:00:00:d0:01", grpcAuthority, token, dockerSocket: join(dir, "no-docker.sock"), privileged: false, cmdline: [`syslog_host=127.0.0.1:${syslogPort}`] });
    await agent.waitFor((l) => l.msg === "no action", "a poll");
    const deadline = Date.now() + 20_000;
    let lines: { app?: string; severity?: string; message: string; procId?: string }[] = [];
    while (Date.now() < deadline) {
      const res = await fetch(`${wispd.url}/api/v1/syslog/unknown?address=127.0.0.1`, { headers: { authorization: `Bearer ${apiToken}` } });
      expect(res.status).toBe(200);
      lines = (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      if (lines.some((l) => l.message.includes('"msg":"no action"'))) break;
      await Bun.sleep(100);
    }
    const started = lines.find((l) => l.message.includes('"msg":"wisp-agent started"'));
    expect(started).toMatchObject({ app: "wisp-agent", procId: String(agent.proc.pid) });
    expect(JSON.parse(started!.message)).toMatchObject({ msg: "wisp-agent started", syslogHost: `127.0.0.1:${syslogPort}` });
    expect(lines.some((l) => l.message.includes('"msg":"no action"'))).toBe(true);
    // The same lines still go to stdout.
    expect(agent.logs.some((l) => l.msg === "wisp-agent started")).toBe(true);
  }, 60_000);
});
