/**
 * Metrics about what the store holds and how fast it answers: store query latency (observed at
 * the driver, see store/open.ts), workflows by state (one grouped count per scrape, served by
 * workflows_state_idx) and actions by outcome (counted from the change feed, after commit).
 */
import { count } from "drizzle-orm";
import type { ChangeFeed } from "../core/changes.ts";
import type { MetricsRegistry } from "../lib/metrics.ts";
import type { QueryObserver, Store } from "../store/open.ts";
import { workflows } from "../store/schema.ts";
import type { WorkflowState } from "../workflow/definition.ts";

/** Buckets of the store query latency (seconds): PGlite answers in 0.1 ms, a loaded server in 100s of ms. */
export const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

const WORKFLOW_STATES: readonly WorkflowState[] = ["PREPARING", "PENDING", "RUNNING", "POST", "SUCCESS", "FAILED", "TIMEOUT"];
/** Action states that end an attempt: what wisp_action_outcomes_total counts. */
const OUTCOMES = new Set(["SUCCESS", "FAILED", "TIMEOUT"]);

/** The store's query observer, feeding wisp_store_query_duration_seconds{outcome}. */
export function storeQueryObserver(registry: MetricsRegistry): QueryObserver {
  const seconds = registry.histogram("wisp_store_query_duration_seconds", "Store queries (drizzle through PGlite or postgres.js, transactions included), by outcome", ["outcome"], STORE_BUCKETS);
  const ok = seconds.labels("ok");
  const failed = seconds.labels("error");
  return (s, success) => (success ? ok : failed).observe(s);
}

/**
 * How old the workflow counts may get when this process changed no workflow (another wispd on
 * the same PostgreSQL may have). Measured: the grouped count of 10,000 workflows takes 20 ms on
 * PGlite (which runs on the event loop) and 12 ms on PostgreSQL, so it is not run per scrape.
 */
export const WORKFLOW_COUNT_MAX_AGE_MS = 30_000;

/**
 * wisp_workflows{state}: counted by the store when scraped (every state present, 0 when none),
 * again only after a workflow change in this process or WORKFLOW_COUNT_MAX_AGE_MS.
 */
export function registerWorkflowGauge(registry: MetricsRegistry, store: Pick<Store, "db">, changes?: ChangeFeed, now: () => number = performance.now.bind(performance)): void {
  const gauge = registry.gauge("wisp_workflows", "Workflows by state, counted in the store when scraped", ["state"]);
  for (const s of WORKFLOW_STATES) gauge.labels(s).set(0);
  let countedAt: number | undefined;
  changes?.subscribe((entry) => {
    if (entry.kind === "Workflow") countedAt = undefined;
  });
  registry.collector("workflows", async () => {
    if (countedAt !== undefined && now() - countedAt < WORKFLOW_COUNT_MAX_AGE_MS) return;
    const started = now();
    const rows = await store.db.select({ state: workflows.state, n: count() }).from(workflows).groupBy(workflows.state);
    const counted = new Map(rows.map((r) => [r.state as string, Number(r.n)]));
    for (const s of WORKFLOW_STATES) gauge.labels(s).set(counted.get(s) ?? 0);
    countedAt = started;
  });
}

/** wisp_action_outcomes_total{outcome}: action attempts that ended, from committed changes; returns an unsubscribe. */
export function countActionOutcomes(registry: MetricsRegistry, changes: ChangeFeed): () => void {
  const outcomes = registry.counter("wisp_action_outcomes_total", "Action attempts ended (reported by an agent, timed out by the sweep, cancelled), by outcome", ["outcome"]);
  for (const o of OUTCOMES) outcomes.labels(o);
  return changes.subscribe((entry) => {
    if (entry.kind !== "Workflow" || !entry.events) return;
    for (const e of entry.events) if (e.type === "action.state" && e.to && OUTCOMES.has(e.to)) outcomes.labels(e.to).inc();
  });
}
