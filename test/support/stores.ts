/**
 * One shared suite, two stores: `forEachStore` runs a describe block once on embedded PGlite and
 * once on PostgreSQL, with every table emptied before each test.
 */
import { afterAll, beforeAll, beforeEach, describe } from "bun:test";
import { sql } from "drizzle-orm";
import { openStore, type Store } from "../../daemon/store/open.ts";
import { pgliteDataDir } from "./pglite.ts";
import { SETUP_TIMEOUT_MS } from "./processes.ts";
import { freshDatabase } from "./postgres.ts";

/** The two store implementations. */
export type Driver = Store["driver"];

/** What a suite sees: the store of the current implementation (open between beforeAll/afterAll). */
export interface StoreContext {
  readonly store: Store;
  readonly driver: Driver;
}

/** Which drivers run; `WISP_TEST_STORES=pglite` (comma list) narrows it, e.g. on a machine without PostgreSQL. */
function drivers(): Driver[] {
  const wanted = process.env.WISP_TEST_STORES?.split(",").map((s) => s.trim());
  return (["pglite", "postgres"] as const).filter((d) => !wanted || wanted.includes(d));
}

/** Opens a fresh, migrated store of the given driver; `dispose` closes and removes it. */
export async function openTestStore(driver: Driver): Promise<{ store: Store; dispose(): Promise<void> }> {
  if (driver === "pglite") {
    const dir = await pgliteDataDir();
    const store = await openStore({ dataDir: dir.dataDir });
    return { store, dispose: async () => (await store.close(), dir.remove()) };
  }
  const database = await freshDatabase();
  const store = await openStore({ databaseUrl: database.url });
  return { store, dispose: async () => (await store.close(), await database.drop()) };
}

const TABLES = "action_logs, workflow_events, workflow_actions, workflow_tasks, workflows, templates, hardware, job_steps, jobs, machines, secrets";

/** Empties every table (keeps the schema), so each test starts from nothing. */
export async function resetStore(store: Store): Promise<void> {
  await store.db.execute(sql.raw(`TRUNCATE ${TABLES} RESTART IDENTITY CASCADE`));
}

/** Runs `fn`'s tests once per store implementation, each in its own describe block. */
export function forEachStore(name: string, fn: (ctx: StoreContext) => void): void {
  for (const driver of drivers()) {
    describe(`${name} [${driver}]`, () => {
      let opened: Awaited<ReturnType<typeof openTestStore>> | undefined;
      beforeAll(async () => {
        opened = await openTestStore(driver);
      }, SETUP_TIMEOUT_MS);
      afterAll(async () => {
        await opened?.dispose();
      });
      beforeEach(async () => {
        if (opened) await resetStore(opened.store);
      });
      fn({
        driver,
        get store() {
          if (!opened) throw new Error(`${driver} store not open (outside a test?)`);
          return opened.store;
        },
      });
    });
  }
}
