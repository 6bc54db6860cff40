/**
 * The rate search: double the offered rate until the server loses more than the allowed share of
 * exchanges (or the generator cannot offer the rate, or the cap is reached), then bisect between
 * the last pass and the first failure. A failing rate can be measured again before it counts, so
 * a moment of other load on a shared machine does not end the climb. The measurement is
 * injected, so the search is pure.
 */

/** The loss allowed at a passing step: 0.1 % of started DORA exchanges. */
export const MAX_LOSS_RATIO = 0.001;
/** perfdhcp offered less than this share of the asked rate: the generator is the limit. */
export const GENERATOR_SHORTFALL = 0.95;

/** The outcome of one step, as far as the search needs it. */
export interface StepOutcome {
  targetRate: number;
  /** DISCOVERs sent per second. */
  offeredRate: number;
  /** Completed DORA per second. */
  doraPerSecond: number;
  lossRatio: number;
}

/** Search bounds. */
export interface RampPlan {
  startRate: number;
  maxRate: number;
  /** Bisection steps after the first failure. */
  refineSteps: number;
  /** Lowest rate tried when even the start rate fails. */
  minRate: number;
  /** Times a failing rate is measured again before it counts as failed (noise from other load). */
  retries: number;
}

/** Why the search stopped climbing. */
export type RampLimit = "server" | "generator" | "max-rate";

/** The search's result: every step in order, the best passing one, and what stopped it. */
export interface RampResult<S extends StepOutcome> {
  steps: S[];
  best?: S;
  limit: RampLimit;
}

/** True when the step lost no more than MAX_LOSS_RATIO. */
export const passed = (s: StepOutcome): boolean => s.lossRatio <= MAX_LOSS_RATIO;
/** True when perfdhcp could not offer the asked rate. */
export const generatorBound = (s: StepOutcome): boolean => s.offeredRate < GENERATOR_SHORTFALL * s.targetRate;

/** Rounds a bisection midpoint to a readable rate (multiples of 50 above 500, of 10 below). */
function roundRate(rate: number): number {
  const unit = rate >= 500 ? 50 : 10;
  return Math.max(unit, Math.round(rate / unit) * unit);
}

/** Runs the search with `measure(rate)` for each step. */
export async function ramp<S extends StepOutcome>(plan: RampPlan, measure: (rate: number) => Promise<S>): Promise<RampResult<S>> {
  const steps: S[] = [];
  let lastPass: S | undefined;
  let firstFail: S | undefined;
  let limit: RampLimit = "max-rate";
  // The last measurement at a rate decides; every one is kept in `steps`.
  const run = async (rate: number) => {
    let s = await measure(rate);
    steps.push(s);
    for (let i = 0; i < plan.retries && !passed(s); i++) {
      s = await measure(rate);
      steps.push(s);
    }
    return s;
  };

  // Climb by doubling (or descend by halving while nothing has passed yet).
  let rate = Math.min(plan.startRate, plan.maxRate);
  for (;;) {
    const s = await run(rate);
    if (passed(s)) {
      lastPass = s;
      if (generatorBound(s)) {
        limit = "generator";
        break;
      }
      if (firstFail || rate >= plan.maxRate) break;
      rate = Math.min(rate * 2, plan.maxRate);
    } else {
      firstFail = s;
      limit = generatorBound(s) ? "generator" : "server";
      if (lastPass || rate / 2 < plan.minRate) break;
      rate = roundRate(rate / 2);
    }
  }

  // Bisect between the last pass and the first failure.
  for (let i = 0; i < plan.refineSteps && lastPass && firstFail && limit === "server"; i++) {
    const mid = roundRate((lastPass.targetRate + firstFail.targetRate) / 2);
    if (mid <= lastPass.targetRate || mid >= firstFail.targetRate) break;
    const s = await run(mid);
    if (passed(s)) {
      lastPass = s;
      if (generatorBound(s)) limit = "generator";
    } else {
      firstFail = s;
    }
  }

  const best = steps.filter(passed).sort((a, b) => b.doraPerSecond - a.doraPerSecond)[0];
  return { steps, best, limit };
}
