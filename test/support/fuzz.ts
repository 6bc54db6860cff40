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
