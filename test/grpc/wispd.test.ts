/**
 * The workflow service in a real wispd (`--grpc-port 0`): agent tokens (generated file, missing,
 * wrong, right; `--agent-auth off`), TLS, malformed messages that leave the server serving, an
 * action served and reported end to end, metrics and logs.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pgliteDataDir } from "../support/pglite.ts";
import { EXAMPLES_DIR, runWisp, SETUP_TIMEOUT_MS, startWispd, wispdGrpcPort, type WispdHandle } from "../support/processes.ts";
import { agentClient, statusFor } from "./agent-client.ts";

const MAC = "1c:69:7a:11:22:33";

/** The shared examples with the Workflow pointing at their Hardware. */
const examples = (): string =>
  ["hardware.yaml", "template.yaml", "workflow.yaml"]
    .map((f) => readFileSync(join(EXAMPLES_DIR, f), "utf8").replace(/hardwareRef: .*/, "hardwareRef: nuc-demo"))
    .join("\n---\n");

/** A self-signed certificate for "localhost" (openssl); clients reach 127.0.0.1 and name the server localhost (TLS SNI takes no IP addresses). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, "grpc.crt");
  const key = join(dir, "grpc.key");
  const r = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=wisp-test", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert]);
  if (r.exitCode !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
  return { cert, key };
}

describe("wispd workflow service, --agent-auth token (default) over TLS", () => {
  let data: { dataDir: string; remove(): void };
  let dir: string;
  let wispd: WispdHandle;
  let address: string;
  let ca: Buffer;
  let token: string;

  beforeAll(async () => {
    data = await pgliteDataDir();
    dir = mkdtempSync(join(tmpdir(), "wisp-grpc-"));
    const tls = selfSigned(dir);
    ca = readFileSync(tls.cert);
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--grpc-port", "0", "--grpc-tls-cert", tls.cert, "--grpc-tls-key", tls.key]);
    address = `127.0.0.1:${await wispdGrpcPort(wispd)}`;
    await wispd.waitForLog("wispd ready");
    token = readFileSync(join(data.dataDir, "agent-token"), "utf8").trim();
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    data?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("generates the agent token into <data-dir>/agent-token, mode 0600, and says so", async () => {
    expect(statSync(join(data.dataDir, "agent-token")).mode & 0o777).toBe(0o600);
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(await wispd.waitForLog("agent token generated")).toMatchObject({ path: join(data.dataDir, "agent-token") });
    expect(await wispd.waitForLog("grpc listening")).toMatchObject({ tls: true, agentAuth: "token" });
  });

  test("refuses a missing or wrong token with UNAUTHENTICATED; serves the right one", async () => {
    for (const [opts, code] of [
      [{}, status.UNAUTHENTICATED],
      [{ token: "wrong" }, status.UNAUTHENTICATED],
      [{ authorization: token }, status.UNAUTHENTICATED], // no "Bearer"
      [{ token }, status.NOT_FOUND],
    ] as const) {
      const client = agentClient(address, { ...opts, ca, serverName: "localhost" });
      try {
        expect(await client.getAction({ agentId: MAC })).toMatchObject({ code });
      } finally {
        client.close();
      }
    }
  });

  test("serves and records an action end to end; a malformed message is INVALID_ARGUMENT and the server keeps serving", async () => {
    const applied = await runWisp(["apply", "-f", "-"], { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir }, examples());
    expect(applied).toMatchObject({ code: 0 });
    const client = agentClient(address, { token, ca, serverName: "localhost" });
    try {
      const a = (await client.getAction({ agentId: MAC })).value!;
      expect(a).toMatchObject({ workflowId: "tink-system/demo-wf", agentId: MAC, name: "stream-ubuntu-image" });
      for (const garbage of [[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x0f], [0x12, 0x40, 0x61]]) {
        const r = await client.raw("GetAction", Uint8Array.from(garbage));
        expect(r.code).toBe(status.INVALID_ARGUMENT);
        expect(r.details).toStartWith("malformed ActionRequest");
        expect((await client.raw("ReportActionStatus", Uint8Array.from(garbage))).code).toBe(status.INVALID_ARGUMENT);
      }
      expect((await client.reportActionStatus(statusFor(a, "RUNNING"))).code).toBe(status.OK);
      expect((await client.getAction({ agentId: MAC })).value).toEqual(a);
      const described = await runWisp(["get", "wf", "demo-wf", "-n", "tink-system", "-o", "json"], { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir });
      expect(JSON.parse(described.stdout).status.tasks[0].actions[0].state).toBe("RUNNING");

      const served = await wispd.waitForLog("action served");
      expect(served).toMatchObject({ agentId: MAC, workflowId: "tink-system/demo-wf", actionId: a.actionId, method: "GetAction", code: "OK" });
      expect(await wispd.waitForLog("action status reported")).toMatchObject({ actionId: a.actionId, state: "RUNNING" });
      const metrics = await (await fetch(`${wispd.url}/metrics`)).text();
      expect(metrics).toContain('wisp_grpc_requests_total{method="GetAction",code="INVALID_ARGUMENT"} 3');
      expect(metrics).toContain('wisp_grpc_requests_total{method="GetAction",code="UNAUTHENTICATED"} 3');
      expect(metrics).toContain('wisp_grpc_requests_total{method="ReportActionStatus",code="OK"} 1');
      expect(metrics).toMatch(/wisp_grpc_request_duration_seconds_count\{method="GetAction"\} \d+/);
    } finally {
      client.close();
    }
  });

  test("a plain-text client cannot talk to the TLS port", async () => {
    const client = agentClient(address, { token });
    try {
      expect((await client.getAction({ agentId: MAC })).code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});

describe("wispd workflow service, --agent-auth off", () => {
  let data: { dataDir: string; remove(): void };
  let wispd: WispdHandle;

  beforeAll(async () => {
    data = await pgliteDataDir();
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--grpc-port", "0", "--agent-auth", "off"]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    data?.remove();
  });

  test("accepts agents without a token (stock tink-agent), warns at start and writes no agent token", async () => {
    const client = agentClient(`127.0.0.1:${await wispdGrpcPort(wispd)}`);
    try {
      expect(await client.getAction({ agentId: MAC })).toEqual({ code: status.NOT_FOUND, details: `no action for agent ${MAC}` });
    } finally {
      client.close();
    }
    expect(await wispd.waitForLog("agent auth off")).toMatchObject({ level: 40 });
    expect(() => statSync(join(data.dataDir, "agent-token"))).toThrow();
  });
});
