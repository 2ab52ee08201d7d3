/**
 * Time-budget planning: how many training steps fit in the time left, given steady-state costs (a step, one
 * validation pass) measured after the one-time work (decoding, caches, first-step warm-up). Epochs end with a
 * validation pass; the last epoch may be partial so that the whole budget is used.
 */
export interface PlanInput {
  stepsDone: number;
  stepsPerEpoch: number;
  /** Upper bound (epochs x steps per epoch). */
  maxSteps: number;
  stepSeconds: number;
  valSeconds: number;
  /** Seconds left for training (the budget minus time spent and the final predictions' estimate). */
  remainingSeconds: number;
}

/** Total planned steps (never fewer than done: stepsDone when no further step fits). */
export function planTotalSteps(p: PlanInput): number {
  let t = p.remainingSeconds;
  let steps = p.stepsDone;
  while (steps < p.maxSteps) {
    const toEnd = Math.min(p.stepsPerEpoch - (steps % p.stepsPerEpoch), p.maxSteps - steps);
    const cost = toEnd * p.stepSeconds + p.valSeconds;
    if (cost <= t) {
      t -= cost;
      steps += toEnd;
      continue;
    }
    // A partial last epoch, when it is worth at least a tenth of an epoch.
    const partial = Math.floor((t - p.valSeconds) / p.stepSeconds);
    if (partial >= Math.max(1, Math.ceil(0.1 * p.stepsPerEpoch))) steps += partial;
    break;
  }
  return Math.min(p.maxSteps, Math.max(steps, p.stepsDone));
}

/** Mean of the step durations after the first `skip` (warm-up), or of all when there are too few. */
export function steadyStepSeconds(durations: number[], skip = 3): number {
  const xs = durations.length > skip + 2 ? durations.slice(skip) : durations;
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
