/** Poll and retry delays: start at 1 s, double up to ~5 s (COMPAT section 5), with a little jitter so agents spread out. */

/** First delay after a poll that found nothing or a call that failed. */
export const BACKOFF_START_MS = 1_000;
/** Longest delay between polls. */
export const BACKOFF_MAX_MS = 5_000;
/** Fraction of a delay added or removed at random. */
const JITTER = 0.1;

/** Exponential back-off; `random` is injectable for tests. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly startMs = BACKOFF_START_MS,
    private readonly maxMs = BACKOFF_MAX_MS,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay in ms (grows until the maximum). */
  next(): number {
    const base = Math.min(this.maxMs, this.startMs * 2 ** this.attempt);
    if (base < this.maxMs) this.attempt++;
    const jittered = base * (1 + JITTER * (2 * this.random() - 1));
    return Math.round(Math.min(this.maxMs, jittered));
  }

  /** Back to the first delay (after a success). */
  reset(): void {
    this.attempt = 0;
  }
}
