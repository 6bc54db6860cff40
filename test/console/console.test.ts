/**
 * The web console in Debian's headless chromium against a real wispd (PGlite): sign in with the
 * API token (a wrong one refused), apply the shared examples through the page (as written: the
 * error; fixed: created), toggle allowPXE, watch the workflow progress while a test agent reports
 * actions over gRPC (no reload), see action log lines pushed through wisp.v1.ActionLogs arrive,
 * re-run and cancel, read a template and a machine's syslog lines. Every page is screenshotted
 * into an artifacts directory the test prints, and no page may log an error.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { createLogShipper, logsClient } from "../../agent/log-shipper.ts";
import { agentClient, statusFor, type AgentClient } from "../grpc/agent-client.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { EXAMPLES_DIR, SETUP_TIMEOUT_MS, startWispd, wispdGrpcPort, type WispdHandle } from "../support/processes.ts";
import { startRedfishEmulator, type RedfishEmulator } from "../support/redfish-emulator.ts";
import { artifactsDir, CHROMIUM, openBrowser, type ConsoleBrowser } from "./browser.ts";

const MAC = "1c:69:7a:11:22:33";
/** Per browser test: a loaded CI machine makes chromium slow (each wait inside is bounded by 30 s). */
const BROWSER_TEST_MS = 120_000;
const REDFISH_PASSWORD = "console-test-pw";
/** A Hardware whose syslog comes from 127.0.0.1 and whose BMC is the Redfish emulator. */
const labVm = (redfishPort: number) => `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: { name: lab-vm, namespace: tink-system }
spec:
  bmcRef: { apiGroup: bmc.tinkerbell.org, kind: Machine, name: lab-vm-bmc }
  interfaces:
    - dhcp: { mac: "52:54:00:aa:bb:01", hostname: lab-vm, ip: { address: 127.0.0.1 } }
      netboot: { allowPXE: false, allowWorkflow: true }
---
apiVersion: v1
kind: Secret
metadata: { name: lab-vm-bmc-creds, namespace: tink-system }
stringData: { username: admin, password: "${REDFISH_PASSWORD}" }
---
apiVersion: bmc.tinkerbell.org/v1alpha1
kind: Machine
metadata: { name: lab-vm-bmc, namespace: tink-system }
spec:
  connection:
    host: 127.0.0.1
    insecureTLS: true
    authSecretRef: { name: lab-vm-bmc-creds, namespace: tink-system }
    providerOptions: { preferredOrder: [redfish], redfish: { port: ${redfishPort} } }
`;

/** A UDP port free right now (for the syslog receiver, which takes no port 0). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function sendSyslog(port: number, line: string): Promise<void> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  await new Promise<void>((r, j) => s.send(line, port, "127.0.0.1", (e) => (e ? j(e) : r())));
  s.close();
}

function example(file: string, fixed = false): { name: string; mimeType: string; buffer: Buffer } {
  let text = readFileSync(join(EXAMPLES_DIR, file), "utf8");
  if (fixed) text = text.replace("hardwareRef: hp-demo", "hardwareRef: nuc-demo");
  return { name: file, mimeType: "text/yaml", buffer: Buffer.from(text) };
}

describe("web console in chromium", () => {
  let data: { dataDir: string; remove(): void };
  let wispd: WispdHandle;
  let browser: ConsoleBrowser;
  let page: Page;
  let apiToken: string;
  let agentToken: string;
  let grpcAddress: string;
  let syslogPort: number;
  let agent: AgentClient;
  let redfish: RedfishEmulator;
  const artifacts = artifactsDir();

  /** Asserts that no page logged an error, except the listed expected ones (a refused request), then forgets them. */
  const noErrors = (expected: RegExp[] = []) => {
    const unexpected = browser.errors.filter((e) => !expected.some((re) => re.test(e)));
    browser.errors.length = 0;
    expect(unexpected).toEqual([]);
  };
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${wispd.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const go = async (hash: string) => {
    await page.evaluate((h) => ((globalThis as any).location.hash = h), hash);
  };

  beforeAll(async () => {
    // As for qemu (docs/testing.md): a missing package fails the test with its name.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
    console.log(`console screenshots: ${artifacts}`);
    data = await pgliteDataDir();
    syslogPort = await freeUdpPort();
    redfish = await startRedfishEmulator({ username: "admin", password: REDFISH_PASSWORD, power: "On" });
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--grpc-port", "0", "--syslog-port", String(syslogPort), "--bmc-poll-interval", "1"]);
    grpcAddress = `127.0.0.1:${await wispdGrpcPort(wispd)}`;
    await wispd.waitForLog("wispd ready");
    apiToken = readFileSync(join(data.dataDir, "api-token"), "utf8").trim();
    agentToken = readFileSync(join(data.dataDir, "agent-token"), "utf8").trim();
    agent = agentClient(grpcAddress, { token: agentToken });
    browser = await openBrowser(artifacts);
    page = browser.page;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    agent?.close();
    await browser?.close();
    if (wispd) expect(await wispd.stop()).toBe(0);
    await redfish?.stop();
    data?.remove();
  }, SETUP_TIMEOUT_MS);

  test("/ leads to the sign-in page; a wrong token is refused, the right one signs in", async () => {
    // The page and its script need no token (they hold no data); the feed does.
    expect((await fetch(`${wispd.url}/console/console.js`)).status).toBe(200);
    expect((await fetch(`${wispd.url}/api/v1/events`)).status).toBe(401);
    await page.goto(`${wispd.url}/`);
    await page.waitForURL(/\/console\/#\/login$/);
    await page.getByLabel("API token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toBe("That token was refused.");
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length)).toBe(0);
    await browser.screenshot("login-refused");
    // Chromium reports the refused request itself as a console error: that one only.
    noErrors([/status of 401 .*\/api\/v1\/templates\)$/]);

    await page.getByLabel("API token").fill(apiToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/#\/workflows$/);
    await page.getByRole("heading", { name: "Workflows" }).waitFor();
    await page.getByText("No workflows yet").waitFor();
    await page.locator(".live.on").waitFor(); // the change feed is connected
    await browser.screenshot("workflows-empty");
    noErrors();
  }, BROWSER_TEST_MS);

  test("apply: the examples as written fail naming hp-demo and store nothing; fixed, they are created", async () => {
    await page.getByRole("link", { name: "Apply" }).click();
    await page.getByLabel("Or files").setInputFiles([example("hardware.yaml"), example("template.yaml"), example("workflow.yaml")]);
    await page.getByRole("button", { name: "Apply" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/workflow\.yaml#0 Workflow tink-system\/demo-wf: spec\.hardwareRef: Hardware "hp-demo" not found/);
    expect((await api("/hardware")).body).toEqual([]);
    await browser.screenshot("apply-refused");
    noErrors([/status of 404 .*\/api\/v1\/apply\)$/]);

    await page.getByLabel("Or files").setInputFiles([example("hardware.yaml", true), example("template.yaml", true), example("workflow.yaml", true)]);
    await page.getByLabel("Manifests").fill(labVm(redfish.port));
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("status").filter({ hasText: "Applied." }).waitFor();
    const applied = await page.locator("ul.applied").textContent();
    for (const line of [
      "hardware/nuc-demo (tink-system) created",
      "template/ubuntu-focal-nvme (tink-system) created",
      "workflow/demo-wf (tink-system) created",
      "hardware/lab-vm (tink-system) created",
      "secret/lab-vm-bmc-creds (tink-system) created",
      "machine/lab-vm-bmc (tink-system) created",
    ]) {
      expect(applied).toContain(line);
    }
    expect((await api("/namespaces/tink-system/workflows/demo-wf")).body.status.state).toBe("PENDING");
    await browser.screenshot("apply-created");
    noErrors();
  }, BROWSER_TEST_MS);

  test("machines: addresses, BMC power state, the workflow, and allowPXE toggled both ways through the API", async () => {
    // wispd polls the BMC every second; the page reads Machines when it opens (and every 15 s).
    const end = Date.now() + 30_000;
    while ((await api("/namespaces/tink-system/machines/lab-vm-bmc")).body.status?.powerState !== "on") {
      if (Date.now() > end) throw new Error(`Machine lab-vm-bmc not polled "on": ${JSON.stringify((await api("/namespaces/tink-system/machines/lab-vm-bmc")).body.status)}`);
      await Bun.sleep(200);
    }
    await page.getByRole("link", { name: "Machines" }).click();
    const lab = page.locator('tr[data-hardware="tink-system/lab-vm"]');
    await lab.locator(".power-on", { hasText: "on" }).waitFor();
    const row = page.locator('tr[data-hardware="tink-system/nuc-demo"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(MAC);
    expect(await row.textContent()).toContain("192.168.1.8");
    expect(await row.textContent()).toContain("no BMC");
    expect(await row.getByRole("link", { name: "demo-wf" }).isVisible()).toBe(true);
    const toggle = row.getByRole("switch", { name: "Netboot nuc-demo" });
    expect(await toggle.getAttribute("aria-checked")).toBe("true");
    const allowPxe = async () => (await api("/namespaces/tink-system/hardware/nuc-demo")).body.spec.interfaces[0].netboot.allowPXE;

    await toggle.click();
    await page.waitForSelector('tr[data-hardware="tink-system/nuc-demo"] [role=switch][aria-checked=false]');
    expect(await allowPxe()).toBe(false);
    await browser.screenshot("machines-pxe-off");
    // Keyboard: focus and Enter toggles it back.
    await row.getByRole("switch").focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector('tr[data-hardware="tink-system/nuc-demo"] [role=switch][aria-checked=true]');
    expect(await allowPxe()).toBe(true);

    // A change made elsewhere (the API, as the CLI does) shows up without a reload.
    const hw = (await api("/namespaces/tink-system/hardware/lab-vm")).body;
    hw.spec.interfaces[0].netboot.allowPXE = true;
    expect((await api("/namespaces/tink-system/hardware/lab-vm", { method: "PUT", body: JSON.stringify({ apiVersion: hw.apiVersion, kind: "Hardware", metadata: { name: "lab-vm", namespace: "tink-system" }, spec: hw.spec }) })).status).toBe(200);
    await page.waitForSelector('tr[data-hardware="tink-system/lab-vm"] [role=switch][aria-checked=true]');
    await browser.screenshot("machines");
    noErrors();
  }, BROWSER_TEST_MS);

  test("workflows: the progress bar follows the agent's reports live, without a reload", async () => {
    await page.getByRole("link", { name: "Workflows" }).click();
    const row = page.locator('tr[data-workflow="tink-system/demo-wf"]');
    await row.waitFor();
    expect(await row.locator(".progress-count").textContent()).toBe("0/7");
    await page.evaluate(() => ((globalThis as any).notReloaded = true));

    const first = (await agent.getAction({ agentId: MAC })).value!;
    expect(first.name).toBe("stream-ubuntu-image");
    expect((await agent.reportActionStatus(statusFor(first, "RUNNING"))).code).toBe(status.OK);
    await page.waitForSelector('tr[data-workflow="tink-system/demo-wf"][data-state=RUNNING] .segment[data-action=stream-ubuntu-image][data-state=RUNNING]');
    await browser.screenshot("workflows-running");
    expect((await agent.reportActionStatus(statusFor(first, "SUCCESS"))).code).toBe(status.OK);
    for (let i = 0; i < 2; i++) {
      const a = (await agent.getAction({ agentId: MAC })).value!;
      expect((await agent.reportActionStatus(statusFor(a, "RUNNING"))).code).toBe(status.OK);
      expect((await agent.reportActionStatus(statusFor(a, "SUCCESS"))).code).toBe(status.OK);
    }
    await page.waitForFunction(() => (globalThis as any).document.querySelector('tr[data-workflow="tink-system/demo-wf"] .progress-count')?.textContent === "3/7");
    const states = await row.locator(".segment").evaluateAll((els) => els.map((e) => (e as any).dataset.state as string));
    expect(states).toEqual(["SUCCESS", "SUCCESS", "SUCCESS", "PENDING", "PENDING", "PENDING", "PENDING"]);
    expect(await page.evaluate(() => (globalThis as any).notReloaded)).toBe(true);
    await browser.screenshot("workflows-progress");
    noErrors();
  }, BROWSER_TEST_MS);

  test("one workflow: actions, events and log lines arriving live; it ends, is re-run, then cancelled", async () => {
    await page.locator('tr[data-workflow="tink-system/demo-wf"]').getByRole("link", { name: "demo-wf" }).click();
    await page.waitForURL(/#\/workflows\/tink-system\/demo-wf$/);
    await page.getByRole("table", { name: "Actions" }).waitFor();

    const logs = logsClient(grpcAddress, { tls: false, token: agentToken });
    const fourth = (await agent.getAction({ agentId: MAC })).value!;
    expect(fourth.name).toBe("create-user");
    expect((await agent.reportActionStatus(statusFor(fourth, "RUNNING"))).code).toBe(status.OK);
    await page.waitForSelector('table[aria-label=Actions] tr[data-action=create-user][data-state=RUNNING]');
    const ship = createLogShipper({ client: logs, workflowId: fourth.workflowId as string, agentId: MAC, actionId: fourth.actionId as string, attempt: 1, batchMs: 20 });
    ship.push("stdout", "useradd: creating tink");
    await ship.flush();
    const log = page.getByRole("list", { name: "Action logs" });
    await log.getByText("useradd: creating tink").waitFor();
    ship.push("stderr", "warning: <b>not bold</b>");
    await ship.flush();
    await log.getByText("warning: <b>not bold</b>").waitFor(); // text, never markup
    expect(await log.locator("b").count()).toBe(0);
    expect(await log.locator("li").first().textContent()).toContain("create-user[1]");
    // Only one action's lines: the others are hidden, not dropped.
    await page.getByLabel("Show lines of").selectOption("grow-partition");
    expect(await log.locator("li:visible").count()).toBe(0);
    await page.getByLabel("Show lines of").selectOption("create-user");
    expect(await log.locator("li:visible").count()).toBe(2);
    await page.getByLabel("Show lines of").selectOption("");
    await browser.screenshot("workflow-logs-live");
    await ship.close();
    expect((await agent.reportActionStatus(statusFor(fourth, "SUCCESS"))).code).toBe(status.OK);
    for (let i = 0; i < 3; i++) {
      const a = (await agent.getAction({ agentId: MAC })).value!;
      expect((await agent.reportActionStatus(statusFor(a, "RUNNING"))).code).toBe(status.OK);
      expect((await agent.reportActionStatus(statusFor(a, "SUCCESS"))).code).toBe(status.OK);
    }
    await page.locator("h1 .badge", { hasText: "SUCCESS" }).waitFor();
    const events = page.getByRole("table", { name: "Events" });
    await events.getByText("RUNNING → SUCCESS").first().waitFor();
    expect(await page.getByRole("button", { name: "Cancel" }).isDisabled()).toBe(true);
    await browser.screenshot("workflow-success");

    await page.getByRole("button", { name: "Re-run" }).click();
    await page.getByRole("status").filter({ hasText: "Workflow started again." }).waitFor();
    await page.locator("h1 .badge", { hasText: "PENDING" }).waitFor();
    expect(await log.locator("li").count()).toBe(0); // a re-run starts its logs afresh
    expect(await page.locator("[data-log-status]").textContent()).toBe("No lines yet.");
    const again = (await agent.getAction({ agentId: MAC })).value!;
    expect(again.name).toBe("stream-ubuntu-image");
    expect((await agent.reportActionStatus(statusFor(again, "RUNNING"))).code).toBe(status.OK);
    await page.locator("h1 .badge", { hasText: "RUNNING" }).waitFor();

    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("status").filter({ hasText: "Workflow cancelled." }).waitFor();
    await page.locator("h1 .badge", { hasText: "FAILED" }).waitFor();
    await page.getByRole("table", { name: "Actions" }).getByText("cancelled by operator").waitFor();
    await events.getByText("cancelled by operator").first().waitFor();
    // The agent carries on: its next report is refused, and nothing more is served.
    const refused = await agent.reportActionStatus(statusFor(again, "SUCCESS"));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.details).toContain("already FAILED");
    expect((await agent.getAction({ agentId: MAC })).code).toBe(status.FAILED_PRECONDITION);
    await browser.screenshot("workflow-cancelled");
    logs.close();
    noErrors();
  }, BROWSER_TEST_MS);

  test("templates: the list and one Template's data with the workflow rendered from it", async () => {
    await page.getByRole("link", { name: "Templates" }).click();
    await page.getByRole("link", { name: "ubuntu-focal-nvme" }).click();
    await page.waitForURL(/#\/templates\/tink-system\/ubuntu-focal-nvme$/);
    const data = page.getByLabel("Template data");
    await data.waitFor();
    expect(await data.textContent()).toContain('worker: "{{.device_1}}"');
    const rendered = page.locator("section.task");
    await rendered.getByRole("link", { name: "demo-wf" }).waitFor();
    expect(await rendered.textContent()).toContain(MAC); // the worker, rendered
    expect(await rendered.textContent()).toContain("quay.io/tinkerbell-actions/image2disk:v1.0.0");
    await browser.screenshot("template");
    noErrors();
  }, BROWSER_TEST_MS);

  test("syslog: a machine's lines, and new ones as they come", async () => {
    await sendSyslog(syslogPort, "<14>Nov 22 07:00:00 lab-vm ipxe: Waiting for link-up on net0... ok");
    await go("#/machines");
    await page.locator('tr[data-hardware="tink-system/lab-vm"]').getByRole("link", { name: "syslog" }).click();
    await page.waitForURL(/#\/machines\/tink-system\/lab-vm\/syslog$/);
    const list = page.getByRole("list", { name: "Syslog of lab-vm" });
    await list.getByText("Waiting for link-up on net0... ok").waitFor();
    await sendSyslog(syslogPort, "<11>Nov 22 07:00:05 lab-vm kernel: EXT4-fs mounted");
    await list.getByText("EXT4-fs mounted").waitFor();
    expect(await list.locator("li").count()).toBe(2);
    await browser.screenshot("syslog");
    noErrors();
  }, BROWSER_TEST_MS);

  test("signing out forgets the token", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/#\/login$/);
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length)).toBe(0);
    await go("#/workflows");
    await page.waitForURL(/#\/login$/);
    await page.getByLabel("API token").waitFor();
    noErrors();
  }, BROWSER_TEST_MS);
});
