/** One deadline for a whole VM run: each wait gets what is left of it (at least 1 ms). */
export function budget(totalMs: number): () => number {
  const end = performance.now() + totalMs;
  return () => Math.max(1, end - performance.now());
}
