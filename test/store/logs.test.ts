import { expect, test } from "bun:test";
import { appendLogs, MAX_LOG_LINE_CHARS, readLogs } from "../../daemon/store/logs.ts";
import { insertWorkflowRows } from "../support/rows.ts";
import { forEachStore } from "../support/stores.ts";

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ stream: "stdout" as const, line: `line ${from + i}` }));

forEachStore("store action logs", (ctx) => {
  test("read lines back in order after a cursor", async () => {
    const { actionId } = await insertWorkflowRows(ctx.store.db);
    await appendLogs(ctx.store.db, actionId, [...lines(3), { stream: "stderr", line: "oops" }]);
    const all = await readLogs(ctx.store.db, actionId);
    expect(all.map((l) => `${l.stream}:${l.line}`)).toEqual(["stdout:line 0", "stdout:line 1", "stdout:line 2", "stderr:oops"]);
    const after = await readLogs(ctx.store.db, actionId, { afterId: all[1]!.id });
    expect(after.map((l) => l.line)).toEqual(["line 2", "oops"]);
    expect(await readLogs(ctx.store.db, actionId, { afterId: all[3]!.id })).toEqual([]);
    expect((await readLogs(ctx.store.db, actionId, { limit: 2 })).map((l) => l.line)).toEqual(["line 0", "line 1"]);
  });

  test("keep only the newest lines of an action beyond the bound", async () => {
    const { actionId } = await insertWorkflowRows(ctx.store.db);
    const other = await insertWorkflowRows(ctx.store.db, "default", "other");
    await appendLogs(ctx.store.db, other.actionId, lines(3));
    await appendLogs(ctx.store.db, actionId, lines(4), { maxLines: 5 });
    await appendLogs(ctx.store.db, actionId, lines(4, 4), { maxLines: 5 });
    expect((await readLogs(ctx.store.db, actionId)).map((l) => l.line)).toEqual(["line 3", "line 4", "line 5", "line 6", "line 7"]);
    // One batch larger than the bound keeps its tail too.
    expect(await appendLogs(ctx.store.db, actionId, lines(9, 10), { maxLines: 5 })).toBe(5);
    expect((await readLogs(ctx.store.db, actionId)).map((l) => l.line)).toEqual(["line 14", "line 15", "line 16", "line 17", "line 18"]);
    expect(await readLogs(ctx.store.db, other.actionId)).toHaveLength(3);
  });

  test("cut very long lines", async () => {
    const { actionId } = await insertWorkflowRows(ctx.store.db);
    await appendLogs(ctx.store.db, actionId, [{ stream: "stdout", line: "x".repeat(MAX_LOG_LINE_CHARS + 10) }]);
    const [line] = await readLogs(ctx.store.db, actionId);
    expect(line?.line).toHaveLength(MAX_LOG_LINE_CHARS);
  });

  test("refuse lines for an unknown action", async () => {
    await expect(appendLogs(ctx.store.db, crypto.randomUUID(), lines(1))).rejects.toMatchObject({ code: "not_found" });
  });
});
