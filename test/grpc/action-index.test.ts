/**
 * GetAction from memory (daemon/core/action-index.ts) on both stores: repeated polls are served
 * without a store read, and every change is seen — a report through the index at once, a change
 * by another writer (a second core on the same store, as another wispd would be) once its
 * wisp_workflow notification arrives.
 */
import { expect, test } from "bun:test";
import { createActionIndex, parseWorkers, type ActionIndex } from "../../daemon/core/action-index.ts";
import type { ActionAssignment, Core } from "../../daemon/core/types.ts";
import { WispError } from "../../daemon/lib/errors.ts";
import { hardwareYaml, manifests, templateYaml, testCore, workflowYaml } from "../support/core.ts";
import { forEachStore, type StoreContext } from "../support/stores.ts";

const MAC = "1c:69:7a:aa:bb:01";
/** Bound on how long a notification may take to arrive (it normally takes milliseconds). */
const NOTIFY_WAIT_MS = 10_000;

const TEMPLATE = `version: "0.1"
name: idx
global_timeout: 600
tasks:
  - name: os
    worker: "{{.device_1}}"
    actions:
      - name: first
        image: alpine
        timeout: 60
      - name: second
        image: alpine
        timeout: 60`;

const machine = (wf = "wf") => manifests(`${hardwareYaml("hw", MAC)}---\n${templateYaml("tpl", TEMPLATE)}---\n${workflowYaml(wf, "tpl", "hw", MAC)}`);

/** GetAction's outcome as data: the action's name, or the error code. */
async function outcome(index: Pick<Core, "getAction">, agentId = MAC): Promise<string> {
  try {
    return (await index.getAction(agentId)).name;
  } catch (e) {
    if (e instanceof WispError) return e.code;
    throw e;
  }
}

/** Polls until GetAction answers `want` (the notification arrived), bounded. */
async function eventually(index: ActionIndex, want: string): Promise<void> {
  const deadline = Date.now() + NOTIFY_WAIT_MS;
  let got = await outcome(index);
  while (got !== want && Date.now() < deadline) {
    await Bun.sleep(20);
    got = await outcome(index);
  }
  expect(got).toBe(want);
}

async function withIndex(ctx: StoreContext, fn: (index: ActionIndex, core: Core, other: Core) => Promise<void>): Promise<void> {
  const storeCore = testCore(ctx.store);
  const index = await createActionIndex(ctx.store, storeCore);
  try {
    // `other` writes the same store without telling the index: only NOTIFY can.
    await fn(index, index.bind(storeCore), testCore(ctx.store));
  } finally {
    await index.close();
  }
}

const report = (a: ActionAssignment, state: "RUNNING" | "SUCCESS") => ({ workflowId: a.workflowId, agentId: MAC, actionId: a.actionId, state }) as const;

forEachStore("action index", (ctx) => {
  test("a repeated poll is answered from memory, for an action and for nothing to do", async () => {
    await withIndex(ctx, async (index, core) => {
      expect(await outcome(index)).toBe("not_found");
      expect(await outcome(index)).toBe("not_found");
      expect(index.stats).toEqual({ hits: 1, misses: 1 });
      await core.apply(machine());
      expect(await outcome(index)).toBe("first");
      // On PostgreSQL the apply's own notification arrives a little later and may take one more read.
      const a = await index.getAction(MAC);
      let hits = index.stats.hits;
      let b = await index.getAction(MAC);
      for (let i = 0; i < 50 && index.stats.hits === hits; i++) {
        await Bun.sleep(20);
        hits = index.stats.hits;
        b = await index.getAction(MAC);
      }
      expect(index.stats.hits).toBe(hits + 1);
      expect(b.actionId).toBe(a.actionId);
      // Another spelling of the MAC is the same worker, answered with its own agent id.
      const upper = await index.getAction(MAC.toUpperCase());
      expect(upper.agentId).toBe(MAC.toUpperCase());
      expect(upper.actionId).toBe(a.actionId);
    });
  });

  test("a report through the index is seen by the next poll at once", async () => {
    await withIndex(ctx, async (index, core) => {
      await core.apply(machine());
      const first = await index.getAction(MAC);
      await core.reportAction(report(first, "RUNNING"));
      await core.reportAction(report(first, "SUCCESS"));
      expect(await outcome(index)).toBe("second");
      const second = await index.getAction(MAC);
      await core.reportAction(report(second, "SUCCESS"));
      expect(await outcome(index)).toBe("invalid_state");
      await expect(index.getAction(MAC)).rejects.toThrow("is SUCCESS");
    });
  });

  test("changes by another writer arrive by notification: a new workflow, a report, a delete", async () => {
    await withIndex(ctx, async (index, _core, other) => {
      expect(await outcome(index)).toBe("not_found");
      await other.apply(machine());
      await eventually(index, "first");
      const first = await index.getAction(MAC);
      await other.reportAction(report(first, "SUCCESS"));
      await eventually(index, "second");
      await other.delete("Workflow", "default", "wf");
      await eventually(index, "not_found");
    });
  });

  test("a timeout sweep that changes nothing keeps the answers (it runs every 5 s, as often as idle agents poll)", async () => {
    await withIndex(ctx, async (index, core) => {
      await core.apply(machine());
      // Settled: the apply's own notification has arrived once an answer is served from memory.
      let hits = index.stats.hits;
      for (let i = 0; i < 100 && index.stats.hits === hits; i++) {
        hits = index.stats.hits;
        await index.getAction(MAC);
        if (index.stats.hits === hits) await Bun.sleep(20);
      }
      expect(index.stats.hits).toBeGreaterThan(0);
      expect(await core.sweepTimeouts()).toBe(0);
      hits = index.stats.hits;
      await index.getAction(MAC);
      expect(index.stats.hits).toBe(hits + 1);
    });
  });

  test("a failure to read the store is not remembered", async () => {
    let calls = 0;
    const failing: Pick<Core, "getAction" | "reportAction"> = {
      getAction: async () => {
        calls++;
        throw new Error("store down");
      },
      reportAction: async () => {},
    };
    const index = await createActionIndex(ctx.store, failing);
    try {
      await expect(index.getAction(MAC)).rejects.toThrow("store down");
      await expect(index.getAction(MAC)).rejects.toThrow("store down");
      expect(calls).toBe(2);
      expect(index.size).toBe(0);
    } finally {
      await index.close();
    }
  });

  test("polls that come while a read is in flight share it; a change to another worker does not void it, one to its own does", async () => {
    const assignment = { name: "first" } as ActionAssignment;
    let calls = 0;
    let release!: () => void;
    const slow: Pick<Core, "getAction" | "reportAction"> = {
      getAction: async () => {
        calls++;
        await new Promise<void>((r) => (release = r));
        return assignment;
      },
      reportAction: async () => {},
    };
    const index = await createActionIndex(ctx.store, slow);
    try {
      // Three polls of one agent (a retry after its deadline, say): one store read.
      const polls = [index.getAction(MAC), index.getAction(MAC), index.getAction(MAC)];
      await Bun.sleep(5);
      expect(calls).toBe(1);
      // Another agent's report while the read is in flight: the read is still remembered.
      index.invalidate(["some-other-worker"]);
      release();
      for (const p of polls) expect((await p).name).toBe("first");
      expect(await index.getAction(MAC)).toBe(assignment);
      expect(calls).toBe(1);
      expect(index.stats.hits).toBe(1);

      // Its own worker changes while a read is in flight: answered, but not remembered.
      index.invalidate([MAC]);
      const again = index.getAction(MAC);
      await Bun.sleep(5);
      index.invalidate([MAC]);
      release();
      expect((await again).name).toBe("first");
      expect(calls).toBe(2);
      expect(index.size).toBe(0);
      const third = index.getAction(MAC);
      await Bun.sleep(5);
      release();
      await third;
      expect(calls).toBe(3);
      expect(index.size).toBe(1);
    } finally {
      await index.close();
    }
  });

  test("the same report sent again while the first is in flight is applied once; a different one is not merged", async () => {
    const applied: string[] = [];
    let release!: () => void;
    const slow: Pick<Core, "getAction" | "reportAction"> = {
      getAction: async () => ({ name: "first" }) as ActionAssignment,
      reportAction: async (r) => {
        applied.push(r.state);
        await new Promise<void>((done) => (release = done));
      },
    };
    const index = await createActionIndex(ctx.store, slow);
    try {
      const a = { workflowId: "default/wf", agentId: MAC, actionId: "x", state: "SUCCESS" } as const;
      const first = index.reportAction(a);
      const repeat = index.reportAction({ ...a });
      await Bun.sleep(5);
      expect(applied).toEqual(["SUCCESS"]);
      release();
      await Promise.all([first, repeat]);
      const other = index.reportAction({ ...a, state: "FAILED" });
      await Bun.sleep(5);
      release();
      await other;
      expect(applied).toEqual(["SUCCESS", "FAILED"]);
    } finally {
      await index.close();
    }
  });

  test("agent ids beyond the bound make it start again instead of growing", async () => {
    const storeCore = testCore(ctx.store);
    const index = await createActionIndex(ctx.store, storeCore, { maxEntries: 3 });
    try {
      for (let i = 0; i < 10; i++) expect(await outcome(index, `agent-${i}`)).toBe("not_found");
      expect(index.size).toBeLessThanOrEqual(3);
    } finally {
      await index.close();
    }
  });
});

test("notification payloads: the workers, or undefined for 'forget everything'", () => {
  expect(parseWorkers('{"op":"UPDATE","workers":["1c:69:7a:aa:bb:01","agent-7"]}')).toEqual(["1c:69:7a:aa:bb:01", "agent-7"]);
  expect(parseWorkers('{"op":"TRUNCATE"}')).toBeUndefined();
  expect(parseWorkers("not json")).toBeUndefined();
  expect(parseWorkers('{"workers":[1]}')).toBeUndefined();
  expect(parseWorkers("null")).toBeUndefined();
});
