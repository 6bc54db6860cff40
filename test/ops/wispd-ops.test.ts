/**
 * Operating wispd for real, in a network namespace the test makes: wispd runs as `nobody` with
 * only the unit's ambient capabilities (setpriv), binds DHCP :67 on a link, TFTP :69 and syslog
 * :514, and serves a real DHCP client (udhcpc), TFTP (tftp-hpa), boot HTTP, metadata and an
 * agent's gRPC calls. Then: /readyz names every listener, /metrics parses strictly with the
 * counters and histograms of that traffic, and every log line about the machine carries its MAC.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_CAPABILITIES } from "../../cli/install-service.ts";
import { clientScript, hardwareYaml, startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";
import { createNetLab, execHost, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";
import { parsePrometheusText, sampleSum, sampleValue, type Family } from "../support/prometheus.ts";

const MAC = "52:54:00:0a:73:50";
const HARDWARE = "default/node-ops";
const WORKFLOW = "default/wf-ops";
const NOBODY = 65534;
/** setpriv's names for the unit's capabilities (CAP_NET_BIND_SERVICE -> net_bind_service). */
const CAPS = SERVICE_CAPABILITIES.map((c) => `+${c.slice(4).toLowerCase()}`).join(",");
/** CapAmb of a process holding exactly those: bits 10, 12 and 13 (<linux/capability.h>). */
const CAP_MASK = ((1 << 10) | (1 << 12) | (1 << 13)).toString(16).padStart(16, "0");
const STEP_TIMEOUT_MS = 30_000;

const TEMPLATE = `apiVersion: tinkerbell.org/v1alpha1
kind: Template
metadata:
  name: ops-template
  namespace: default
spec:
  data: |
    version: "0.1"
    name: ops
    global_timeout: 600
    tasks:
      - name: install
        worker: "{{.device_1}}"
        actions:
          - name: only-action
            image: busybox
            timeout: 60
---
apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata:
  name: wf-ops
  namespace: default
spec:
  templateRef: ops-template
  hardwareRef: node-ops
  hardwareMap:
    device_1: ${MAC}
`;

/** A data directory `nobody` owns (a copy of the migrated PGlite template) in a directory it can reach. */
async function nobodyDataDir(cleanups: (() => unknown)[]): Promise<string> {
  const template = await pgliteDataDir();
  cleanups.push(template.remove);
  const dir = mkdtempSync(join(tmpdir(), "wisp-ops-"));
  whenProcessGone(`rm -rf ${shellQuote(dir)}`);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  cpSync(template.dataDir, data, { recursive: true });
  const chown = await execHost(["chown", "-R", `${NOBODY}:${NOBODY}`, data]);
  if (chown.code !== 0) throw new Error(`chown: ${chown.stderr}`);
  return data;
}

/** setpriv to nobody, with `caps` inheritable, ambient and bounding (or none at all). */
function asNobody(dataDir: string, caps: string | undefined): string[] {
  const set = caps === undefined ? "-all" : `-all,${caps}`;
  return [
    "setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups",
    `--inh-caps=${set}`, ...(caps === undefined ? [] : [`--ambient-caps=${set}`]), `--bounding-set=${set}`, "--",
    // Bun keeps its transpiler cache under $HOME: nobody's is not writable.
    "env", `HOME=${dataDir}`, "BUN_RUNTIME_TRANSPILER_CACHE_PATH=0",
  ];
}

describe.skipIf(!IS_ROOT)("wispd as nobody with the unit's capabilities (network namespace)", () => {
  let lab: NetLab;
  let srv: Netns;
  let cli: Netns;
  let wispd: NsWispd | undefined;
  let dataDir: string;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    await requireTools({ setpriv: "util-linux", udhcpc: "udhcpc", tftp: "tftp-hpa", curl: "curl", python3: "python3" });
    lab = await createNetLab();
    srv = await lab.namespace("srv");
    cli = await lab.namespace("cli");
    await lab.link({ ns: srv, name: "s0", address: "10.73.0.1/24" }, { ns: cli, name: "c0", mac: MAC });
    dataDir = await nobodyDataDir(cleanups);
    wispd = await startWispdIn(srv, dataDir, ["--dhcp-interface", "s0", "--syslog-port", "514", "--log-level", "debug", "--trusted-proxies", "127.0.0.1"], asNobody(dataDir, CAPS));
    await wispd.apply(hardwareYaml({ name: "node-ops", mac: MAC, ip: "10.73.0.50", gateway: "10.73.0.1", dns: ["10.73.0.53"], hostname: "node-ops" }), 1);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    await lab?.close();
    for (const c of cleanups.reverse()) await c();
  }, SETUP_TIMEOUT_MS);

  test("wispd runs as nobody holding exactly the three ambient capabilities, and /readyz names every listener", async () => {
    const pids = (await execHost(["ip", "netns", "pids", srv.name])).stdout.split("\n").filter(Boolean);
    const daemons = pids
      .map((pid) => ({ pid, cmdline: readProc(pid, "cmdline").replaceAll("\0", " "), status: readProc(pid, "status") }))
      .filter((p) => p.cmdline.includes("daemon/main.ts"));
    expect(daemons.length).toBeGreaterThanOrEqual(1);
    for (const d of daemons) {
      expect(d.status).toMatch(new RegExp(`^Uid:\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}$`, "m"));
      expect(d.status).toMatch(new RegExp(`^CapAmb:\\s+${CAP_MASK}$`, "m"));
      expect(d.status).toMatch(new RegExp(`^CapEff:\\s+${CAP_MASK}$`, "m"));
    }
    const ready = JSON.parse(await srv.run(["curl", "-sS", "--max-time", "5", `${wispd!.url}/readyz`])) as { status: string; checks: Record<string, string> };
    expect(ready).toEqual({
      status: "ok",
      checks: {
        store: "ok",
        http: expect.stringMatching(/^ok 127\.0\.0\.1:\d+$/),
        dhcp: "ok s0:67",
        syslog: "ok 127.0.0.1:514",
        tftp: "ok 127.0.0.1:69",
        grpc: expect.stringMatching(/^ok 127\.0\.0\.1:\d+$/),
      },
    });
    const health = JSON.parse(await srv.run(["curl", "-sS", "--max-time", "5", `${wispd!.url}/healthz`]));
    expect(health.status).toBe("ok");
  });

  test("DHCP, TFTP, boot HTTP, metadata, syslog and an agent's reports: /metrics parses and counts them", async () => {
    // DHCP: a real client; the reply goes unicast (SIOCSARP works: CAP_NET_ADMIN).
    const rec = clientScript("udhcpc");
    const dhcp = await cli.exec(["udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "2", "-i", "c0", "-s", rec.script], { timeoutMs: STEP_TIMEOUT_MS });
    expect(dhcp.code).toBe(0);
    expect(rec.events().find((e) => e.reason === "bound")).toMatchObject({ ip: "10.73.0.50" });
    expect(wispd!.logs.some((l) => l.msg === "arp entry not set; broadcasting the reply")).toBe(false);

    // TFTP :69 with the MAC in the path (PXELINUX's 01-<mac> form: tftp-hpa reads "a:b" as host:file).
    const local = join(dataDir, "..", "undionly.kpxe");
    const tftp = await srv.exec(["tftp", "-4", "127.0.0.1", "69", "-m", "binary", "-c", "get", `01-${MAC.replaceAll(":", "-")}/undionly.kpxe`, local], { timeoutMs: STEP_TIMEOUT_MS });
    expect({ code: tftp.code, out: tftp.stdout + tftp.stderr }).toEqual({ code: 0, out: "" });
    expect(readFileSync(local).length).toBeGreaterThan(10_000);

    // Boot HTTP (script by MAC; a binary from the machine's address through the trusted proxy) and metadata.
    const script = await srv.run(["curl", "-sS", "--fail", "--max-time", "10", `${wispd!.url}/ipxe/script/${MAC}/auto.ipxe`]);
    expect(script).toStartWith("#!ipxe");
    await srv.run(["curl", "-sS", "--fail", "--max-time", "10", "-o", "/dev/null", "-H", "X-Forwarded-For: 10.73.0.50", `${wispd!.url}/ipxe/binary/undionly.kpxe`]);
    const hostname = await srv.run(["curl", "-sS", "--fail", "--max-time", "10", "-H", "X-Forwarded-For: 10.73.0.50", `${wispd!.url}/2009-04-04/meta-data/hostname`]);
    expect(hostname.trim()).toBe("node-ops");
    await srv.run(["python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'<14>1 - host app - - - hello from ops', ('127.0.0.1', 514))"]);
    const deadline = performance.now() + STEP_TIMEOUT_MS;
    while ((await wispd!.metric("wisp_syslog_messages_total", { result: "parsed" })) < 1) {
      if (performance.now() > deadline) throw new Error("the syslog datagram was not counted");
      await Bun.sleep(50);
    }

    // An agent: a workflow for the MAC, fetched and reported RUNNING then SUCCESS over gRPC.
    await wispd!.apply(TEMPLATE, 1);
    const token = readFileSync(join(dataDir, "agent-token"), "utf8").trim();
    const grpcPort = wispd!.logs.find((l) => l.msg === "grpc listening")!.port as number;
    const agent = await agentInNamespace(srv, grpcPort, token);
    expect(agent).toEqual({ get: 0, running: 0, success: 0 });

    const text = await wispd!.metrics();
    const f = parsePrometheusText(text);
    const at = (name: string, labels: Record<string, string> = {}) => sampleSum(f, name, labels);
    expect(at("wisp_dhcp_requests_total", { iface: "s0", type: "discover" })).toBeGreaterThanOrEqual(1);
    expect(at("wisp_dhcp_replies_total", { iface: "s0", type: "ack" })).toBeGreaterThanOrEqual(1);
    expect(at("wisp_dhcp_decision_seconds_count", { iface: "s0" })).toBeGreaterThanOrEqual(2);
    expect(at("wisp_dhcp_delivery_fallbacks_total")).toBe(0);
    expect(at("wisp_tftp_transfers_total", { result: "complete" })).toBeGreaterThanOrEqual(1);
    expect(at("wisp_tftp_transfer_duration_seconds_count", { result: "complete" })).toBeGreaterThanOrEqual(1);
    expect(at("wisp_http_requests_total", { group: "boot", code: "200" })).toBeGreaterThanOrEqual(2);
    expect(at("wisp_http_requests_total", { group: "metadata", code: "200" })).toBe(1);
    expect(at("wisp_http_requests_total", { group: "api" })).toBeGreaterThanOrEqual(2);
    expect(at("wisp_http_request_duration_seconds_count", { group: "boot", class: "2xx" })).toBeGreaterThanOrEqual(2);
    expect(at("wisp_http_request_duration_seconds_count", { group: "metadata", class: "2xx" })).toBe(1);
    expect(at("wisp_metadata_requests_total", { status: "200" })).toBe(1);
    expect(at("wisp_grpc_requests_total", { method: "GetAction", code: "OK" })).toBeGreaterThanOrEqual(1);
    expect(at("wisp_grpc_requests_total", { method: "ReportActionStatus", code: "OK" })).toBe(2);
    expect(at("wisp_grpc_request_duration_seconds_count", { method: "ReportActionStatus" })).toBe(2);
    expect(at("wisp_syslog_messages_total", { result: "parsed" })).toBe(1);
    expect(sampleValue(f, "wisp_workflows", { state: "SUCCESS" })).toBe(1);
    expect(sampleValue(f, "wisp_workflows", { state: "RUNNING" })).toBe(0);
    expect(sampleValue(f, "wisp_action_outcomes_total", { outcome: "SUCCESS" })).toBe(1);
    expect(sampleValue(f, "wisp_action_outcomes_total", { outcome: "FAILED" })).toBe(0);
    expect(at("wisp_store_query_duration_seconds_count", { outcome: "ok" })).toBeGreaterThan(10);
    expect(f.get("wisp_store_query_duration_seconds")!.type).toBe("histogram");
    for (const name of ["process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds", "wisp_event_loop_lag_seconds"]) {
      expect(f.has(name)).toBe(true);
    }
    expect(sampleValue(f, "process_open_fds")).toBeGreaterThan(5);
    expectHelpAndType(f);
  }, 120_000);

  test("every log line about the machine carries its MAC: one filter follows its boot", () => {
    const logs = wispd!.logs;
    const about = logs.filter((l) => l.hardware === HARDWARE || l.workflow === WORKFLOW || l.mac === MAC || l.agentId === MAC);
    const missing = about.filter((l) => l.mac !== MAC);
    expect(missing).toEqual([]);
    // The one filter (jq 'select(.mac=="…")') finds a line of every part the machine went through.
    const byMac = logs.filter((l) => l.mac === MAC).map((l) => String(l.msg));
    for (const msg of ["dhcp reply", "tftp transfer started", "tftp transfer complete", "ipxe script served", "ipxe binary served", "metadata served", "action served", "action status reported", "action reported"]) {
      expect(byMac).toContain(msg);
    }
    for (const l of logs.filter((x) => x.mac === MAC && ["dhcp reply", "ipxe script served", "ipxe binary served", "metadata served", "action served", "action status reported", "tftp transfer complete"].includes(String(x.msg)))) {
      expect(l.hardware).toBe(HARDWARE);
    }
    for (const l of logs.filter((x) => x.mac === MAC && ["action served", "action status reported", "action reported"].includes(String(x.msg)))) {
      expect(l.workflow).toBe(WORKFLOW);
    }
  });
});

describe.skipIf(!IS_ROOT)("wispd as nobody without the capabilities (network namespace)", () => {
  test("binding DHCP :67 fails start-up, naming the port: the capabilities are what makes it work", async () => {
    await requireTools({ setpriv: "util-linux" });
    const cleanups: (() => unknown)[] = [];
    const lab = await createNetLab();
    try {
      const srv = await lab.namespace("srv");
      const peer = await lab.namespace("peer");
      await lab.link({ ns: srv, name: "s0", address: "10.72.0.1/24" }, { ns: peer, name: "p0" });
      const dataDir = await nobodyDataDir(cleanups);
      const error = await startWispdIn(srv, dataDir, ["--dhcp-interface", "s0", "--syslog-port", "0", "--tftp-port", "0"], asNobody(dataDir, undefined)).then(
        (w) => (void w.stop(), "started"),
        (e: Error) => e.message,
      );
      expect(error).toContain("exited");
      expect(error).toMatch(/67/);
      expect(error).toMatch(/EACCES|permission denied|Operation not permitted/i);
    } finally {
      await lab.close();
      for (const c of cleanups.reverse()) await c();
    }
  }, 90_000);
});

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return "";
  }
}

/** Every family has HELP and TYPE (scrapers keep the type; dashboards show the help). */
function expectHelpAndType(f: Map<string, Family>): void {
  const bare = [...f.values()].filter((x) => x.help === undefined || (x.type === "untyped" && x.samples.length > 0));
  expect(bare.map((x) => x.name)).toEqual([]);
}

/**
 * Runs the agent side inside the namespace (wispd's gRPC listens on its loopback): GetAction,
 * RUNNING, SUCCESS. Resolves to the gRPC status codes (0 = OK).
 */
async function agentInNamespace(ns: Netns, port: number, token: string): Promise<{ get: number; running: number; success: number }> {
  const dir = mkdtempSync(join(tmpdir(), "wisp-ops-agent-"));
  try {
    const script = join(dir, "agent.ts");
    writeFileSync(
      script,
      `import { agentClient, statusFor } from ${JSON.stringify(join(import.meta.dir, "..", "grpc", "agent-client.ts"))};
const client = agentClient("127.0.0.1:${port}", { token: ${JSON.stringify(token)} });
const got = await client.getAction({ agentId: ${JSON.stringify(MAC)} });
const a = got.value ?? {};
const running = await client.reportActionStatus(statusFor(a, "RUNNING"));
const success = await client.reportActionStatus(statusFor(a, "SUCCESS", { executionDuration: 1 }));
client.close();
console.log(JSON.stringify({ get: got.code, running: running.code, success: success.code }));
`,
    );
    const out = await ns.run([process.execPath, script], { timeoutMs: STEP_TIMEOUT_MS });
    return JSON.parse(out.trim().split("\n").at(-1)!) as { get: number; running: number; success: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
