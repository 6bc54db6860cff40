import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { MIGRATIONS_DIR } from "../../daemon/store/open.ts";
import { forEachStore } from "../support/stores.ts";

const TABLES = ["action_logs", "hardware", "job_steps", "jobs", "machines", "secrets", "templates", "workflow_actions", "workflow_events", "workflow_tasks", "workflows"];

forEachStore("store migrations", (ctx) => {
  test("create every table of the schema", async () => {
    const rows = await ctx.store.db
      .select({ name: sql<string>`table_name` })
      .from(sql`information_schema.tables`)
      .where(sql`table_schema = 'public'`)
      .orderBy(sql`table_name`);
    expect(rows.map((r) => r.name)).toEqual(TABLES);
  });

  test("record every committed migration as applied", async () => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, "meta", "_journal.json"), "utf8")) as { entries: unknown[] };
    const [row] = await ctx.store.db
      .select({ n: sql<number>`count(*)::int` })
      .from(sql`drizzle.__drizzle_migrations`);
    expect(row?.n).toBe(journal.entries.length);
  });

  test("answer ping", async () => {
    await ctx.store.ping();
  });
});
