/**
 * The compiled wisp-agent against a real wispd (`--agent-auth token`) and a real Docker daemon:
 * workflows applied through the CLI whose actions run the imported busybox image — a success
 * with environment and a bind mount (its output shipped to wispd and read back with `wisp logs
 * workflow`), a failure (exit 3), a timeout (container stopped and gone).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTestContainers, TEST_IMAGE, testContainers, testDocker, type TestDocker } from "../support/docker.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { runWisp, SETUP_TIMEOUT_MS, startWispd, wispdGrpcPort, type WispdHandle } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** Longest wait for an agent to finish a workflow (pull of a local image, a few short containers). */
const WORKFLOW_TIMEOUT_MS = 40_000;

type Log = Record<string, unknown>;

/** One machine: Hardware, Template and Workflow named `name`, worker `mac`, with `task` as the template's task body. */
function manifests(name: string, mac: string, task: string): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: { name: ${name}, namespace: agent-test }
spec:
  interfaces:
    - dhcp: { mac: "${mac}", hostname: ${name}, arch: x86_64 }
      netboot: { allowPXE: true, allowWorkflow: true }
---
apiVersion: tinkerbell.org/v1alpha1
kind: Template
metadata: { name: ${name}, namespace: agent-test }
spec:
  data: |
    version: "0.1"
    name: ${name}
    global_timeout: 600
    tasks:
      - name: run
        worker: "{{.device_1}}"
${task.replace(/^/gm, "        ")}
---
apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata: { name: ${name}, namespace: agent-test }
spec:
  templateRef: ${name}
  hardwareRef: ${name}
  hardwareMap: { device_1: "${mac}" }
`;
}

interface AgentHandle {
  logs: Log[];
  waitFor(pred: (l: Log) => boolean, what: string, ms?: number): Promise<Log>;
  stop(): Promise<number>;
}

describe("wisp-agent (compiled) with wispd and Docker", () => {
  let docker: TestDocker;
  let data: { dataDir: string; remove(): void };
  let dir: string;
  let wispd: WispdHandle;
  let binary: string;
  let grpcAuthority: string;
  let token: string;
  const agents: AgentHandle[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wisp-agent-test-"));
    binary = join(dir, "wisp-agent");
    const build = Bun.spawn([process.execPath, "build", "--compile", "agent/main.ts", "--outfile", binary], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    [docker, data] = await Promise.all([testDocker(), pgliteDataDir()]);
    if ((await build.exited) !== 0) throw new Error(`bun build --compile: ${await new Response(build.stderr).text()}`);
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--grpc-port", "0", "--agent-auth", "token"]);
    grpcAuthority = `127.0.0.1:${await wispdGrpcPort(wispd)}`;
    await wispd.waitForLog("wispd ready");
    token = readFileSync(join(data.dataDir, "agent-token"), "utf8").trim();
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    if (docker) await removeTestContainers(docker);
    if (wispd) await wispd.stop();
    data?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the compiled agent for `mac`, configured as in the Hook: the kernel command line (a file here). */
  function startAgent(mac: string): AgentHandle {
    const cmdline = join(dir, `cmdline-${mac.replaceAll(":", "")}`);
    writeFileSync(cmdline, `console=ttyS0 worker_id=${mac} grpc_authority=${grpcAuthority} wisp_agent_token=${token}\n`);
    const proc = Bun.spawn(
      [binary, "--cmdline", cmdline, "--docker-socket", docker.socket, "--state-file", join(dir, `state-${mac.replaceAll(":", "")}.json`), "--privileged", String(docker.privileged), "--log-level", "debug"],
      { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } },
    );
    const logs: Log[] = [];
    const watchers = new Set<(l: Log) => void>();
    void (async () => {
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of proc.stdout) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let rec: Log;
          try {
            rec = JSON.parse(line) as Log;
          } catch {
            rec = { raw: line };
          }
          logs.push(rec);
          for (const w of watchers) w(rec);
        }
      }
    })();
    const handle: AgentHandle = {
      logs,
      waitFor(pred, what, ms = WORKFLOW_TIMEOUT_MS) {
        const seen = logs.find(pred);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            watchers.delete(watch);
            reject(new Error(`agent did not log ${what} within ${ms} ms; logs:\n${logs.map((l) => JSON.stringify(l)).join("\n")}`));
          }, ms);
          const watch = (l: Log) => {
            if (!pred(l)) return;
            clearTimeout(timer);
            watchers.delete(watch);
            resolve(l);
          };
          watchers.add(watch);
        });
      },
      async stop() {
        proc.kill("SIGTERM");
        return proc.exited;
      },
    };
    agents.push(handle);
    return handle;
  }

  const apply = async (text: string) => expect(await runWisp(["apply", "-f", "-"], { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir }, text)).toMatchObject({ code: 0 });
  const workflow = async (name: string) => {
    const r = await runWisp(["get", "wf", name, "-n", "agent-test", "-o", "json"], { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { status: { state: string; tasks: { actions: { name: string; state: string; message?: string }[] }[] } };
  };
  /** The agent's report of `state` for the workflow (its last action). */
  const reported = (agent: AgentHandle, name: string, state: string) =>
    agent.waitFor((l) => l.msg === "action status reported" && l.workflowId === `agent-test/${name}` && l.state === state, `${state} for ${name}`);

  test("runs a workflow to SUCCESS: output, environment and a bind-mounted directory", async () => {
    const out = mkdtempSync(join(dir, "out-"));
    const mac = "02:00:00:00:a0:01";
    await apply(
      manifests(
        "ok",
        mac,
        `volumes: ["${out}:/out"]
environment: { GREETING: from-task }
actions:
  - name: hello
    image: ${TEST_IMAGE}
    timeout: 60
    command: [echo, hello]
  - name: env-and-volume
    image: ${TEST_IMAGE}
    timeout: 60
    command: [/bin/sh, -c, 'echo "$DEST_DISK $GREETING" > /out/written; echo "dest=$DEST_DISK"']
    environment: { DEST_DISK: /dev/sda }`,
      ),
    );
    const agent = startAgent(mac);
    const successes = () => agent.logs.filter((l) => l.msg === "action status reported" && l.state === "SUCCESS").length;
    await agent.waitFor(() => successes() === 2, "two SUCCESS reports");
    const wf = await workflow("ok");
    expect(wf.status.state).toBe("SUCCESS");
    expect(wf.status.tasks[0]!.actions.map((a) => [a.name, a.state])).toEqual([["hello", "SUCCESS"], ["env-and-volume", "SUCCESS"]]);
    expect(readFileSync(join(out, "written"), "utf8")).toBe("/dev/sda from-task\n");
    const output = agent.logs.filter((l) => l.msg === "action output");
    expect(output.map((l) => l.line)).toEqual(["hello", "dest=/dev/sda"]);
    expect(output[0]).toMatchObject({ workflowId: "agent-test/ok", stream: "stdout" });
    expect(typeof output[0]!.containerId).toBe("string");
    expect(typeof output[0]!.actionId).toBe("string");
    // Every container is removed.
    for (const l of agent.logs.filter((x) => x.msg === "action finished")) expect((await docker.api("GET", `/containers/${l.containerId}/json`)).status).toBe(404);
    expect(agent.logs.filter((l) => l.msg === "action status reported").map((l) => l.state)).toEqual(["RUNNING", "SUCCESS", "RUNNING", "SUCCESS"]);
    // The output was shipped to wispd, and flushed before each SUCCESS: readable at once.
    const shipped = await runWisp(["logs", "workflow", "ok", "-n", "agent-test"], { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir });
    expect(shipped.code).toBe(0);
    const lines = shipped.stdout.trim().split("\n").map((l) => l.slice(l.indexOf(" ") + 1));
    expect(lines).toEqual(["hello[1] stdout | hello", "env-and-volume[1] stdout | dest=/dev/sda"]);
    expect(agent.logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("action log") && l.level === 40)).toEqual([]);
  }, 60_000);

  test("an exit code other than 0 is FAILED, with the code and the last output in the message", async () => {
    const mac = "02:00:00:00:a0:02";
    await apply(manifests("fails", mac, `actions:\n  - name: exit-3\n    image: ${TEST_IMAGE}\n    timeout: 60\n    command: [/bin/sh, -c, 'echo about to fail >&2; exit 3']`));
    const agent = startAgent(mac);
    await reported(agent, "fails", "FAILED");
    const wf = await workflow("fails");
    expect(wf.status.state).toBe("FAILED");
    expect(wf.status.tasks[0]!.actions[0]!.message).toBe("exit code 3; last output:\nabout to fail");
  }, 60_000);

  test("past its timeout an action is stopped, reported TIMEOUT, and its container is gone", async () => {
    const mac = "02:00:00:00:a0:03";
    await apply(manifests("slow", mac, `actions:\n  - name: sleeps\n    image: ${TEST_IMAGE}\n    timeout: 2\n    command: [sleep, "30"]`));
    const agent = startAgent(mac);
    const stopping = await agent.waitFor((l) => l.msg === "action timed out, stopping", "the timeout");
    await reported(agent, "slow", "TIMEOUT");
    const wf = await workflow("slow");
    expect(wf.status.state).toBe("TIMEOUT");
    expect(wf.status.tasks[0]!.actions[0]!.message).toStartWith("timed out after 2s");
    expect((await docker.api("GET", `/containers/${stopping.containerId}/json`)).status).toBe(404);
    expect(await testContainers(docker)).toEqual([]);
  }, 60_000);
});
