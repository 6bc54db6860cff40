/**
 * `wisp workflow watch` follows a workflow while the engine moves it: the API runs in this
 * process over a real store, the CLI runs as a process, and the test reports actions as an agent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createApi } from "../../daemon/api/server.ts";
import { parseSources } from "../../daemon/api/resources.ts";
import { createCore } from "../../daemon/core/core.ts";
import type { Core } from "../../daemon/core/types.ts";
import { silentLogger } from "../../daemon/lib/log.ts";
import { openTestStore } from "../support/stores.ts";
import { EXAMPLES_DIR, runWisp, SETUP_TIMEOUT_MS } from "../support/processes.ts";

const TOKEN = "watch-test-token";
const MAC = "1c:69:7a:11:22:33";
let core: Core;
let app: ReturnType<typeof createApi>;
let dispose: () => Promise<void>;
let env: Record<string, string>;

beforeAll(async () => {
  const opened = await openTestStore("pglite");
  dispose = opened.dispose;
  core = createCore(opened.store, {});
  app = createApi({ core, token: TOKEN, logger: silentLogger(), version: "test" });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  env = { WISP_SERVER: `http://127.0.0.1:${app.server!.port}`, WISP_TOKEN: TOKEN };
  const sources = ["hardware.yaml", "template.yaml", "workflow.yaml"].map((f) => ({
    name: f,
    text: readFileSync(join(EXAMPLES_DIR, f), "utf8").replace("hardwareRef: hp-demo", "hardwareRef: nuc-demo"),
  }));
  await core.apply(parseSources(sources).manifests);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await app?.stop();
  await dispose?.();
});

/** The CLI as a process whose output the test can wait on, line by line. */
function spawnWatch(): { waitFor(re: RegExp): Promise<void>; done: Promise<{ code: number; stdout: string }> } {
  const proc = Bun.spawn(["node", join(import.meta.dir, "../../bin/wisp"), "workflow", "watch", "demo-wf", "-n", "tink-system"], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  let stdout = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      stdout += decoder.decode(chunk, { stream: true });
      for (const w of waiters.splice(0)) (w.re.test(stdout) ? w.resolve() : waiters.push(w));
    }
  })();
  return {
    waitFor: (re) => (re.test(stdout) ? Promise.resolve() : new Promise((resolve) => waiters.push({ re, resolve }))),
    done: pump.then(async () => ({ code: await proc.exited, stdout })),
  };
}

/** Plays the agent for one action. */
async function report(state: "RUNNING" | "SUCCESS" | "FAILED", message?: string) {
  const a = await core.getAction(MAC);
  await core.reportAction({ workflowId: a.workflowId, agentId: MAC, taskId: a.taskId, actionId: a.actionId, actionName: a.name, state, message });
}

test("watch follows each action live and exits 0 on SUCCESS", async () => {
  const w = spawnWatch();
  await w.waitFor(/demo-wf PENDING/);
  await report("RUNNING");
  // Watch must show the running action before the workflow moves on: it is live, not a summary.
  await w.waitFor(/\[1\/7\] os-installation\/stream-ubuntu-image RUNNING/);
  await report("SUCCESS");
  for (let i = 1; i < 7; i++) {
    await report("RUNNING");
    await report("SUCCESS");
  }
  const r = await w.done;
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("workflow tink-system/demo-wf RUNNING");
  expect(r.stdout).toMatch(/\[1\/7\] os-installation\/stream-ubuntu-image SUCCESS in \d/);
  expect(r.stdout).toMatch(/\[7\/7\] os-installation\/write-netplan SUCCESS in \d/);
  expect(r.stdout).toContain("ended SUCCESS");
});

test("after a rerun, a failed action makes watch exit 3 with the message", async () => {
  expect((await runWisp(["workflow", "rerun", "demo-wf", "-n", "tink-system"], env)).code).toBe(0);
  const w = spawnWatch();
  await w.waitFor(/demo-wf PENDING/);
  await report("RUNNING");
  await report("SUCCESS");
  await report("RUNNING");
  await report("FAILED", "exit status 3");
  const r = await w.done;
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/grow-partition FAILED in [\d.]+s: exit status 3/);
  expect(r.stdout).toContain("ended FAILED");
});

test("workflow cancel ends a running workflow: watch exits 3, the agent's next report is refused", async () => {
  expect((await runWisp(["workflow", "rerun", "demo-wf", "-n", "tink-system"], env)).code).toBe(0);
  await report("RUNNING");
  const w = spawnWatch();
  await w.waitFor(/stream-ubuntu-image RUNNING/);
  const cancelled = await runWisp(["workflow", "cancel", "demo-wf", "-n", "tink-system"], env);
  expect(cancelled.code).toBe(0);
  expect(cancelled.stdout).toContain("workflow/demo-wf cancelled");
  const r = await w.done;
  expect(r.code).toBe(3);
  expect(r.stdout).toContain("cancelled by operator");
  expect(r.stdout).toContain("ended FAILED");
  await expect(report("SUCCESS")).rejects.toThrow();
  // Cancelling what has already ended is refused, naming the state.
  const again = await runWisp(["workflow", "cancel", "demo-wf", "-n", "tink-system"], env);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toMatch(/FAILED|ended|finished/);
});
