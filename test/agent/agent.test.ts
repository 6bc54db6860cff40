/**
 * The compiled wisp-agent against a real wispd (`--agent-auth token`) and a real Docker daemon:
 * workflows applied through the CLI whose actions run the imported busybox image — a success
 * with environment and a bind mount (its output shipped to wispd and read back with `wisp logs
 * workflow`), a failure (exit 3), a timeout (container stopped and gone).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_IMAGE, testContainers } from "../support/docker.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";
import { manifests, reported, startAgentLab, type AgentLab } from "./harness.ts";

describe("wisp-agent (compiled) with wispd and Docker", () => {
  let lab: AgentLab;

  beforeAll(async () => {
    lab = await startAgentLab("wisp-agent-test-");
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await lab?.stop();
  });

  const agent_ = (mac: string) => lab.agent(mac);
  const apply = (text: string) => lab.wisp().apply(text);
  const workflow = (name: string) => lab.wisp().workflow(name);

  test("runs a workflow to SUCCESS: output, environment and a bind-mounted directory", async () => {
    const out = mkdtempSync(join(lab.dir, "out-"));
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
    const agent = agent_(mac);
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
    for (const l of agent.logs.filter((x) => x.msg === "action finished")) expect((await lab.docker.api("GET", `/containers/${l.containerId}/json`)).status).toBe(404);
    expect(agent.logs.filter((l) => l.msg === "action status reported").map((l) => l.state)).toEqual(["RUNNING", "SUCCESS", "RUNNING", "SUCCESS"]);
    // The output was shipped to wispd, and flushed before each SUCCESS: readable at once.
    const lines = await lab.wisp().logs("ok");
    expect(lines).toEqual(["hello[1] stdout | hello", "env-and-volume[1] stdout | dest=/dev/sda"]);
    expect(agent.logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("action log") && l.level === 40)).toEqual([]);
  }, 60_000);

  test("an exit code other than 0 is FAILED, with the code and the last output in the message", async () => {
    const mac = "02:00:00:00:a0:02";
    await apply(manifests("fails", mac, `actions:\n  - name: exit-3\n    image: ${TEST_IMAGE}\n    timeout: 60\n    command: [/bin/sh, -c, 'echo about to fail >&2; exit 3']`));
    const agent = agent_(mac);
    await reported(agent, "fails", "FAILED");
    const wf = await workflow("fails");
    expect(wf.status.state).toBe("FAILED");
    expect(wf.status.tasks[0]!.actions[0]!.message).toBe("exit code 3; last output:\nabout to fail");
  }, 60_000);

  test("past its timeout an action is stopped, reported TIMEOUT, and its container is gone", async () => {
    const mac = "02:00:00:00:a0:03";
    await apply(manifests("slow", mac, `actions:\n  - name: sleeps\n    image: ${TEST_IMAGE}\n    timeout: 2\n    command: [sleep, "30"]`));
    const agent = agent_(mac);
    const stopping = await agent.waitFor((l) => l.msg === "action timed out, stopping", "the timeout");
    await reported(agent, "slow", "TIMEOUT");
    const wf = await workflow("slow");
    expect(wf.status.state).toBe("TIMEOUT");
    expect(wf.status.tasks[0]!.actions[0]!.message).toStartWith("timed out after 2s");
    expect((await lab.docker.api("GET", `/containers/${stopping.containerId}/json`)).status).toBe(404);
    expect(await testContainers(lab.docker)).toEqual([]);
  }, 60_000);

  test("an action with retries runs again after each failure until it succeeds; each attempt is seen", async () => {
    const out = mkdtempSync(join(lab.dir, "retries-"));
    const mac = "02:00:00:00:a0:04";
    // Fails on its first two runs (a counter in the bind mount), succeeds on the third.
    await apply(
      manifests(
        "retried",
        mac,
        `volumes: ["${out}:/out"]
actions:
  - name: flaky
    image: ${TEST_IMAGE}
    timeout: 60
    retries: 2
    command: [/bin/sh, -c, 'n=$(cat /out/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /out/n; echo "run $n"; [ $n -ge 3 ]']`,
      ),
    );
    const agent = agent_(mac);
    await reported(agent, "retried", "SUCCESS");
    const wf = await workflow("retried");
    expect(wf.status.state).toBe("SUCCESS");
    expect(readFileSync(join(out, "n"), "utf8")).toBe("3\n");
    expect(agent.logs.filter((l) => l.msg === "action received").map((l) => l.attempt)).toEqual([1, 2, 3]);
    // With back-off: 1 s before the second run, 2 s before the third.
    expect(agent.logs.filter((l) => l.msg === "action retry waiting").map((l) => [l.attempt, l.retryInMs])).toEqual([[2, 1000], [3, 2000]]);
    const finals = agent.logs.filter((l) => l.msg === "action status reported" && l.state !== "RUNNING").map((l) => l.state);
    expect(finals).toEqual(["FAILED", "FAILED", "SUCCESS"]);
    // wispd kept each attempt's output apart.
    expect(await lab.wisp().logs("retried")).toEqual(["flaky[1] stdout | run 1", "flaky[2] stdout | run 2", "flaky[3] stdout | run 3"]);
  }, 60_000);
});
