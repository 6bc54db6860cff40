/**
 * Store latency is observed at the driver: every query through drizzle (plain, in a transaction,
 * failed) reaches the observer, on PGlite and on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { openStore, type Store } from "../../daemon/store/open.ts";
import { hardware } from "../../daemon/store/schema.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { freshDatabase } from "../support/postgres.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";

const drivers = (["pglite", "postgres"] as const).filter((d) => !process.env.WISP_TEST_STORES || process.env.WISP_TEST_STORES.includes(d));

for (const driver of drivers) {
  describe(`store query observer [${driver}]`, () => {
    const seen: { seconds: number; ok: boolean }[] = [];
    let store: Store;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      const observeQuery = (seconds: number, ok: boolean) => seen.push({ seconds, ok });
      if (driver === "pglite") {
        const dir = await pgliteDataDir();
        store = await openStore({ dataDir: dir.dataDir, observeQuery });
        dispose = async () => (await store.close(), dir.remove());
      } else {
        const db = await freshDatabase();
        store = await openStore({ databaseUrl: db.url, observeQuery });
        dispose = async () => (await store.close(), await db.drop());
      }
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => await dispose?.(), SETUP_TIMEOUT_MS);

    test("plain queries, transactions and failures are observed; results are unchanged", async () => {
      seen.length = 0;
      await store.ping();
      expect(seen).toHaveLength(1);
      expect(seen[0]!.ok).toBe(true);
      expect(seen[0]!.seconds).toBeGreaterThanOrEqual(0);

      const rows = await store.db.select({ id: hardware.id }).from(hardware).where(eq(hardware.name, "none"));
      expect(rows).toEqual([]);
      expect(seen).toHaveLength(2);

      const inTx = await store.db.transaction(async (tx) => {
        const a = await tx.execute(sql`select 41 + 1 as n`);
        const b = await tx.select({ id: hardware.id }).from(hardware);
        return { a, b };
      });
      expect(JSON.stringify(inTx.a)).toContain("42");
      expect(inTx.b).toEqual([]);
      // Two queries inside, plus the driver's BEGIN/COMMIT where it sends them as queries.
      expect(seen.length).toBeGreaterThanOrEqual(4);

      const before = seen.length;
      await expect(Promise.resolve(store.db.execute(sql`select * from no_such_table`))).rejects.toThrow();
      expect(seen.length).toBe(before + 1);
      expect(seen.at(-1)!.ok).toBe(false);
    });
  });
}
