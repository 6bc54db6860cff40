/**
 * Action logs end to end: a real wispd, an agent's lines pushed through gRPC by
 * agent/log-shipper.ts with the agent token, and `wisp logs workflow NAME --follow` as a user runs
 * it, printing them while the action runs and exiting 0 once the workflow has ended and the
 * agent's last lines (shipped after its final report) are printed.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogShipper, logsClient } from "../../agent/log-shipper.ts";
import { agentClient, statusFor } from "../grpc/agent-client.ts";
import { alpineTemplate, machineYaml } from "../support/core.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { runWisp, SETUP_TIMEOUT_MS, startWispd, wispdGrpcPort, type WispdHandle } from "../support/processes.ts";

const MAC = "1c:69:7a:11:22:33";
const ROOT = join(import.meta.dir, "..", "..");
const BODY = alpineTemplate("logs", ["stream-image", "reboot"]);

describe("wisp logs workflow --follow against wispd", () => {
  let data: { dataDir: string; remove(): void };
  let wispd: WispdHandle;
  let env: Record<string, string>;
  let grpcAddress: string;
  let agentToken: string;

  beforeAll(async () => {
    data = await pgliteDataDir();
    wispd = await startWispd(["--data-dir", data.dataDir, "--tftp-port", "0", "--grpc-port", "0"]);
    grpcAddress = `127.0.0.1:${await wispdGrpcPort(wispd)}`;
    await wispd.waitForLog("wispd ready");
    agentToken = readFileSync(join(data.dataDir, "agent-token"), "utf8").trim();
    env = { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir };
    const applied = await runWisp(["apply", "-f", "-"], env, machineYaml(MAC, BODY));
    expect(applied).toMatchObject({ code: 0 });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    data?.remove();
  });

  test("lines pushed through gRPC show up live; --follow exits 0 after the workflow ends with the last lines printed", async () => {
    const agent = agentClient(grpcAddress, { token: agentToken });
    const logs = logsClient(grpcAddress, { tls: false, token: agentToken });
    const follower = Bun.spawn(["node", join(ROOT, "bin", "wisp"), "logs", "workflow", "wf", "--follow"], {
      env: { ...process.env, WISP_TOKEN: "", ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    let out = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of follower.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    const stderr = new Response(follower.stderr).text();
    const printed = async (text: string) => {
      const end = Date.now() + 20_000;
      while (!out.includes(text)) {
        if (Date.now() > end) throw new Error(`wisp logs did not print "${text}"; stdout so far:\n${out}\nstderr: ${await stderr}`);
        await Bun.sleep(20);
      }
    };
    try {
      const first = (await agent.getAction({ agentId: MAC })).value!;
      expect((await agent.reportActionStatus(statusFor(first, "RUNNING"))).code).toBe(status.OK);
      const ship1 = createLogShipper({ client: logs, workflowId: first.workflowId as string, agentId: MAC, actionId: first.actionId as string, attempt: 1, batchMs: 20 });
      ship1.push("stdout", "writing image to /dev/sda");
      ship1.push("stderr", "warning: \x1b[31mred\x1b[0m");
      await printed("writing image to /dev/sda");
      // Live: the workflow is still running and the follower is still following.
      expect(follower.exitCode).toBeNull();
      expect(out).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ stream-image\[1\] stdout \| writing image to \/dev\/sda\n/);
      await printed(String.raw`stream-image[1] stderr | warning: \x1b[31mred\x1b[0m`);
      ship1.push("stdout", "done: 2 GiB");
      await ship1.close();
      expect((await agent.reportActionStatus(statusFor(first, "SUCCESS"))).code).toBe(status.OK);

      const second = (await agent.getAction({ agentId: MAC })).value!;
      expect(second.name).toBe("reboot");
      const ship2 = createLogShipper({ client: logs, workflowId: second.workflowId as string, agentId: MAC, actionId: second.actionId as string, attempt: 1, batchMs: 20 });
      ship2.push("stdout", "rebooting");
      await ship2.flush();
      await printed("reboot[1] stdout | rebooting");
      expect((await agent.reportActionStatus(statusFor(second, "SUCCESS"))).code).toBe(status.OK);
      // The agent's last lines arrive after its final report; the follower still prints them.
      ship2.push("stdout", "last words");
      await ship2.close();

      expect(await follower.exited).toBe(0);
      await reading;
      const lines = out.trimEnd().split("\n").map((l) => l.replace(/^\S+ /, ""));
      expect(lines).toEqual([
        "stream-image[1] stdout | writing image to /dev/sda",
        String.raw`stream-image[1] stderr | warning: \x1b[31mred\x1b[0m`,
        "stream-image[1] stdout | done: 2 GiB",
        "reboot[1] stdout | rebooting",
        "reboot[1] stdout | last words",
      ]);

      // Once, by action, and as JSON: the same lines.
      const once = await runWisp(["logs", "workflow", "wf", "--action", "reboot", "-o", "json"], env);
      expect(once.code).toBe(0);
      expect(once.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).line)).toEqual(["rebooting", "last words"]);
      const missing = await runWisp(["logs", "workflow", "nope"], env);
      expect(missing).toMatchObject({ code: 1, stderr: "wisp: Workflow default/nope not found\n" });
    } finally {
      if (follower.exitCode === null) follower.kill();
      agent.close();
      logs.close();
    }
  }, 60_000);
});
