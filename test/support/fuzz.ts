/**
 * Shared pieces of the codec fuzz tests: a seedable PRNG for tight mutation loops (fast-check is
 * too slow for a million cases), the scale and seed knobs, and hex for failure messages.
 */

/** `WISP_FUZZ_SCALE=10` runs ten times as many cases. */
export const FUZZ_SCALE = Number(process.env.WISP_FUZZ_SCALE ?? "1");

/** The seed a suite uses: `WISP_FUZZ_SEED` when set (to replay a failure), else the suite's own. */
export function fuzzSeed(suiteDefault: number): number {
  return Number(process.env.WISP_FUZZ_SEED ?? suiteDefault);
}

/** mulberry32: small, fast, seedable; returns uint32s. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Bytes as lower-case hex, for a failing input in an assertion message. */
export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * The loop every codec fuzzer runs: `runs` cases, each built by `make(iter)` and judged by
 * `check` (true: accepted, false: refused cleanly, a string: a broken invariant, thrown with
 * the iteration, the seed and the input as hex to replay it). Returns how many were accepted.
 */
export function fuzzCases(runs: number, seed: number, make: (iter: number) => Uint8Array, check: (input: Uint8Array, iter: number) => boolean | string): number {
  let accepted = 0;
  for (let iter = 0; iter < runs; iter++) {
    const input = make(iter);
    const result = check(input, iter);
    if (typeof result === "string") throw new Error(`iteration ${iter} (seed ${seed}): ${result}\n${hex(input)}`);
    if (result) accepted++;
  }
  return accepted;
}

/** One mutation step on `work[0, len)`: returns the new length. `from` is the seed's index in the pool. */
export type Mutate = (work: Uint8Array, len: number, from: number) => number;

/**
 * A `make` for fuzzCases: copies a seed drawn from `pool` into `work` and applies 1 to 4
 * `mutate` steps (fewer once it is empty); the case is a view of `work`, valid until the next.
 */
export function mutated(pool: readonly Uint8Array[], work: Uint8Array, next: () => number, mutate: Mutate): () => Uint8Array {
  return () => {
    const from = next() % pool.length;
    const seed = pool[from]!;
    let len = seed.length;
    work.set(seed);
    const count = 1 + (next() % 4);
    for (let m = 0; m < count && len > 0; m++) len = mutate(work, len, from);
    return work.subarray(0, len);
  };
}
