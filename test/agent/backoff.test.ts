/** Poll back-off: 1 s doubling to 5 s, jitter within 10 %, reset after a success. */
import { expect, test } from "bun:test";
import { Backoff, BACKOFF_MAX_MS, BACKOFF_START_MS } from "../../agent/backoff.ts";

test("starts at 1 s and doubles up to 5 s without jitter", () => {
  const b = new Backoff(BACKOFF_START_MS, BACKOFF_MAX_MS, () => 0.5);
  expect([1, 2, 3, 4, 5].map(() => b.next())).toEqual([1000, 2000, 4000, 5000, 5000]);
  b.reset();
  expect(b.next()).toBe(1000);
});

test("jitter stays within 10 % and never passes the maximum", () => {
  for (const r of [0, 0.25, 0.999]) {
    const b = new Backoff(BACKOFF_START_MS, BACKOFF_MAX_MS, () => r);
    const first = b.next();
    expect(first).toBeGreaterThanOrEqual(900);
    expect(first).toBeLessThanOrEqual(1100);
    for (let i = 0; i < 10; i++) expect(b.next()).toBeLessThanOrEqual(BACKOFF_MAX_MS);
  }
});
