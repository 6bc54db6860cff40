/**
 * Kill and restart with real processes: the compiled wisp-agent and wispd (PGlite) each killed
 * with SIGKILL mid-workflow and started again. Every action appends a line to a file of its own
 * in a bind-mounted directory, so the test counts how often each really ran: an action whose
 * SUCCESS was reported never runs twice, the workflow still ends in SUCCESS, and the container
 * the killed agent left running is removed before its action runs again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_IMAGE } from "../support/docker.ts";
import { SETUP_TIMEOUT_MS, type WispdHandle } from "../support/processes.ts";
import { AGENT_WAIT_MS, manifests, startAgentLab, type AgentHandle, type AgentLab, type Log } from "./harness.ts";

/** Bound on waiting for a file an action writes. */
const FILE_WAIT_MS = 20_000;

/** SIGKILL to wispd itself: bin/wispd is a node shim whose bun child is the daemon (a kill of the shim leaves it running). */
async function killWispd(wispd: WispdHandle): Promise<void> {
  const pid = wispd.proc.pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  expect(children.length).toBe(1);
  process.kill(children[0]!, "SIGKILL");
  // The shim exits when its child does.
  await wispd.proc.exited;
}

describe("kill and restart (compiled agent, wispd, Docker)", () => {
  let lab: AgentLab;

  beforeAll(async () => {
    lab = await startAgentLab("wisp-agent-restart-");
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await lab?.stop();
  });

  const agent = (mac: string) => lab.agent(mac);
  const wisp = () => lab.wisp();
  /** Lines an action appended to its run file. */
  const runs = (out: string, action: string) => (existsSync(join(out, action)) ? readFileSync(join(out, action), "utf8").split("\n").filter(Boolean).length : 0);
  const waitForFile = async (path: string) => {
    const deadline = Date.now() + FILE_WAIT_MS;
    while (!existsSync(path)) {
      if (Date.now() > deadline) throw new Error(`${path} not written within ${FILE_WAIT_MS} ms`);
      await Bun.sleep(50);
    }
  };
  const started = (name: string) => (l: Log) => l.msg === "action started" && l.action === name;
  const successes = (a: AgentHandle, workflow: string) => a.logs.filter((l) => l.msg === "action status reported" && l.state === "SUCCESS" && l.workflowId === `agent-test/${workflow}`).length;
  /** An action that appends to /out/<name>; `body` follows. */
  const action = (name: string, body: string) => `  - name: ${name}\n    image: ${TEST_IMAGE}\n    timeout: 120\n    command: [/bin/sh, -c, 'echo run >> /out/${name}; ${body}']`;

  test("the agent killed mid-action: restarted, it removes the orphaned container, runs that action again and finishes; a success never runs twice", async () => {
    const out = mkdtempSync(join(lab.dir, "agent-kill-"));
    const mac = "02:00:00:00:c0:01";
    // "second" blocks on its first run (until killed) and ends at once on the next.
    await wisp().apply(
      manifests("agentkill", mac, `volumes: ["${out}:/out"]\nactions:\n${action("first", "true")}\n${action("second", "[ $(cat /out/second | wc -l) -ge 2 ] || sleep 600")}\n${action("third", "true")}`),
    );
    const first = agent(mac);
    const orphan = await first.waitFor(started("second"), "the start of action second");
    await waitForFile(join(out, "second"));
    expect(await first.kill()).toBe(137);
    // The container outlives its agent.
    const inspect = await lab.docker.api("GET", `/containers/${orphan.containerId}/json`);
    expect(((await inspect.json()) as { State: { Running: boolean } }).State.Running).toBe(true);

    const again = agent(mac);
    await again.waitFor(() => successes(again, "agentkill") === 2, "SUCCESS of second and third");
    const wf = await wisp().workflow("agentkill");
    expect(wf.status.state).toBe("SUCCESS");
    expect(wf.status.tasks[0]!.actions.map((a) => a.state)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"]);
    expect([runs(out, "first"), runs(out, "second"), runs(out, "third")]).toEqual([1, 2, 1]);
    expect(again.logs.filter((l) => l.msg === "action received").map((l) => l.action)).toEqual(["second", "third"]);
    expect(again.logs.find((l) => l.msg === "orphaned action container removed")).toMatchObject({ containerId: orphan.containerId });
    expect((await lab.docker.api("GET", `/containers/${orphan.containerId}/json`)).status).toBe(404);
    const left = await lab.docker.api("GET", `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`org.wisp.worker=${mac}`] }))}`);
    expect(await left.json()).toEqual([]);
  }, 90_000);

  test("wispd killed mid-workflow and restarted on the same data: the agent's reports get through, the workflow ends in SUCCESS, nothing runs twice", async () => {
    const out = mkdtempSync(join(lab.dir, "server-kill-"));
    const mac = "02:00:00:00:c0:02";
    // "two" waits until the test lets it end (the file /out/go), so wispd is surely down by then.
    await wisp().apply(
      manifests("serverkill", mac, `volumes: ["${out}:/out"]\nactions:\n${action("one", "true")}\n${action("two", "while [ ! -e /out/go ]; do sleep 0.2; done")}\n${action("three", "true")}`),
    );
    const a = agent(mac);
    await a.waitFor(started("two"), "the start of action two");
    await waitForFile(join(out, "two"));
    await killWispd(lab.wispd);
    // Let "two" end while wispd is away: its SUCCESS report is refused by the network and retried.
    await Bun.write(join(out, "go"), "");
    await a.waitFor((l) => l.msg === "action report failed, retrying" && l.state === "SUCCESS", "a retried SUCCESS report", AGENT_WAIT_MS);
    await lab.restartWispd();
    await a.waitFor(() => successes(a, "serverkill") === 3, "SUCCESS of one, two and three", 60_000);
    const wf = await wisp().workflow("serverkill");
    expect(wf.status.state).toBe("SUCCESS");
    expect(wf.status.tasks[0]!.actions.map((x) => x.state)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"]);
    expect([runs(out, "one"), runs(out, "two"), runs(out, "three")]).toEqual([1, 1, 1]);
    expect(a.logs.filter((l) => l.msg === "action received").map((l) => l.action)).toEqual(["one", "two", "three"]);
  }, 120_000);
});
