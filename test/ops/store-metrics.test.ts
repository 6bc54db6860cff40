/**
 * Workflows by state and actions by outcome, on both stores: the gauge is the store's grouped
 * count, recounted after a change this process announced or once it is too old; outcomes are
 * counted from committed changes only.
 */
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createChangeFeed } from "../../daemon/core/changes.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { countActionOutcomes, registerWorkflowGauge, WORKFLOW_COUNT_MAX_AGE_MS } from "../../daemon/ops/store-metrics.ts";
import { forEachStore } from "../support/stores.ts";

forEachStore("store metrics", (ctx) => {
  const insert = (n: number, state: string, prefix: string) =>
    ctx.store.db.execute(
      sql.raw(`insert into workflows (namespace, name, spec, template_ref, state, rendered, total_actions)
        select 'default', '${prefix}-' || g, '{}'::jsonb, 't', '${state}', '', 1 from generate_series(1, ${n}) g`),
    );

  test("wisp_workflows counts by state; recounts after an announced change or when older than the bound", async () => {
    let clock = 1_000_000;
    const r = createMetricsRegistry();
    const changes = createChangeFeed();
    registerWorkflowGauge(r, ctx.store, changes, () => clock);
    const value = (state: string) => r.value("wisp_workflows", { state });
    await r.scrape();
    expect(value("RUNNING")).toBe(0);
    await insert(3, "RUNNING", "a");
    await insert(2, "SUCCESS", "b");
    await r.scrape();
    expect(value("RUNNING")).toBe(0); // counted a moment ago, nothing announced: not asked again
    changes.emit({ kind: "Workflow", namespace: "default", name: "a-1", op: "created" });
    await r.scrape();
    expect([value("RUNNING"), value("SUCCESS"), value("PENDING")]).toEqual([3, 2, 0]);
    await insert(1, "FAILED", "c"); // e.g. by another wispd on the same database
    clock += WORKFLOW_COUNT_MAX_AGE_MS - 1;
    await r.scrape();
    expect(value("FAILED")).toBe(0);
    clock += 2;
    await r.scrape();
    expect(value("FAILED")).toBe(1);
  });

  test("wisp_action_outcomes_total counts ended attempts from committed workflow changes", () => {
    const r = createMetricsRegistry();
    const changes = createChangeFeed();
    countActionOutcomes(r, changes);
    const state = (to: string) => ({ type: "action.state", from: "RUNNING", to, actionId: "x", actionName: "a" });
    changes.emit({ kind: "Workflow", namespace: "default", name: "w", op: "state", state: "RUNNING", events: [state("RUNNING")] });
    changes.emit({ kind: "Workflow", namespace: "default", name: "w", op: "state", state: "RUNNING", events: [state("FAILED"), { type: "workflow.state", to: "RUNNING" }] });
    changes.emit({ kind: "Workflow", namespace: "default", name: "w", op: "state", state: "SUCCESS", events: [state("SUCCESS"), { type: "workflow.state", to: "SUCCESS" }] });
    changes.emit({ kind: "ActionLogs", namespace: "default", name: "w", op: "lines", actionId: "x", lines: 3 });
    expect(r.value("wisp_action_outcomes_total", { outcome: "SUCCESS" })).toBe(1);
    expect(r.value("wisp_action_outcomes_total", { outcome: "FAILED" })).toBe(1);
    expect(r.value("wisp_action_outcomes_total", { outcome: "TIMEOUT" })).toBe(0);
  });
});
