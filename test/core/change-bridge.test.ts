import { describe, expect, test } from "bun:test";
import { bridgeChanges, changePayloads, readPayload } from "../../daemon/core/change-bridge.ts";
import { createChangeFeed, type Change, type FeedEntry } from "../../daemon/core/changes.ts";
import { createCore } from "../../daemon/core/core.ts";
import { openStore } from "../../daemon/store/open.ts";
import { alpineTemplate, machineYaml, manifests } from "../support/core.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { freshDatabase } from "../support/postgres.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";

const MAC = "1c:69:7a:11:22:33";
const BODY = alpineTemplate("bridge", ["only"]);

describe("change bridge payloads", () => {
  test("changes are packed under PostgreSQL's 8000-byte limit, without events, and read back by the other side only", () => {
    const changes: Change[] = Array.from({ length: 200 }, (_, i) => ({
      kind: "Workflow",
      namespace: "default",
      name: `wf-${i}-${"x".repeat(60)}`,
      op: "state",
      state: "RUNNING",
      events: [{ type: "action.state", from: "PENDING", to: "RUNNING" }],
    }));
    const payloads = changePayloads("me", changes);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    expect(payloads.flatMap((p) => readPayload(p, "me"))).toEqual([]); // its own
    const read = payloads.flatMap((p) => readPayload(p, "other"));
    expect(read).toHaveLength(200);
    expect(read[0]).toEqual({ kind: "Workflow", namespace: "default", name: changes[0]!.name, op: "state", state: "RUNNING", origin: "me" });
  });

  test("malformed payloads and changes are left out", () => {
    expect(readPayload("not json", "me")).toEqual([]);
    expect(readPayload(JSON.stringify({ origin: 1, changes: [] }), "me")).toEqual([]);
    expect(readPayload(JSON.stringify({ origin: "x", changes: "no" }), "me")).toEqual([]);
    const mixed = JSON.stringify({
      origin: "x",
      changes: [null, { kind: "Hardware", namespace: "a", name: "b", op: "created" }, { kind: "Workflow", namespace: 1, name: "b", op: "state" }, { kind: "Template", namespace: "a", name: "t", op: "created", extra: 1 }],
    });
    expect(readPayload(mixed, "me")).toEqual([{ kind: "Template", namespace: "a", name: "t", op: "created", origin: "x" }]);
  });
});

describe("change bridge between two wispd on one PostgreSQL", () => {
  test(
    "a workflow change made through one store reaches the other's feed once, marked with its origin; its own are not echoed",
    async () => {
      const database = await freshDatabase();
      const a = await openStore({ databaseUrl: database.url });
      const b = await openStore({ databaseUrl: database.url });
      const feedA = createChangeFeed();
      const feedB = createChangeFeed();
      const stops: (() => Promise<void>)[] = [];
      try {
        stops.push(await bridgeChanges(a, feedA, { origin: "wispd-a" }));
        stops.push(await bridgeChanges(b, feedB, { origin: "wispd-b" }));
        const seenA: FeedEntry[] = [];
        const seenB: FeedEntry[] = [];
        feedA.subscribe((e) => seenA.push(e));
        feedB.subscribe((e) => seenB.push(e));
        const core = createCore(a, { changes: feedA });
        await core.apply(manifests(machineYaml(MAC, BODY)));
        const action = await core.getAction(MAC);
        await core.reportAction({ workflowId: action.workflowId, agentId: MAC, actionId: action.actionId, state: "RUNNING" });
        const end = Date.now() + 20_000;
        while (seenB.length < 3 && Date.now() < end) await Bun.sleep(10);
        expect(seenB.map((e) => [e.kind, e.name, e.op, e.state ?? "", e.origin, e.events === undefined])).toEqual([
          ["Template", "tpl", "created", "", "wispd-a", true],
          ["Workflow", "wf", "created", "", "wispd-a", true],
          ["Workflow", "wf", "state", "RUNNING", "wispd-a", true],
        ]);
        await Bun.sleep(300); // time for an echo, which must not come
        expect(seenA.every((e) => e.origin === undefined)).toBe(true);
        expect(seenA).toHaveLength(3);
        expect(seenB).toHaveLength(3);
      } finally {
        for (const stop of stops) await stop();
        await a.close();
        await b.close();
        await database.drop();
      }
    },
    60_000,
  );

  test("an embedded store is not bridged (one wispd owns it)", async () => {
    const dir = await pgliteDataDir();
    const store = await openStore({ dataDir: dir.dataDir });
    try {
      const feed = createChangeFeed();
      const stop = await bridgeChanges(store, feed);
      expect(feed.subscribers).toBe(0);
      await stop();
    } finally {
      await store.close();
      dir.remove();
    }
  }, SETUP_TIMEOUT_MS);
});
