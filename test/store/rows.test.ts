import { expect, test } from "bun:test";
import { arrayOverlaps, eq } from "drizzle-orm";
import { actionLogs, hardware, templates, workflowActions, workflowEvents, workflows, workflowTasks } from "../../daemon/store/schema.ts";
import { insertWorkflowRows } from "../support/rows.ts";
import { forEachStore } from "../support/stores.ts";

/** Drizzle queries are thenables; expect().rejects wants a real Promise. */
const run = (query: PromiseLike<unknown>) => Promise.resolve(query);

const spec = {
  interfaces: [{ dhcp: { mac: "1c:69:7a:11:22:33", ip: { address: "192.168.1.8" } }, netboot: { allowPXE: true } }],
  disks: [{ device: "/dev/nvme0n1" }],
  metadata: { instance: { id: "i-1", tags: ["a", "b"] } },
};

forEachStore("store rows", (ctx) => {
  test("round-trip jsonb specs, text arrays and timestamps", async () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    await ctx.store.db.insert(hardware).values({
      namespace: "ns",
      name: "hw",
      spec,
      macs: ["1c:69:7a:11:22:33"],
      labels: { rack: "r1" },
      createdAt: at,
      updatedAt: at,
    });
    const [row] = await ctx.store.db.select().from(hardware).where(eq(hardware.name, "hw"));
    expect(row?.spec).toEqual(spec);
    expect(row?.macs).toEqual(["1c:69:7a:11:22:33"]);
    expect(row?.labels).toEqual({ rack: "r1" });
    expect(row?.createdAt.toISOString()).toBe(at.toISOString());
    expect(row?.resourceVersion).toBe(1);
    expect(row?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("find hardware by any of its MACs", async () => {
    await ctx.store.db.insert(hardware).values([
      { namespace: "ns", name: "a", spec: {}, macs: ["aa:aa:aa:aa:aa:01", "aa:aa:aa:aa:aa:02"] },
      { namespace: "ns", name: "b", spec: {}, macs: ["bb:bb:bb:bb:bb:01"] },
    ]);
    const rows = await ctx.store.db
      .select({ name: hardware.name })
      .from(hardware)
      .where(arrayOverlaps(hardware.macs, ["aa:aa:aa:aa:aa:02", "cc:cc:cc:cc:cc:cc"]));
    expect(rows).toEqual([{ name: "a" }]);
  });

  test("refuse a second object with the same namespace and name", async () => {
    await ctx.store.db.insert(templates).values({ namespace: "ns", name: "t", data: "x", spec: { data: "x" } });
    await ctx.store.db.insert(templates).values({ namespace: "other", name: "t", data: "x", spec: { data: "x" } });
    await expect(run(ctx.store.db.insert(templates).values({ namespace: "ns", name: "t", data: "y", spec: { data: "y" } }))).rejects.toThrow();
  });

  test("refuse unknown workflow and action states", async () => {
    const { actionId } = await insertWorkflowRows(ctx.store.db);
    await expect(
      run(ctx.store.db.update(workflowActions).set({ state: "DONE" as never }).where(eq(workflowActions.id, actionId))),
    ).rejects.toThrow();
    await expect(run(ctx.store.db.update(workflows).set({ state: "LOST" as never }))).rejects.toThrow();
  });

  test("delete tasks, actions, events and logs with their workflow", async () => {
    const { workflowId, actionId } = await insertWorkflowRows(ctx.store.db);
    await ctx.store.db.insert(workflowEvents).values({ workflowId, type: "workflow.state", to: "PENDING" });
    await ctx.store.db.insert(actionLogs).values({ workflowId, actionId, stream: "stdout", line: "hello" });
    await insertWorkflowRows(ctx.store.db, "default", "survivor");
    await ctx.store.db.delete(workflows).where(eq(workflows.id, workflowId));
    for (const table of [workflowTasks, workflowActions, workflowEvents, actionLogs]) {
      const rows = await ctx.store.db.select({ id: table.workflowId }).from(table).where(eq(table.workflowId, workflowId));
      expect(rows).toEqual([]);
    }
    expect(await ctx.store.db.select({ id: workflowActions.id }).from(workflowActions)).toHaveLength(1);
  });

  test("refuse a log line of an unknown stream", async () => {
    const { workflowId, actionId } = await insertWorkflowRows(ctx.store.db);
    await expect(
      run(ctx.store.db.insert(actionLogs).values({ workflowId, actionId, stream: "stdin" as never, line: "x" })),
    ).rejects.toThrow();
  });

  test("roll back a failed transaction", async () => {
    await expect(
      ctx.store.db.transaction(async (tx) => {
        await tx.insert(templates).values({ namespace: "ns", name: "t1", data: "x", spec: {} });
        await tx.insert(templates).values({ namespace: "ns", name: "t1", data: "x", spec: {} });
      }),
    ).rejects.toThrow();
    expect(await ctx.store.db.select().from(templates)).toEqual([]);
  });
});
