/**
 * The embedded store gives the event loop turns while a long queue of statements waits
 * (daemon/store/open.ts pgliteClient): PGlite alone would run a queue back to back in promise
 * continuations, and a socket would not be read until the last statement was done. Counted, not
 * timed: a macrotask ticker must run while statements are still waiting.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { openStore, type Store } from "../../daemon/store/open.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";

let store: Store;
let remove: () => void;

beforeAll(async () => {
  const dir = await pgliteDataDir();
  remove = dir.remove;
  store = await openStore({ dataDir: dir.dataDir });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await store?.close();
  remove?.();
});

test("a queue of statements lets macrotasks run before it is done; every statement still answers, in order", async () => {
  // Each statement costs a few milliseconds of PGlite's CPU; 400 of them are far more than one slice.
  const N = 400;
  let ticks = 0;
  let ticking = true;
  const tick = (): void => {
    if (!ticking) return;
    ticks++;
    setImmediate(tick);
  };
  const done: number[] = [];
  const queries = Array.from({ length: N }, (_, i) =>
    store.db.execute(sql`select ${i}::int as i, count(*)::int as n from generate_series(1, 20000)`).then((r) => {
      done.push(i);
      return r;
    }),
  );
  setImmediate(tick);
  // Ticks counted while statements were still waiting: when the first half had answered.
  await queries[N / 2 - 1];
  const ticksAtHalf = ticks;
  const results = await Promise.all(queries);
  ticking = false;
  expect(ticksAtHalf).toBeGreaterThan(1);
  expect(done).toEqual(Array.from({ length: N }, (_, i) => i));
  const rows = results.map((r) => (Array.isArray(r) ? r[0] : (r as { rows: unknown[] }).rows[0]) as { i: number; n: number });
  expect(rows.every((row, i) => row.i === i && row.n === 20000)).toBe(true);
});
